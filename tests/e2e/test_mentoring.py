"""Mentor requests across platforms: asked on Matrix (real Synapse), claimed with the button on
Discord (fake Discord), the requester told by direct message, the posts edited in place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, parse_settings
from tests.support.bot_harness import outbox_drained, running
from tests.support.discord_bot import answered, discord_settings, text_of
from tests.support.discord_fixtures import (
    CONTRIBUTOR,
    GENERAL,
    GUILD_ID,
    MENTOR,
    MENTORS_CHANNEL,
    ORGANIZER,
    ORGANIZERS,
)
from tests.support.eventually import eventually
from tests.support.fake_discord import FakeDiscord
from tests.support.house import build_escalator
from tests.support.matrix_world import World, ask, invited_rooms, joined, make_world
from tests.support.synapse import Synapse

pytestmark = pytest.mark.e2e


async def mentoring_world(
    synapse: Synapse, fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[World, str, Settings]:
    """A Matrix community and mentors room, each linked with a Discord channel; returns the
    world, the Matrix mentors room and the settings serving both platforms."""
    world = await make_world(synapse, tmp_path, monkeypatch)
    mentors_room = await synapse.create_room(world.omar, name="Mentors", invite=[world.bot.user_id])
    data = world.settings.model_dump(mode="json")
    data["discord"] = discord_settings(fake, tmp_path, monkeypatch).discord.model_dump(mode="json")
    data["rooms"] = [
        {"name": "community", "matrix_room_id": world.room, "discord_channel_id": GENERAL.id},
        {
            "name": "mentors",
            "matrix_room_id": mentors_room,
            "discord_channel_id": MENTORS_CHANNEL.id,
            "purposes": ["mentors"],
        },
    ]
    return world, mentors_room, parse_settings(data)


def posts(fake: FakeDiscord, channel: int) -> list[dict[str, Any]]:
    return [m for m in fake.channel_messages[channel] if not m.get("interaction_metadata")]


async def test_matrix_request_claimed_with_the_discord_button(
    synapse: Synapse, fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, mentors_room, settings = await mentoring_world(
        synapse, fake_discord, tmp_path, monkeypatch
    )

    async with running(settings) as app:
        await joined(app, world.room)
        await joined(app, mentors_room)
        await fake_discord.wait_commands_synced(GUILD_ID)
        asked = await ask(
            world, world.nina, '!mentor request "dev setup" the C extensions fail on Windows'
        )
        assert "is in the queue (position 1)" in asked["content"]["body"]

        await eventually(lambda: posts(fake_discord, MENTORS_CHANNEL.id), what="the Discord post")
        (post,) = posts(fake_discord, MENTORS_CHANNEL.id)
        assert post["embeds"][0]["title"] == "#1 dev setup"
        assert "the C extensions fail on Windows" not in post["embeds"][0]["description"]
        button, details = post["components"][0]["components"]
        assert (button["label"], details["label"]) == ("Claim", "Details")
        on_matrix = await synapse.wait_for_message(
            world.omar, mentors_room, sender=world.bot.user_id
        )
        assert "!mentor claim 1" in on_matrix["content"]["body"]
        assert "the C extensions fail on Windows" in on_matrix["content"]["body"]

        claim = await answered(
            await fake_discord.click(
                GUILD_ID, MENTORS_CHANNEL.id, MENTOR, post, button["custom_id"]
            )
        )
        assert claim.ephemeral
        assert world.nina.user_id in text_of(claim), "the mentor gets the requester's handle"
        assert "the C extensions fail on Windows" in text_of(claim)

        await eventually(lambda: not post["components"], what="the Discord post to be edited")
        assert post["embeds"][0]["description"].startswith("✅ Claimed by marco")
        edit = await synapse.wait_for_message(
            world.omar,
            mentors_room,
            sender=world.bot.user_id,
            predicate=lambda e: "m.new_content" in e["content"],
        )
        assert edit["content"]["m.relates_to"] == {
            "rel_type": "m.replace",
            "event_id": on_matrix["event_id"],
        }
        assert "✅ Claimed by marco" in edit["content"]["m.new_content"]["body"]
        assert "!mentor claim" not in edit["content"]["m.new_content"]["body"]

        (dm,) = await invited_rooms(synapse, world.nina)
        await synapse.join(world.nina, dm)
        told = await synapse.wait_for_message(world.nina, dm, sender=world.bot.user_id)
        assert told["content"]["body"] == (
            "marco (@marco) has taken your mentor request #1 “dev setup” and will contact you. "
            "You can also write to them first."
        )
        assert await synapse.messages(world.nina, world.room, after=asked["event_id"]) == []


async def test_discord_requesters_hear_by_dm_or_else_by_mention(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = discord_settings(fake_discord, tmp_path, monkeypatch).model_dump(mode="json")
    data["rooms"] = [
        {"name": "general", "discord_channel_id": GENERAL.id},
        {"name": "mentors", "discord_channel_id": MENTORS_CHANNEL.id, "purposes": ["mentors"]},
    ]
    fake_discord.closed_dms.add(CONTRIBUTOR.id)
    async with running(parse_settings(data)):
        await fake_discord.wait_commands_synced(GUILD_ID)
        for user, topic in ((CONTRIBUTOR, "setup"), (ORGANIZER, "docs")):
            asked = await answered(
                await fake_discord.slash(
                    GUILD_ID, GENERAL.id, user, "mentor request", {"topic": topic}
                )
            )
            assert "is in the queue" in text_of(asked)
        for n in (1, 2):
            claimed = await answered(
                await fake_discord.slash(
                    GUILD_ID, MENTORS_CHANNEL.id, MENTOR, "mentor claim", {"id": n}
                )
            )
            assert claimed.ephemeral and "You have" in text_of(claimed)

        def told_in_general() -> list[dict[str, Any]]:
            return [m for m in posts(fake_discord, GENERAL.id) if "has taken" in m["content"]]

        await eventually(
            lambda: told_in_general() and fake_discord.dm_messages(ORGANIZER),
            what="both requesters to be told",
        )
        (mention,) = told_in_general()
        assert mention["content"].startswith(f"<@{CONTRIBUTOR.id}> marco (@marco) has taken")
        assert [u["id"] for u in mention["mentions"]] == [str(CONTRIBUTOR.id)]
        (direct,) = fake_discord.dm_messages(ORGANIZER)
        assert direct["content"].startswith("marco (@marco) has taken your mentor request #2")
        assert direct["mentions"] == []
        assert fake_discord.dm_messages(CONTRIBUTOR) == []


async def test_escalation_pings_organizers_once_across_a_restart(
    synapse: Synapse, fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, mentors_room, settings = await mentoring_world(
        synapse, fake_discord, tmp_path, monkeypatch
    )
    async with running(settings) as app:
        await joined(app, world.room)
        await ask(world, world.nina, '!mentor request "dev setup"')
        await eventually(lambda: posts(fake_discord, MENTORS_CHANNEL.id), what="the first post")

    def later() -> datetime:
        return datetime.now(UTC) + timedelta(hours=73)

    def organizers_notes() -> list[dict[str, Any]]:
        return [m for m in posts(fake_discord, MENTORS_CHANNEL.id) if "📣" in str(m["content"])]

    for _ in range(2):
        async with running(settings, clock=later) as app:
            await joined(app, mentors_room)
            await eventually(organizers_notes, what="organizers to be called")
            await build_escalator(app.router).plan()
            await outbox_drained(app)
    (note,) = organizers_notes()
    assert note["content"].startswith(f"<@&{ORGANIZERS.id}> 📣 Organizers: request #1")
    assert note["mention_roles"] == [str(ORGANIZERS.id)] and note["mentions"] == []
    assert len(posts(fake_discord, MENTORS_CHANNEL.id)) == 3, "post, re-post, organizers"
    on_matrix = await synapse.messages(world.omar, mentors_room)
    bodies = [e["content"]["body"] for e in on_matrix if e["sender"] == world.bot.user_id]
    assert len(bodies) == 3 and bodies[1].startswith("#1 dev setup\n⏳ Still waiting after 3 d")
    (called,) = [e for e in on_matrix if "📣" in e["content"]["body"]]
    assert called["content"]["m.mentions"] == {"user_ids": [world.omar.user_id]}
    assert world.omar.user_id in called["content"]["formatted_body"]
