"""Personal reminders by direct message for people going, and events that ping a role; through
the real registry, planner and dispatcher on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import parse_settings
from bot.core import Role
from bot.core.markup import to_plain
from bot.core.router import Router
from bot.delivery import Delivery, decode
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser
from tests.support.house import (
    build_announcer,
    build_bot,
    build_dispatcher,
    build_personal_reminders,
)
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
CREATE = f'!event create "Sprint" start="{START:%Y-%m-%d %H:%M}" tz=UTC repeat=weekly'


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def registry(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Router:
    return build_bot(sessions, SETTINGS, clock=clock)


@pytest.fixture
async def omar(registry: Router) -> FakeUser:
    omar = FakePlatform(registry).person("@omar:x", Role.ORGANIZER)
    assert not (await omar.say(CREATE)).reply.error
    return omar


@pytest.fixture
def dana(registry: Router) -> FakeUser:
    user = FakePlatform(registry, name="discord", style="slash").person("55", name="dana")
    user.room_id = "9"
    return user


async def planned(registry: Router) -> list[Delivery]:
    await build_personal_reminders(registry).plan()
    async with registry.runtime.sessions() as session:
        query = select(Delivery).where(col(Delivery.key).startswith("rsvp:"))
        return list((await session.exec(query.order_by(col(Delivery.id)))).all())


async def test_a_person_going_gets_one_direct_message_before_the_start(
    omar: FakeUser, dana: FakeUser, registry: Router, clock: Clock
) -> None:
    said = await dana.say("!event rsvp 1 going remind=15m")
    assert said.text.endswith("I'll send you a direct message 15 min before it starts.")
    await planned(registry)
    (row,) = await planned(registry)
    assert (row.platform, row.target, row.fallback_target) == ("discord", "user:55", "9")
    assert (row.due_at, row.expires_at) == (START - timedelta(minutes=15), START)
    platforms = matrix_and_discord()
    dispatcher = build_dispatcher(registry.runtime.sessions, platforms, clock)
    assert await dispatcher.run_due() == 0
    clock.now = START - timedelta(minutes=15)
    assert await dispatcher.run_due() == 1
    ((target, text),) = platforms["discord"].posted.values()
    assert target == "user:55"
    stamp = int(START.timestamp())
    assert text == (
        f"⏰ Your reminder: **Sprint** starts in 15 min — <t:{stamp}:F> (<t:{stamp}:R>)"
    )
    clock.now += timedelta(minutes=1)
    await planned(registry)
    assert await dispatcher.run_due() == 0, "sent once"


async def test_going_again_keeps_the_reminder_and_no_or_off_drops_it(
    omar: FakeUser, dana: FakeUser, registry: Router
) -> None:
    await dana.say("!event rsvp 1 going remind=1h")
    again = await dana.say("!event rsvp 1 going")
    assert "direct message 1 h before" in again.text
    assert [r.status for r in await planned(registry)] == ["pending"]
    await dana.say("!event rsvp 1 no")
    assert [r.status for r in await planned(registry)] == ["skipped"]
    await dana.say("!event rsvp 1 going remind=30m")
    assert [r.status for r in await planned(registry)] == ["skipped", "pending"]
    await dana.say("!event rsvp 1 going remind=off")
    offer = await dana.say("!event rsvp 1 going")
    assert offer.text.endswith("Want a reminder? /event rsvp id:1 answer:going remind:15m")
    assert [r.status for r in await planned(registry)] == ["skipped", "skipped"]


async def test_a_moved_or_skipped_occurrence_moves_or_drops_the_reminder(
    omar: FakeUser, dana: FakeUser, registry: Router
) -> None:
    await dana.say("!event rsvp 1 going remind=15m")
    await dana.say("!event rsvp 1 going 2026-12-14 remind=15m")
    assert len(await planned(registry)) == 2
    moved = await omar.say('!event move 1 2026-12-07 "2026-12-08 10:00"')
    assert not moved.reply.error, moved.text
    await omar.say("!event skip 1 2026-12-14")
    rows = await planned(registry)
    assert [(r.status, r.due_at) for r in rows] == [
        ("skipped", START - timedelta(minutes=15)),
        ("skipped", START + timedelta(days=7, minutes=-15)),
        ("pending", datetime(2026, 12, 8, 9, 45, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        (
            "!event rsvp 1 maybe remind=15m",
            "Personal reminders are for people going, e.g. /event rsvp id:3 answer:going remind:15m",
        ),
        ("!event rsvp 1 going remind=15m,1h", "Give one reminder time"),
        ("!event rsvp 1 going remind=soon", '"soon" is not a reminder time'),
        ("!event rsvp 1 going remind=40d", "out of range"),
    ],
)
async def test_bad_reminders_are_refused(
    omar: FakeUser, dana: FakeUser, registry: Router, command: str, refusal: str
) -> None:
    said = await dana.say(command)
    assert said.reply.error and refusal in said.text
    assert await planned(registry) == []


async def test_the_console_has_no_direct_messages(omar: FakeUser, registry: Router) -> None:
    you = FakePlatform(registry, name="console").person("you")
    said = await you.say("!event rsvp 1 going remind=15m")
    assert said.reply.error and "by direct message on Discord or Matrix" in said.text


async def test_an_event_can_ping_a_role_but_never_everyone(
    omar: FakeUser, registry: Router, clock: Clock
) -> None:
    refused = await omar.say("!event edit 1 mention=@everyone")
    assert refused.reply.error and "never ping '@everyone'" in refused.text
    refused = await omar.say("!event edit 1 mention=@Sprinters")
    assert refused.reply.error and refused.text.startswith(
        "No role is named 'Sprinters'. Roles: 'mentors', 'organizers'; e.g. mention=mentors"
    )
    registry.runtime.roles.expect("discord")
    registry.runtime.roles.report("discord", ["Sprinters", "Core"])
    edited = await omar.say("!event edit 1 mention=@sprinters")
    assert edited.text == "Updated #1 Sprint: mention."
    assert "pinging @Sprinters" in (await omar.say("!event show 1")).text
    clock.now = START - timedelta(minutes=15)
    await build_announcer(registry).plan()
    async with registry.runtime.sessions() as session:
        rows = (await session.exec(select(Delivery))).all()
    assert rows and {tuple(decode(r.body).mention_roles) for r in rows} == {("Sprinters",)}
    assert to_plain(decode(rows[0].body).text).startswith("⏰ Sprint starts in 15 min")
    await omar.say("!event edit 1 mention=none")
    assert "pinging" not in (await omar.say("!event show 1")).text
