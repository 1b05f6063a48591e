"""Private answers stay private on Discord when a command is slow, on SQLite and PostgreSQL.

The slowness is real: the test holds the store's write lock past the adapter's DEFER_AFTER, so
the bot defers, then lets go. The fake Discord fills a deferred answer with the visibility
chosen when deferring, as Discord does, and `FakeDiscord.shown` keeps every state of every
message others could see, so a secret shown even for a moment would be caught.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.bot_harness import running
from tests.support.discord_bot import discord_settings_with_mentors, ever_shown, filled
from tests.support.discord_fixtures import (
    CONTRIBUTOR,
    GENERAL,
    GUILD_ID,
    MENTOR,
    MENTORS_CHANNEL,
    ORGANIZER,
)
from tests.support.eventually import eventually
from tests.support.fake_discord import (
    EPHEMERAL,
    CallbackType,
    FakeDiscord,
    FakeUser,
    InteractionResult,
)
from tests.support.store_fixtures import store_locked

pytestmark = pytest.mark.e2e

DETAILS = "the C extensions fail to build on my laptop"


async def slow(
    fake: FakeDiscord,
    url: str,
    user: FakeUser,
    command: str,
    options: dict[str, Any] | None = None,
    channel: int = GENERAL.id,
) -> InteractionResult:
    """Run *command* while the store is locked: the fake returns once the bot has deferred,
    which it does only when the handler is still waiting after DEFER_AFTER; then let go."""
    async with store_locked(url):
        result = await fake.slash(GUILD_ID, channel, user, command, options)
    assert result.type is CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    return result


async def test_slow_link_and_mentor_claim_stay_ephemeral(
    db_url: str, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(discord_settings_with_mentors(fake_discord, db_url, monkeypatch)):
        await fake_discord.wait_commands_synced(GUILD_ID)

        link = await slow(fake_discord, db_url, CONTRIBUTOR, "link")
        code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", await filled(link))
        assert code and link.ephemeral

        request = {"topic": "dev", "details": DETAILS}
        await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "mentor request", request)
        await eventually(lambda: fake_discord.channel_messages[MENTORS_CHANNEL.id], what="the post")
        (post,) = fake_discord.channel_messages[MENTORS_CHANNEL.id]
        buttons = [(b["label"], b["custom_id"]) for b in post["components"][0]["components"]]
        assert buttons == [("Claim", "cv:mentor claim 1"), ("Details", "cv:mentor details 1")]
        details = await fake_discord.click(
            GUILD_ID, MENTORS_CHANNEL.id, MENTOR, post, "cv:mentor details 1"
        )
        assert details.ephemeral and DETAILS in await filled(details)

        claim = await slow(
            fake_discord, db_url, MENTOR, "mentor claim", {"id": 1}, MENTORS_CHANNEL.id
        )
        answer = await filled(claim)
        assert claim.ephemeral and "You have #1" in answer
        assert DETAILS in answer and "@casey" in answer, "the mentor gets handles and details"

        await eventually(lambda: not post["components"], what="the post to lose its buttons")
        shown = ever_shown(fake_discord)
        assert code.group(0) not in shown and DETAILS not in shown


async def test_an_error_after_a_public_defer_is_shown_to_the_caller_alone(
    db_url: str, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The placeholder others saw while the bot thought is closed with a neutral line and
    deleted; the refusal itself is a new, ephemeral message."""
    async with running(discord_settings_with_mentors(fake_discord, db_url, monkeypatch)):
        await fake_discord.wait_commands_synced(GUILD_ID)

        cancel = await slow(fake_discord, db_url, ORGANIZER, "mentor cancel", {"id": 99})
        refusal = await cancel.wait_followup(0)
        await cancel.wait_until(lambda r: r.message is None)
        assert refusal["flags"] & EPHEMERAL
        assert refusal["content"] == "There is no mentor request #99."
        assert fake_discord.channel_messages[GENERAL.id] == []
        assert [m["content"] for m in fake_discord.shown] == ["", "Answered privately."]
