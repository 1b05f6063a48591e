"""The bot under test on the fake Discord: its settings, and reading its answers to interactions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import Settings
from tests.support.bot_harness import settings_for
from tests.support.discord_fixtures import APPLICATION_ID, GENERAL, GUILD_ID, MENTORS_CHANNEL
from tests.support.fake_discord import LOADING, FakeDiscord, InteractionResult


def discord_section(fake: FakeDiscord) -> dict[str, object]:
    """`[discord]` pointed at *fake*, its token in the environment's CONVENE_TEST_DISCORD_TOKEN."""
    return {
        "enabled": True,
        "token_env": "CONVENE_TEST_DISCORD_TOKEN",
        "application_id": APPLICATION_ID,
        "guild_ids": [GUILD_ID],
        "api_base_url": fake.api_base,
        "gateway_url": fake.gateway_url,
    }


def discord_settings(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Discord on, pointed at *fake*, with `#general` as the room `general`."""
    monkeypatch.setenv("CONVENE_TEST_DISCORD_TOKEN", fake.token)
    return settings_for(
        f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        discord=discord_section(fake),
        rooms=[{"name": "general", "discord_channel_id": GENERAL.id}],
    )


def discord_settings_with_mentors(
    fake: FakeDiscord, url: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Discord on, pointed at *fake*, the store at *url*: `#general` and a mentors' room, where
    the answers that must stay private are the ones mentors ask for."""
    monkeypatch.setenv("CONVENE_TEST_DISCORD_TOKEN", fake.token)
    return settings_for(
        url,
        discord=discord_section(fake),
        rooms=[
            {"name": "general", "discord_channel_id": GENERAL.id},
            {"name": "mentors", "discord_channel_id": MENTORS_CHANNEL.id, "purposes": ["mentors"]},
        ],
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


async def filled(result: InteractionResult) -> str:
    """The text of *result* once a deferred answer is filled in, not while it still loads."""
    await result.wait_until(lambda r: r.message is not None and not r.flags & LOADING)
    return text_of(result)


def ever_shown(fake: FakeDiscord) -> str:
    """Every state of every message others could see, so a secret shown once is caught."""
    return "\n".join(json.dumps(state, ensure_ascii=False) for state in fake.shown)
