"""Reminders and "starting now" planned from events, with the missed-delivery policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import parse_settings
from bot.core import Role
from bot.core.markup import to_plain
from bot.core.router import Router
from bot.delivery import Delivery, SendResult
from cogs.events.announce import bookmark
from cogs.events.models import Event
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser
from tests.support.house import build_announcer, build_bot, build_dispatcher
from tests.support.recording_platform import matrix_and_discord

SETTINGS = parse_settings(
    {
        "rooms": [
            {
                "name": "community",
                "matrix_room_id": "!c:x",
                "discord_channel_id": 9,
                "purposes": ["announcements"],
            },
        ]
    }
)
START = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def registry(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Router:
    return build_bot(sessions, SETTINGS, clock=clock)


@pytest.fixture
def omar(registry: Router) -> FakeUser:
    return FakePlatform(registry).person("@omar:x", Role.ORGANIZER)


class World:
    def __init__(self, registry: Router, clock: Clock) -> None:
        self.registry, self.clock = registry, clock
        self.platforms = matrix_and_discord()
        self.announcer = build_announcer(registry)
        self.dispatcher = build_dispatcher(registry.runtime.sessions, self.platforms, clock)

    async def at(self, when: datetime) -> list[str]:
        """Move the clock, plan and send; what the Matrix room received at that moment."""
        self.clock.now = when
        before = set(self.platforms["matrix"].posted)
        await self.announcer.plan()
        await self.dispatcher.run_due()
        posted = self.platforms["matrix"].posted.items()
        return [to_plain(t) for k, (_, t) in posted if k not in before]

    async def bookmark(self) -> tuple[int | None, datetime | None]:
        async with self.registry.runtime.sessions() as session:
            event = await session.get(Event, 1)
            assert event is not None
            return event.planned_sequence, event.plan_at

    async def statuses(self) -> dict[str, str]:
        async with self.registry.runtime.sessions() as session:
            found = (
                await session.exec(select(Delivery).where(Delivery.platform == "matrix"))
            ).all()
            return {row.key.split(":", 2)[2]: row.status for row in found}


@pytest.fixture
def world(registry: Router, clock: Clock) -> World:
    return World(registry, clock)


CREATE = (
    '!event create "Core meeting" start="2026-12-07 17:00" tz=Europe/Paris repeat=weekly '
    "link=https://meet.example.org/core"
)


async def test_each_reminder_and_the_start_once_in_every_room(omar: FakeUser, world: World) -> None:
    await omar.say(CREATE)
    assert await world.at(START - timedelta(days=2)) == []
    day_before = await world.at(START - timedelta(hours=24))
    assert day_before == [
        "⏰ Core meeting starts in 1 d — Mon 7 Dec 2026 17:00 CET (16:00 UTC)\n"
        "Join: https://meet.example.org/core\nComing? !event rsvp 1 going"
    ]
    assert await world.at(START - timedelta(hours=24) + timedelta(seconds=30)) == []
    assert (await world.at(START - timedelta(minutes=15)))[0].startswith(
        "⏰ Core meeting starts in 15 min"
    )
    assert await world.at(START) == [
        "▶️ Core meeting is starting now. Join: https://meet.example.org/core"
    ]
    assert await world.at(START + timedelta(minutes=1)) == []
    discord = [t for _, t in world.platforms["discord"].posted.values()]
    assert len(discord) == 3 and "<t:1796659200:F>" in discord[0]
    assert "/event rsvp id:1 answer:going" in discord[0]


async def test_an_event_without_reminders_is_announced_at_its_start(
    omar: FakeUser, world: World
) -> None:
    """reminders=none leaves the start; an event planned beside it keeps its own, too."""
    await omar.say(CREATE)
    await omar.say(
        '!event create "Drop-in" start="2026-12-07 17:00" tz=Europe/Paris reminders=none'
    )
    assert len(await world.at(START - timedelta(hours=24))) == 1
    assert await world.at(START) == [
        "▶️ Core meeting is starting now. Join: https://meet.example.org/core",
        "▶️ Drop-in is starting now.",
    ]


async def test_refused_sends_show_in_event_show(omar: FakeUser, world: World) -> None:
    await omar.say(CREATE)
    world.platforms["discord"].script = [SendResult(error="403 Missing Access")]
    await world.at(START - timedelta(hours=24))
    shown = (await omar.say("!event show 1")).text
    assert "Not delivered to community (discord): 403 Missing Access" in shown


async def test_downtime_sends_one_late_reminder_not_a_burst(omar: FakeUser, world: World) -> None:
    await omar.say(CREATE)
    got = await world.at(START - timedelta(minutes=5))
    assert len(got) == 1
    assert got[0].startswith(
        "(Sent late: the bot was unavailable.)\n⏰ Core meeting starts in 5 min —"
    )


async def test_no_reminder_that_was_due_before_the_event_existed(
    omar: FakeUser, world: World, clock: Clock
) -> None:
    clock.now = START - timedelta(hours=3)
    await omar.say(CREATE)
    assert await world.at(START - timedelta(hours=3)) == []
    assert (await world.at(START - timedelta(minutes=15)))[0].startswith(
        "⏰ Core meeting starts in 15 min"
    )


async def test_start_is_sent_up_to_ten_minutes_late_then_skipped(
    omar: FakeUser, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    await omar.say(CREATE)
    assert (await world.at(START + timedelta(minutes=9)))[0].endswith(
        "is starting now. Join: https://meet.example.org/core"
    )
    later = START + timedelta(days=7, minutes=11)
    assert await world.at(later) == []
    assert ":20261214T1600Z:start to community skipped: too late" in caplog.text
    assert (await world.statuses())["20261214T1600Z:start"] == "skipped"


async def test_skip_move_and_cancel(omar: FakeUser, world: World) -> None:
    await omar.say(CREATE)
    await world.at(START - timedelta(hours=24))
    await omar.say("!event skip 1 2026-12-07")
    assert await world.at(START - timedelta(minutes=15)) == []
    await omar.say('!event move 1 2026-12-14 "2026-12-15 18:00"')
    moved = datetime(2026, 12, 15, 17, 0, tzinfo=UTC)
    assert await world.at(START + timedelta(days=7) - timedelta(minutes=15)) == []
    assert (await world.at(moved - timedelta(minutes=15)))[0].startswith(
        "⏰ Core meeting starts in 15 min — Tue 15 Dec"
    )
    cancel = await omar.say("!event cancel 1")
    assert cancel.text.endswith("Announced in community.")
    assert await world.at(moved - timedelta(minutes=14)) == [
        "❌ Core meeting (#1) is cancelled: no further occurrences."
    ]
    assert await world.at(moved) == []


async def test_each_event_is_planned_again_only_when_it_matters(
    omar: FakeUser, world: World
) -> None:
    """The bookmark is the next moment something of the event falls due; a change resets it."""
    await omar.say(CREATE)
    await world.at(START - timedelta(days=2))
    assert await world.bookmark() == (0, START - timedelta(hours=24))
    await world.at(START - timedelta(hours=24))
    assert await world.bookmark() == (0, START - timedelta(minutes=15))
    assert await world.at(START - timedelta(minutes=16)) == []
    assert await world.bookmark() == (0, START), "the 15-minute reminder is planned, not sent"
    await omar.say("!event skip 1 2026-12-07")
    assert (await world.bookmark())[0] == 0, "planned at sequence 0; the skip made it 1"
    assert await world.at(START - timedelta(minutes=15)) == []
    assert await world.bookmark() == (1, START + timedelta(days=6))
    assert await world.statuses() == {
        "20261207T1600Z:r1440": "sent",
        "20261207T1600Z:r15": "skipped",
    }, "the planned reminder of the skipped meeting is superseded"


async def test_a_plan_of_an_event_changed_meanwhile_is_not_bookmarked(
    omar: FakeUser, world: World
) -> None:
    await omar.say(CREATE)
    async with world.registry.runtime.sessions() as session:
        seen = await session.get(Event, 1)
    assert seen is not None and seen.sequence == 0
    await omar.say("!event skip 1 2026-12-07")
    async with world.registry.runtime.sessions() as session:
        await bookmark(session, [(seen, START + timedelta(days=6))])
        await session.commit()
    assert await world.bookmark() == (None, None), "the next pass plans the changed event"
