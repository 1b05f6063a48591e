"""The real Matrix adapter against a real Synapse: what people in a room actually see."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import delivery
from bot.app import App
from bot.delivery import Key, Refusal
from tests.support.bot_harness import running
from tests.support.eventually import eventually
from tests.support.matrix_world import World, ask, invited_rooms, joined, make_world, matrix_of
from tests.support.synapse import Event, Synapse

pytestmark = pytest.mark.e2e


def _body(event: Event) -> str:
    return str(event["content"].get("body", ""))


@pytest.fixture
async def world(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[World]:
    yield await make_world(synapse, tmp_path, monkeypatch)


async def test_help_whoami_link_in_a_room(world: World) -> None:
    async with running(world.settings) as app:
        await joined(app, world.room)
        help_reply = await ask(world, world.nina, "!help")
        content = help_reply["content"]
        assert content["msgtype"] == "m.notice"
        assert content["m.mentions"] == {}
        assert "commands you can use here" in content["body"]
        assert "<code>!whoami</code>" in content["formatted_body"]

        nina_who = await ask(world, world.nina, "!whoami")
        assert "contributor here" in _body(nina_who)
        assert f"Matrix: {world.nina.user_id}" in _body(nina_who)
        omar_who = await ask(world, world.omar, "!whoami")
        assert "organizer here" in _body(omar_who), "the room's creator is an organizer"

        unknown = await ask(world, world.nina, "!hepl")
        assert "Did you mean !help?" in _body(unknown)

        pointer = await ask(world, world.nina, "!link")
        assert "direct message" in _body(pointer)
        assert not re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", _body(pointer)), "code leaked in room"
        await wait_for_invite(world)


async def wait_for_invite(world: World) -> str:
    invites = await invited_rooms(world.synapse, world.nina)
    dm = invites[0]
    await world.synapse.join(world.nina, dm)
    code = await world.synapse.wait_for_message(
        world.nina, dm, sender=world.bot.user_id, predicate=lambda e: "link code" in _body(e)
    )
    assert re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", _body(code))
    return dm


async def test_a_restart_answers_once_what_came_while_it_was_down(world: World) -> None:
    """The sync resumes from the stored token: a command sent while no bot synced is answered
    after the restart (a standby taking over does the same), and only once."""
    async with running(world.settings) as app:
        await joined(app, world.room)
        earlier = await world.synapse.send_text(world.nina, world.room, "!whoami")
        await world.synapse.wait_for_message(
            world.nina, world.room, sender=world.bot.user_id, after=earlier
        )
    missed = await world.synapse.send_text(world.nina, world.room, "!help")
    async with running(world.settings):
        await world.synapse.wait_for_message(
            world.nina, world.room, sender=world.bot.user_id, after=missed
        )
        fresh = await ask(world, world.nina, "!whoami")
        replies = await world.synapse.messages(world.nina, world.room, after=earlier)
        answered = [
            e["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            for e in replies
            if e["sender"] == world.bot.user_id
        ]
        assert answered.count(missed) == 1
        assert answered.count(earlier) == 1
        assert "You are" in _body(fresh)


async def test_ignores_rooms_only_a_contributor_invites_to_and_own_messages(
    world: World,
) -> None:
    """An organizer's invitation is accepted (so `room add` can bind the room: see
    tests/e2e/test_rooms.py); a contributor's is not."""
    other = await world.synapse.create_room(
        world.nina, name="Elsewhere", invite=[world.bot.user_id]
    )
    async with running(world.settings) as app:
        await joined(app, world.room)
        await ask(world, world.nina, "!whoami")
        assert other not in matrix_of(app).client.rooms


