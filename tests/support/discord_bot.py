"""The bot under test on the fake Discord: its settings, and reading its answers to interactions."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from tests.support.bot_harness import settings_for
from tests.support.discord_fixtures import APPLICATION_ID, GENERAL, GUILD_ID
from tests.support.fake_discord import FakeDiscord, InteractionResult


def discord_settings(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Discord on, pointed at *fake*, with `#general` as the room `general`."""
    monkeypatch.setenv("CONVENE_TEST_DISCORD_TOKEN", fake.token)
    return settings_for(
        f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        discord={
            "enabled": True,
            "token_env": "CONVENE_TEST_DISCORD_TOKEN",
            "application_id": APPLICATION_ID,
            "guild_ids": [GUILD_ID],
            "api_base_url": fake.api_base,
            "gateway_url": fake.gateway_url,
        },
        rooms=[{"name": "general", "discord_channel_id": GENERAL.id}],
    )


def text_of(result: InteractionResult) -> str:
    """The answer's content, then each embed's title and description."""
    parts = [result.content or ""]
    for embed in result.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
    return "\n".join(parts)


async def answered(result: InteractionResult) -> InteractionResult:
    """*result* once the bot's answer is a message (a deferral is not yet one)."""
    await result.wait_until(lambda r: r.message is not None)
    return result
