"""`me export` on the fake Discord: the file arrives in the caller's direct messages and the
answer, seen by the caller alone, points there; with direct messages closed, the file comes
with that private answer instead. Never in the channel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.bot_harness import running
from tests.support.discord_bot import answered, discord_settings
from tests.support.discord_fixtures import CONTRIBUTOR, GENERAL, GUILD_ID
from tests.support.eventually import eventually
from tests.support.fake_discord import LOADING, FakeDiscord, InteractionResult

pytestmark = pytest.mark.e2e


async def filled(result: InteractionResult) -> dict[str, Any]:
    """The answer once the bot has filled in its deferral."""
    await result.wait_until(lambda r: r.message is not None and not r.flags & LOADING)
    assert result.message is not None
    return result.message


async def test_the_export_arrives_as_a_file_by_direct_message(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(discord_settings(fake_discord, tmp_path, monkeypatch)):
        await fake_discord.wait_commands_synced(GUILD_ID)
        await answered(
            await fake_discord.slash(
                GUILD_ID, GENERAL.id, CONTRIBUTOR, "tz set", {"zone": "Europe/Paris"}
            )
        )
        result = await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "me export")
        answer = await filled(result)
        assert result.ephemeral and not answer["attachments"]
        assert answer["content"] == "I've sent it to you in a direct message."
        await eventually(lambda: fake_discord.dm_messages(CONTRIBUTOR), what="the direct message")
        (message,) = fake_discord.dm_messages(CONTRIBUTOR)
        assert message["content"].startswith("Here is everything Convene keeps about you")
        (attachment,) = message["attachments"]
        assert attachment["filename"].startswith("convene-data-")
        assert attachment["filename"].endswith(".json")
        data = json.loads(fake_discord.attachments[int(attachment["id"])])
        assert data["people"]["accounts"] == [
            {
                "platform": "discord",
                "user_id": str(CONTRIBUTOR.id),
                "name": CONTRIBUTOR.username,
                "direct_message_room": None,
                "role": "contributor",
                "since": data["person"]["since"],
            }
        ]
        assert data["events"]["time_zone"] == [{"zone": "Europe/Paris"}]
        in_channel = fake_discord.channel_messages[GENERAL.id]
        assert not any(m["attachments"] for m in in_channel), "no file in the channel"

        fake_discord.closed_dms.add(CONTRIBUTOR.id)
        closed = await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "me export")
        with_file = await filled(closed)
        assert closed.ephemeral
        assert with_file["content"].startswith("Here is everything Convene keeps about you")
        (kept,) = with_file["attachments"]
        assert json.loads(fake_discord.attachments[int(kept["id"])])["person"] == data["person"]
        assert len(fake_discord.dm_messages(CONTRIBUTOR)) == 1