async def test_rate_limits_delay_replies_but_lose_none(
    synapse_ratelimited: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(synapse_ratelimited, tmp_path, monkeypatch)
    admin = await synapse_ratelimited.register(f"admin{uuid.uuid4().hex[:6]}", admin=True)
    await synapse_ratelimited.override_ratelimit(admin, world.nina.user_id)
    async with running(world.settings) as app:
        await joined(app, world.room)
        first = await world.synapse.send_text(world.nina, world.room, "!whoami")
        sent = [first] + [
            await world.synapse.send_text(world.nina, world.room, "!whoami") for _ in range(12)
        ]

        def answered(events: list[Event]) -> list[str]:
            return [
                e["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
                for e in events
                if e["sender"] == world.bot.user_id
            ]

        async def all_answered() -> list[str]:
            got = answered(await world.synapse.messages(world.nina, world.room))
            assert set(sent) <= set(got), f"answered {len(set(got) & set(sent))} of {len(sent)}"
            return got

        got = await eventually(all_answered, timeout=60, what="every command to be answered")
        assert sorted(got) == sorted(set(got)), "a reply was sent twice"
    assert await refused(app) == []


async def refused(app: App) -> list[Refusal]:
    """Answers the outbox gave up on, as organizers see them."""
    async with app.sessions() as session:
        return await delivery.refusals(session, Key("answer", "matrix"))


async def test_gives_up_after_bounded_retries_and_records_it(
    synapse_ratelimited: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(synapse_ratelimited, tmp_path, monkeypatch, max_send_retries=0)
    admin = await synapse_ratelimited.register(f"admin{uuid.uuid4().hex[:6]}", admin=True)
    await synapse_ratelimited.override_ratelimit(admin, world.nina.user_id)
    async with running(world.settings) as app:
        await joined(app, world.room)
        for _ in range(14):
            await world.synapse.send_text(world.nina, world.room, "!whoami")

        recorded = await eventually(lambda: refused(app), what="a send failure to be recorded")
        assert recorded and "M_LIMIT_EXCEEDED" in recorded[0].error
        assert recorded[0].room == world.room


async def test_reconnects_after_the_homeserver_goes_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Synapse()
    await asyncio.to_thread(server.start)
    try:
        world = await make_world(server, tmp_path, monkeypatch)
        async with running(world.settings) as app:
            await joined(app, world.room)
            await ask(world, world.nina, "!whoami")
            await asyncio.to_thread(server.pause)
            await eventually(lambda: not app.health()["matrix"], what="the bot to notice")
            await asyncio.to_thread(server.resume)
            after = await ask(world, world.nina, "!whoami", timeout=60)
            assert "You are" in _body(after)
            assert app.health()["matrix"]
    finally:
        await asyncio.to_thread(server.stop)


async def test_export_arrives_as_a_file_in_a_direct_message(world: World) -> None:
    async with running(world.settings) as app:
        await joined(app, world.room)
        pointer = await ask(world, world.nina, "!me export")
        assert _body(pointer) == "I've sent you the answer in a direct message."
        invites = await invited_rooms(world.synapse, world.nina)
        await world.synapse.join(world.nina, invites[0])
        sent = await world.synapse.wait_for_message(
            world.nina,
            invites[0],
            sender=world.bot.user_id,
            predicate=lambda e: e["content"].get("msgtype") == "m.file",
        )
        content = sent["content"]
        assert content["filename"].startswith("convene-data-")
        assert content["info"]["mimetype"] == "application/json"
        data = json.loads(await world.synapse.download(world.nina, content["url"]))
        assert data["people"]["accounts"][0]["user_id"] == world.nina.user_id
        messages = await world.synapse.messages(world.nina, world.room)
        assert not any(e["content"].get("msgtype") == "m.file" for e in messages), "not in the room"


async def test_forgetting_answers_in_the_direct_message_room_it_had(world: World) -> None:
    async with running(world.settings) as app:
        await joined(app, world.room)
        asked = await ask(world, world.nina, "!me forget")
        assert _body(asked) == "I've sent you the answer in a direct message."
        (dm,) = await invited_rooms(world.synapse, world.nina)
        await world.synapse.join(world.nina, dm)
        preview = await world.synapse.wait_for_message(
            world.nina, dm, sender=world.bot.user_id, predicate=lambda e: "Forget?" in _body(e)
        )
        assert "To go ahead: !me forget confirm" in _body(preview)
        done = await ask(world, world.nina, "!me forget confirm")
        assert _body(done) == "I've sent you the answer in a direct message."
        await world.synapse.wait_for_message(
            world.nina, dm, sender=world.bot.user_id, predicate=lambda e: "Done:" in _body(e)
        )
        assert await world.synapse.invited_rooms(world.nina) == [], "no stray room"
