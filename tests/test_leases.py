"""Leases on PostgreSQL hold each platform for one instance, and a chat event is answered once.

The leases are tried on the shared PostgreSQL, each test in a database of its own; the event
ids on both stores, through the real router and commands.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import parse_settings
from bot.core import Role
from bot.db import make_engine
from bot.leases import RETRY, LeaseLost, Leases
from bot.schema import upgrade
from bot.state import FORGET_EVERY, HANDLED_KEPT, REPLY_KEPT, forget_handled
from tests.support.clock import Clock, Pauses
from tests.support.eventually import eventually
from tests.support.fake_platform import FakePlatform
from tests.support.house import build_bot

CREATE = '!event create "Sprint" "2026-12-09 10:00" Europe/Paris'


async def test_a_replayed_event_is_answered_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    omar = FakePlatform(build_bot(sessions)).person("@omar:x", Role.ORGANIZER)
    first = await omar.send(CREATE, "$event1")
    assert first is not None and "Event #1" in first.text
    assert await omar.send(CREATE, "$event1") is None
    listed = await omar.say("!event list")
    assert listed.text.count("Sprint") == 1
    refusal = await omar.send("!event nonsense", "$event2")
    assert refusal is not None and refusal.reply.error
    assert await omar.send("!event nonsense", "$event2") is None


async def test_a_read_only_command_is_silent_on_a_handled_event_and_records_none(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A read-only command learns whether its event was handled from the caller lookup it
    starts with: an id that wrote before stays unanswered (or gets the kept answer where the
    platform resends), and its own id is not recorded, so its replay is answered again."""
    omar = FakePlatform(build_bot(sessions)).person("@omar:x", Role.ORGANIZER)
    created = await omar.send(CREATE, "$event1", resends=True)
    assert created is not None and "Event #1" in created.text
    assert await omar.send("!event list", "$event1") is None
    assert await omar.send("!event list", "$event1", resends=True) == created
    for _ in range(2):
        listed = await omar.send("!event list", "$event3")
        assert listed is not None and listed.text.count("Sprint") == 1
    nina = FakePlatform(build_bot(sessions), "discord", "slash").person("1234")
    assert await nina.send("!whoami", "$event1") is not None, "the id is another platform's"


