"""Exactly-once delivery on SQLite and PostgreSQL, with a sender that behaves like a platform:
it deduplicates by idempotency key, as Matrix txn ids and Discord nonces do
(tests/support/recording_platform.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.env import Env
from bot.core.ports import SendResult
from bot.core.reply import Attachment, Reply
from bot.core.rooms import Room
from bot.core.runtime import Runtime
from bot.delivery import LEASE, Delivery, Direct, Dispatcher, Handover, Key, Outgoing, decode
from bot.delivery import plan as plan_messages
from bot.leases import PRESENCE, Leases, alive
from tests.support.clock import Clock
from tests.support.eventually import eventually
from tests.support.house import build_dispatcher
from tests.support.recording_platform import RecordingPlatform, matrix_and_discord

ROOMS = [
    Room("community", {"discord": "1", "matrix": "!c:x"}),
    Room("matrix-only", {"matrix": "!m:x"}),
]


def say(text: str):  # type: ignore[no-untyped-def]
    return lambda audience: Reply(f"{text} ({audience.platform})")


def named(name: str) -> Key:
    return Key("test", name)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def platforms() -> dict[str, RecordingPlatform]:
    return matrix_and_discord()


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[Delivery]:
    """Every row, its key shown as the name the test planned it under."""
    async with sessions() as session:
        found = list((await session.exec(select(Delivery).order_by(Delivery.id))).all())
    for row in found:
        row.key = row.key.removeprefix("test:")
    return found


async def plan(
    sessions: async_sessionmaker[AsyncSession], name: str, due: datetime, **kw: object
) -> None:
    if isinstance(replaced := kw.get("replaces"), str):
        kw["replaces"] = named(replaced)
    async with sessions() as session:
        message = Outgoing(named(name), ROOMS, say(name), due, **kw)  # type: ignore[arg-type]
        await plan_messages(session, Env(), [message])
        await session.commit()


async def test_planning_twice_makes_one_row_per_room_and_platform(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    await plan(sessions, "k", clock.now)
    await plan(sessions, "k", clock.now)
    assert sorted((r.room, r.platform) for r in await rows(sessions)) == [
        ("community", "discord"),
        ("community", "matrix"),
        ("matrix-only", "matrix"),
    ]


async def test_an_edit_is_planned_only_where_its_post_was(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """A feature plans the edits of all its posts without asking which went out: an edit
    whose post was never planned in that room and platform is not planned at all."""
    async with sessions() as session:
        post = Outgoing(named("post"), ROOMS[1:], say("post"), clock.now)
        await plan_messages(session, Env(), [post])
        await session.commit()
    await plan(sessions, "claimed", clock.now, replaces="post")
    await plan(sessions, "withdrawn", clock.now, replaces="never")
    assert [(r.key, r.room, r.platform) for r in await rows(sessions)] == [
        ("post", "matrix-only", "matrix"),
        ("claimed", "matrix-only", "matrix"),
    ]


async def test_due_rows_are_sent_once_and_bodies_per_platform(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    await plan(sessions, "now", clock.now)
    await plan(sessions, "later", clock.now + timedelta(hours=1))
    dispatcher = build_dispatcher(sessions, platforms, clock)
    assert await dispatcher.run_due() == 3
    assert await dispatcher.run_due() == 0
    assert [text for _, text in platforms["discord"].posted.values()] == ["now (discord)"]
    assert len(platforms["matrix"].posted) == 2
    assert await dispatcher.next_due() == clock.now + timedelta(hours=1)
    statuses = {(r.key, r.status) for r in await rows(sessions)}
    assert statuses == {("now", "sent"), ("later", "pending")}


async def test_two_instances_racing_send_each_row_once(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    for n in range(10):
        await plan(sessions, f"k{n}", clock.now)
    first = build_dispatcher(sessions, platforms, clock)
    second = build_dispatcher(sessions, platforms, clock)
    await asyncio.gather(first.run_due(), second.run_due(), first.run_due())
    assert platforms["matrix"].calls == 20 and platforms["discord"].calls == 10
    assert all(r.status == "sent" and r.attempts == 1 for r in await rows(sessions))


async def test_crash_between_send_and_record_resends_under_the_same_key(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    await plan(sessions, "k", clock.now)
    crashed = build_dispatcher(sessions, platforms, clock)
    claimed = await crashed._claim_batch()
    for row in claimed:
        await platforms[row.platform].deliver(row.target, Reply("k"), f"delivery-{row.id}")
    restarted = build_dispatcher(sessions, platforms, clock)
    assert await restarted.run_due() == 0, "a live claim is not taken over"
    clock.now += LEASE + timedelta(seconds=1)
    assert await restarted.run_due() == 3
    assert platforms["matrix"].calls == 4 and len(platforms["matrix"].posted) == 2
    assert all(r.status == "sent" and r.attempts == 2 for r in await rows(sessions))


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_rows_claimed_by_an_instance_that_is_gone_are_sent_at_once(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    """On PostgreSQL each instance holds a presence lease: while it lives, its claims are left
    to it; once it is gone (SIGKILLed mid-send), another instance sends them at once, under the
    same keys, rather than a LEASE later."""
    await plan(sessions, "k", clock.now)
    leases = Leases(engine)
    killed = Dispatcher(sessions, platforms, clock, alive=alive)
    await leases.hold(PRESENCE + killed.instance)
    for row in await killed._claim_batch():
        await platforms[row.platform].deliver(row.target, Reply("k"), f"delivery-{row.id}")
    other = Dispatcher(sessions, platforms, clock, alive=alive)
    assert await other.run_due() == 0, "a live instance's claim is left to it"
    await leases.close()
    assert await other.run_due() == 3
    assert platforms["matrix"].calls == 4 and len(platforms["matrix"].posted) == 2
    assert all(r.status == "sent" for r in await rows(sessions))


async def test_rate_limits_delay_but_never_drop(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    await plan(sessions, "k", clock.now)
    platforms["discord"].script = [SendResult(retry_after=5.0, limited=True)] * 12
    dispatcher = build_dispatcher(sessions, platforms, clock)
    for _ in range(12):
        await dispatcher.run_due()
        clock.now += timedelta(seconds=5)
    await dispatcher.run_due()
    discord_row = next(r for r in await rows(sessions) if r.platform == "discord")
    assert discord_row.status == "sent" and discord_row.attempts == 13


async def test_permanent_failures_are_recorded_not_retried(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    await plan(sessions, "k", clock.now)
    platforms["discord"].script = [SendResult(error="403 Missing Access")]
    dispatcher = build_dispatcher(sessions, platforms, clock)
    await dispatcher.run_due()
    clock.now += timedelta(hours=1)
    await dispatcher.run_due()
    failed = next(r for r in await rows(sessions) if r.platform == "discord")
    assert (failed.status, failed.error, platforms["discord"].calls) == (
        "failed",
        "403 Missing Access",
        1,
    )


async def test_expired_rows_are_skipped_and_late_ones_say_so(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    await plan(sessions, "stale", clock.now, expires_at=clock.now + timedelta(minutes=10))
    await plan(sessions, "late", clock.now, expires_at=clock.now + timedelta(hours=2))
    clock.now += timedelta(minutes=30)
    await build_dispatcher(sessions, platforms, clock).run_due()
    status = {(r.key, r.platform): r.status for r in await rows(sessions)}
    assert status[("stale", "matrix")] == "skipped" and status[("late", "matrix")] == "sent"
    texts = [text for _, text in platforms["matrix"].posted.values()]
    assert texts == ["(Sent late: the bot was unavailable.)\nlate (matrix)"] * 2


async def test_only_connected_platforms_claim(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    await plan(sessions, "k", clock.now)
    await build_dispatcher(sessions, {"matrix": platforms["matrix"]}, clock).run_due()
    assert {(r.platform, r.status) for r in await rows(sessions)} == {
        ("matrix", "sent"),
        ("discord", "pending"),
    }


async def test_a_direct_message_goes_to_the_user(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    direct = Direct("dm:7", "discord", "42", fallback="1")
    async with sessions() as session:
        await plan_messages(
            session, Env(), [Outgoing(named("hello"), [direct], say("hello"), clock.now)]
        )
        await session.commit()
    assert await build_dispatcher(sessions, platforms, clock).run_due() == 1
    assert list(platforms["discord"].posted.values()) == [("user:42", "hello (discord)")]
    assert platforms["matrix"].calls == 0


async def test_a_refused_direct_message_goes_to_its_room_with_a_mention(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    direct = Direct("dm:7", "discord", "42", fallback="1")
    async with sessions() as session:
        await plan_messages(
            session, Env(), [Outgoing(named("hello"), [direct], say("hello"), clock.now)]
        )
        await session.commit()
    platforms["discord"].script = [SendResult(error="403 Cannot send messages to this user")]
    dispatcher = build_dispatcher(sessions, platforms, clock)
    assert await dispatcher.run_due() == 2, "the refusal, then the room"
    assert await dispatcher.run_due() == 0
    ((key, (target, text)),) = platforms["discord"].posted.items()
    assert (target, text) == ("1", "hello (discord)")
    assert platforms["discord"].mentioned[key] == ["42"]
    (row,) = await rows(sessions)
    assert (row.status, row.target, row.rerouted_from) == ("sent", "1", "user:42")
    assert key == f"delivery-{row.id}-r"


async def test_an_edit_rewrites_the_post_in_each_room(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    await plan(sessions, "post", clock.now)
    dispatcher = build_dispatcher(sessions, platforms, clock)
    await dispatcher.run_due()
    await plan(sessions, "claimed", clock.now, replaces="post")
    assert await dispatcher.run_due() == 3
    posts = {r.message_id: r.target for r in await rows(sessions) if r.key == "post"}
    assert {**platforms["matrix"].edited, **platforms["discord"].edited} == {
        message_id: (target, "claimed (discord)" if target == "1" else "claimed (matrix)")
        for message_id, target in posts.items()
    }
    assert len(platforms["matrix"].posted) == 2 and len(platforms["discord"].posted) == 1


async def test_an_edit_of_a_post_not_yet_sent_drops_both(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    await plan(sessions, "post", clock.now + timedelta(minutes=5))
    await plan(sessions, "claimed", clock.now, replaces="post")
    dispatcher = build_dispatcher(sessions, platforms, clock)
    assert await dispatcher.run_due() == 3
    clock.now += timedelta(minutes=10)
    assert await dispatcher.run_due() == 0
    assert platforms["matrix"].calls == platforms["discord"].calls == 0
    assert {r.status for r in await rows(sessions)} == {"skipped"}


async def test_an_edit_waits_for_a_post_being_sent(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    await plan(sessions, "post", clock.now)
    in_flight = await build_dispatcher(sessions, platforms, clock)._claim_batch()
    await plan(sessions, "claimed", clock.now, replaces="post")
    dispatcher = build_dispatcher(sessions, platforms, clock)
    assert await dispatcher.run_due() == 3
    assert not platforms["matrix"].edited
    assert {r.status for r in await rows(sessions) if r.key == "claimed"} == {"pending"}
    for row in in_flight:
        await dispatcher._send(row)
    clock.now += timedelta(seconds=5)
    assert await dispatcher.run_due() == 3
    assert len(platforms["matrix"].edited) == 2 and len(platforms["discord"].edited) == 1


async def test_a_file_handed_over_is_sent_then_not_kept(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    platforms: dict[str, RecordingPlatform],
) -> None:
    handover = Handover(Runtime(sessions, clock=clock), {"matrix": None})
    file = Attachment("convene-data-7.json", '{"person": {"name": "Nina"}}')
    reply = Reply("Here is everything.", private=True, attachment=file)
    limited = SendResult(retry_after=1.0, error="429", limited=True)
    await handover.later("matrix", "user:@nina:x", reply, "ev1", limited)
    (row,) = await rows(sessions)
    assert decode(row.body).attachment == file, "kept while it is to be sent"
    clock.now += timedelta(seconds=1)
    assert await build_dispatcher(sessions, platforms, clock).run_due() == 1
    assert platforms["matrix"].files == {"ev1": file}
    (row,) = await rows(sessions)
    assert row.status == "sent"
    assert decode(row.body) == Reply("Here is everything.", private=True)


class CountingSender(RecordingPlatform):
    """Counts the sends of each idempotency key, and takes a moment over each, as a network
    would, so that a kill lands in the middle of a batch."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.sends: Counter[str] = Counter()

    async def deliver(self, target: str, reply: Reply, key: str) -> SendResult:
        self.sends[key] += 1
        await asyncio.sleep(0.002)
        return await super().deliver(target, reply, key)


