"""One process serving Matrix and Discord: a person links their accounts across the two."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import parse_settings
from tests.support.bot_harness import running
from tests.support.discord_bot import answered, discord_settings, text_of
from tests.support.discord_fixtures import CONTRIBUTOR, GENERAL, GUILD_ID
from tests.support.fake_discord import FakeDiscord
from tests.support.matrix_world import ask, joined, make_world
from tests.support.synapse import Synapse

pytestmark = pytest.mark.e2e


async def test_code_from_discord_links_a_matrix_account(
    synapse: Synapse,
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = await make_world(synapse, tmp_path, monkeypatch)
    discord_part = discord_settings(fake_discord, tmp_path, monkeypatch)
    data = world.settings.model_dump(mode="json")
    data["discord"] = discord_part.discord.model_dump(mode="json")
    data["rooms"] += discord_part.model_dump(mode="json")["rooms"]
    settings = parse_settings(data)

    async with running(settings) as app:
        await joined(app, world.room)
        await fake_discord.wait_commands_synced(GUILD_ID)

        made = await answered(await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "link"))
        match = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", text_of(made))
        assert made.ephemeral and match

        linked = await ask(world, world.nina, f"!link {match.group(0)}")
        assert "direct message" in linked["content"]["body"]

        on_matrix = await ask(world, world.nina, "!whoami")
        assert "- Discord: @casey" in on_matrix["content"]["body"]
        assert f"- Matrix: {world.nina.user_id}" in on_matrix["content"]["body"]

        on_discord = await answered(
            await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "whoami")
        )
        assert "- Discord: @casey" in text_of(on_discord)
        assert f"- Matrix: {world.nina.user_id}" in text_of(on_discord)