async def test_a_replay_on_a_platform_that_resends_gets_the_kept_answer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Matrix sends an answer once per event whatever the tries: a replayed event that was
    run gets the answer it was given, without running again; a refusal likewise; a read-only
    command, which kept nothing, is answered afresh."""
    omar = FakePlatform(build_bot(sessions)).person("@omar:x", Role.ORGANIZER)
    first = await omar.send(CREATE, "$event1", resends=True)
    again = await omar.send(CREATE, "$event1", resends=True)
    assert first is not None and again is not None
    assert again.reply == first.reply and "Event #1" in again.text
    assert (await omar.say("!event list")).text.count("Sprint") == 1
    refusal = await omar.send("!event nonsense", "$event2", resends=True)
    assert refusal is not None and refusal.reply.error
    assert await omar.send("!event nonsense", "$event2", resends=True) == refusal
    private = await omar.send("!link", "$event3", resends=True)
    assert private is not None and private.reply.private
    assert await omar.send("!link", "$event3", resends=True) == private
    listed = await omar.send("!event list", "$event4", resends=True)
    assert listed is not None and "Sprint" in listed.text
    assert await omar.send("!event list", "$event4", resends=True) == listed


ASK = '!mentor request "dev setup" the C extensions fail to build on Windows'
MENTOR_ROOM = parse_settings(
    {"rooms": [{"name": "mentors", "matrix_room_id": "!m:x", "purposes": ["mentors"]}]}
)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    ("table", "line", "shown"),
    [
        # The command's own transaction, the one that counts a rate-limited command, and the
        # one that records a refusal's event.
        ("handled_event", CREATE, "“Sprint”"),
        ("rate_limit", ASK, "dev setup"),
        ("handled_event", "!event nonsense", "event nonsense"),
        # The outbox's quick write (`bot.reads.Write`), run on asyncpg below SQLAlchemy.
        ("delivery", ASK, "dev setup"),
    ],
)
async def test_a_command_whose_session_ends_is_run_again_not_apologised_for(
    sessions: async_sessionmaker[AsyncSession], db_url: str, table: str, line: str, shown: str
) -> None:
    """PostgreSQL ends a session of the command in the middle of its transaction (an
    administrator, a restart): the command runs again on a new connection and is answered as
    if nothing had happened, once, instead of with an apology; a refusal, with the refusal."""
    omar = FakePlatform(build_bot(sessions, MENTOR_ROOM)).person("@omar:x", Role.ORGANIZER)
    await omar.say("!whoami")
    admin = await asyncpg.connect(db_url)
    try:
        lock = admin.transaction()
        await lock.start()
        await admin.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        sending = asyncio.create_task(omar.send(line, "$cut"))
        waiting = await eventually(
            lambda: admin.fetch(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            ),
            what=f"the command waiting for {table}",
        )
        await admin.execute("SELECT pg_terminate_backend($1)", waiting[0]["pid"])
        await lock.rollback()
    finally:
        await admin.close()
    said = await sending
    refused = line.startswith("!event nonsense")
    assert said is not None and said.reply.error == refused, said
    assert shown in said.text and "went wrong" not in said.text
    if refused:
        assert await omar.send(line, "$cut", resends=True) == said
    elif table == "handled_event":
        assert (await omar.say("!event list")).text.count("Sprint") == 1
    else:
        assert (await omar.say("!mentor list")).text.count("dev setup") == 1


async def test_two_instances_given_one_event_answer_it_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The same event reaches two routers (two instances) at once: one answers, the other
    says nothing, and the event is created once."""
    people = [FakePlatform(build_bot(sessions)).person("@omar:x", Role.ORGANIZER) for _ in range(2)]
    for n in range(10):
        said = await asyncio.gather(*(p.send(CREATE, f"$race{n}") for p in people))
        assert sum(s is not None for s in said) == 1, said
    listed = await people[0].say("!event list")
    assert listed.text.count("Sprint") == 10


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_lease_is_held_by_one_instance_and_handed_over(engine: AsyncEngine) -> None:
    """The standby's tries are counted, not timed: each one while the holder runs is refused,
    and the first after the holder stops takes the lease, so the handover waits one `RETRY`."""
    pauses = Pauses()
    first, second = Leases(engine), Leases(engine, pauses)
    stop_first = asyncio.Event()
    second_started = asyncio.Event()

    async def second_work() -> None:
        second_started.set()
        await asyncio.Event().wait()

    holder = asyncio.create_task(first.run("matrix", stop_first.wait))
    await eventually(lambda: first.held == {"matrix"}, what="the first instance holding it")
    standby = asyncio.create_task(second.run("matrix", second_work))
    for refused in range(1, 4):
        await pauses.reached(refused)
        assert first.held == {"matrix"} and second.held == set()
        assert not second_started.is_set()
        if refused < 3:
            pauses.resume()

    stop_first.set()
    await holder
    assert first.held == set()
    pauses.resume()
    await eventually(second_started.is_set, what="the standby taking the lease over")
    assert pauses.asked == [RETRY] * 3, "taken at the first try after the holder stopped"
    assert second.held == {"matrix"}
    standby.cancel()
    await asyncio.gather(standby, return_exceptions=True)
    assert second.held == set()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_holder_whose_connection_ends_stops_its_platform(
    engine: AsyncEngine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease's connection is cut (an administrator, a PostgreSQL restart): the holder
    stops the platform as the connection closes, not at its next check (here an hour away),
    and says so, rather than serve beside the standby that may take the lock a second later."""
    monkeypatch.setattr("bot.leases.CHECK", 3600.0)
    leases = Leases(engine)
    cancelled = asyncio.Event()

    async def platform() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    holder = asyncio.create_task(leases.run("discord", platform))
    await eventually(lambda: leases.held == {"discord"}, what="the lease held")
    admin = await asyncpg.connect(db_url)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = 'convene lease' AND datname = current_database()"
        )
    finally:
        await admin.close()
    with pytest.raises(LeaseLost, match="discord lease"):
        await asyncio.wait_for(holder, 10)
    assert cancelled.is_set()
    assert leases.held == set()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_two_instances_starting_at_once_migrate_a_new_store_once(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(2)]
    try:
        # Without the migrations' lock, the two block each other on the new tables.
        await asyncio.wait_for(asyncio.gather(*(upgrade(engine) for engine in engines)), 30)
        async with engines[0].connect() as connection:
            version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        assert version is not None and version.isdigit()
    finally:
        for engine in engines:
            await engine.dispose()


async def test_handled_event_ids_are_forgotten_after_two_days(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Their answers, which may say what a person later asks to forget, go after 15 minutes."""
    clock = Clock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    router = build_bot(sessions, clock=clock)
    omar = FakePlatform(router).person("@omar:x", Role.ORGANIZER)
    assert await omar.send("!whoami", "$old") is not None
    code = await omar.send("!link", "$code", resends=True)
    assert code is not None and code.reply.private
    clock.now += REPLY_KEPT - timedelta(minutes=1)
    assert await forget_handled(router.runtime) == FORGET_EVERY
    assert await omar.send("!link", "$code", resends=True) == code, "answer kept 15 minutes"
    clock.now += timedelta(minutes=2)
    await forget_handled(router.runtime)
    assert await omar.send("!link", "$code", resends=True) is None, "then only the id"
    clock.now += HANDLED_KEPT - timedelta(minutes=1) - REPLY_KEPT
    assert await forget_handled(router.runtime) == FORGET_EVERY
    assert await omar.send("!whoami", "$old") is None, "kept for two days"
    clock.now += timedelta(minutes=2)
    await forget_handled(router.runtime)
    assert await omar.send("!whoami", "$old") is not None


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_stop_that_cancels_twice_still_gives_the_lease_up(engine: AsyncEngine) -> None:
    """The App cancels a platform at the start of a stop, and again when it is late: the
    second cancel may land while the platform winds down; the lease goes all the same, before
    the holder's task ends, so a standby's first try takes it."""
    first = Leases(engine)
    winding_down = asyncio.Event()

    async def slow_to_end() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            winding_down.set()
            await asyncio.shield(asyncio.sleep(0.5))

    holder = asyncio.create_task(first.run("matrix", slow_to_end))
    await eventually(lambda: first.held == {"matrix"}, what="the lease held")
    holder.cancel()
    await winding_down.wait()
    holder.cancel()
    await asyncio.gather(holder, return_exceptions=True)
    got = asyncio.Event()

    async def mark() -> None:
        got.set()

    async def no_second_try(seconds: float) -> None:
        raise AssertionError("the lease was still held after its holder's task ended")

    await Leases(engine, no_second_try).run("matrix", mark)
    assert got.is_set()