async def test_an_instance_killed_mid_fan_out_doubles_nothing_and_loses_nothing(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """Two instances send one fan-out; one dies mid-batch (cancelled, nothing given back, as
    SIGKILL leaves it). The other sends every row the dead one had not claimed, once; the
    dead one's claims wait out their lease, then go under the same key, which the platform
    posts once."""
    for n in range(60):
        await plan(sessions, f"k{n}", clock.now)
    senders = {"matrix": CountingSender("matrix"), "discord": CountingSender("discord")}
    killed = build_dispatcher(sessions, senders, clock)
    survivor = build_dispatcher(sessions, senders, clock)
    dying = asyncio.create_task(killed.run_due())
    await eventually(
        lambda: sum(s.calls for s in senders.values()) >= 20,
        what="a batch under way",
        interval=0.001,
    )
    dying.cancel()
    await asyncio.gather(dying, return_exceptions=True)
    await survivor.run_due()
    left = [r for r in await rows(sessions) if r.status != "sent"]
    assert left and all(r.claimed_by == killed.instance for r in left)

    clock.now += LEASE + timedelta(seconds=1)
    await survivor.run_due()
    assert all(r.status == "sent" for r in await rows(sessions))
    resent = {f"delivery-{r.id}" for r in left}
    for sender in senders.values():
        assert {key for key, count in sender.sends.items() if count > 1} <= resent
    assert len(senders["matrix"].posted) == 120 and len(senders["discord"].posted) == 60
