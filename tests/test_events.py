"""Events through the real registry and store: what organizers and contributors see."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import parse_settings
from bot.core import Role
from bot.core.audience import Audience
from bot.core.pages import Page, PageRequest, Unchanged
from bot.core.router import Router
from cogs.events import feed as feed_module
from cogs.events import service
from cogs.events.feed import Feed
from cogs.events.models import Event
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser
from tests.support.feed import feed_page
from tests.support.house import build_bot

SETTINGS = parse_settings(
    {
        "bot": {"timezone": "Europe/Paris"},
        "rooms": [
            {"name": "community", "matrix_room_id": "!c:x", "purposes": ["announcements"]},
            {"name": "core", "discord_channel_id": 5, "purposes": ["announcements"]},
            {"name": "mentors", "matrix_room_id": "!m:x", "purposes": ["mentors"]},
        ],
    }
)

CONSOLE = Audience.of("console")


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))


@pytest.fixture
def registry(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Router:
    return build_bot(sessions, SETTINGS, clock=clock)


@pytest.fixture
def omar(registry: Router) -> FakeUser:
    return FakePlatform(registry).person("@omar:x", Role.ORGANIZER, "Omar")


@pytest.fixture
def nina(registry: Router) -> FakeUser:
    return FakePlatform(registry).person("@nina:x", Role.CONTRIBUTOR, "Nina")


CORE = (
    '!event create "Monthly core meeting" start="2026-12-07 17:00" tz=Europe/Paris '
    "repeat=monthly-nth duration=60 link=https://meet.example.org/core tier=core"
)


async def test_create_shows_id_and_next_three(omar: FakeUser) -> None:
    said = await omar.say(CORE)
    assert said.reply.title == "Event #1 “Monthly core meeting”"
    lines = said.text.splitlines()
    assert lines[1] == "First Monday of each month, 17:00 Europe/Paris (60 min) · meeting · core"
    assert lines[2:5] == [
        "- Mon 7 Dec 2026 17:00 CET (16:00 UTC)",
        "- Mon 4 Jan 2027 17:00 CET (16:00 UTC)",
        "- Mon 1 Feb 2027 17:00 CET (16:00 UTC)",
    ]
    assert lines[5] == "Reminders 1 d, 15 min before, and at the start, in community, core."


async def test_times_stay_local_across_dst_and_viewer_zone(omar: FakeUser, nina: FakeUser) -> None:
    await omar.say('!event create "Weekly sync" start="2027-03-22 17:00" repeat=weekly')
    await nina.say("!tz set america/new_york")
    shown = (await nina.say("!event show 1")).text
    assert "- Mon 22 Mar 2027 17:00 CET (16:00 UTC), Mon 12:00 your time" in shown
    assert "- Mon 29 Mar 2027 17:00 CEST (15:00 UTC), Mon 11:00 your time" in shown


async def test_discord_uses_timestamp_markup(registry: Router, omar: FakeUser) -> None:
    await omar.say(CORE)
    casey = FakePlatform(registry, name="discord", style="slash").person("7", name="casey")
    listed = (await casey.say("!event list days=30")).text
    stamp = int(datetime(2026, 12, 7, 16, tzinfo=UTC).timestamp())
    assert f"<t:{stamp}:F> (<t:{stamp}:R>)" in listed


async def test_list_skip_move_and_filters(omar: FakeUser, nina: FakeUser, clock: Clock) -> None:
    await omar.say(CORE)
    await omar.say('!event create "Sprint" start="2026-12-05 10:00" kind=sprint tier=newcomers')
    listed = (await nina.say("!event list 40")).text.splitlines()
    assert listed[1].startswith("#2 Sprint — Sat 5 Dec 2026 10:00 CET")
    assert listed[2].startswith("#1 Monthly core meeting — Mon 7 Dec 2026 17:00 CET")
    assert len(listed) == 3
    assert "#2" in (await nina.say("!event list 40 tier=newcomers")).text
    assert "#1" not in (await nina.say("!event list 40 kind=sprint")).text

    skipped = await omar.say("!event skip 1 2027-01-04")
    assert (
        skipped.text == "Skipped #1 on Mon 04 Jan 2027. Next: Mon 7 Dec 2026 17:00 CET (16:00 UTC)."
    )
    moved = await omar.say('!event move 1 2026-12-07 "2026-12-08 18:00"')
    assert "to Tue 8 Dec 2026 18:00 CET (17:00 UTC)" in moved.text
    shown = (await nina.say("!event show 1")).text
    assert "- Tue 8 Dec 2026 18:00 CET (17:00 UTC) (moved)" in shown
    assert "4 Jan 2027" not in shown and "7 Dec 2026" not in shown

    clock.now = datetime(2026, 12, 9, tzinfo=UTC)
    assert "#1 Monthly core meeting — Mon 1 Feb 2027" in (await nina.say("!event list 60")).text


async def test_rsvp_counts_and_reminder_request(omar: FakeUser, nina: FakeUser) -> None:
    await omar.say(CORE)
    said = await nina.say("!event rsvp 1 going")
    assert said.text.startswith("Noted: going for #1 Monthly core meeting on Mon 7 Dec 2026")
    await omar.say("!event rsvp 1 maybe date=2027-01-04")
    shown = (await nina.say("!event show 1")).text
    assert "(16:00 UTC) — 1 going" in shown and "(16:00 UTC) — 1 maybe" in shown
    again = await nina.say("!event rsvp 1 no")
    assert again.text.startswith("Noted: no")
    assert "— 1 going" not in (await nina.say("!event show 1")).text


async def test_cancel_edit_delete(omar: FakeUser, nina: FakeUser) -> None:
    await omar.say(CORE)
    edited = await omar.say("!event edit 1 duration=90 title=Core")
    assert edited.text == "Updated #1 Core: duration, title."
    assert "(90 min)" in (await nina.say("!event show 1")).text
    assert (await omar.say("!event cancel 1")).text == "Cancelled #1 Core: no further occurrences."
    assert "Cancelled." in (await nina.say("!event show 1")).text
    assert "No events in the next 14 days." in (await nina.say("!event list")).text
    assert "already cancelled" in (await omar.say("!event cancel 1")).text
    assert (await omar.say("!event delete 1")).text == "Deleted #1 Core."
    assert "There is no event #1" in (await nina.say("!event show 1")).text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('!event create "S" start="2026-02-30 10:00"', "February has 28 days in 2026"),
        ('!event create "S" start="2027-02-01 10:00" tz=Mars/Base', "Mars/Base"),
        ('!event create "S" start="2026-01-05 10:00"', "in the past"),
        (
            '!event create "S" start="2027-01-05 10:00" repeat=FREQ=MINUTELY;INTERVAL=5',
            "15 minutes",
        ),
        ('!event create "S" start="2027-01-05 10:00" link=ftp://x', "https://"),
        ('!event create "' + "x" * 201 + '" start="2027-01-05 10:00"', "title is too long"),
        ('!event create "S" start="2027-01-05 10:00" rooms=nowhere', "Unknown room 'nowhere'"),
        ("!event skip 9 2027-01-04", "There is no event #9"),
        ("!event create", "Usage: !event create <title> <start>"),
    ],
)
async def test_bad_input_is_refused_with_an_example(
    omar: FakeUser, line: str, expected: str
) -> None:
    said = await omar.say(line)
    assert said.reply.error, said.text
    assert expected in said.text


async def test_only_organizers_schedule(nina: FakeUser) -> None:
    said = await nina.say(CORE)
    assert said.text == "Only organizers can use !event create."


async def test_feed_matches_event_list(
    omar: FakeUser, nina: FakeUser, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """An independent library reading the feed finds exactly the instants the bot lists."""
    await omar.say(CORE)
    await omar.say(
        '!event create "Office hours" start="2026-11-23 09:00" tz=America/New_York '
        "repeat=weekly kind=office-hours tier=newcomers"
    )
    await omar.say(
        '!event create "Sydney sprint" start="2027-04-04 02:30" tz=Australia/Sydney repeat=biweekly'
    )
    await omar.say('!event create "Night owls" start="2027-03-26 02:30" repeat=daily count=4')
    await omar.say("!event skip 2 2026-11-30")
    await omar.say('!event move 2 2026-12-07 "2026-12-08 10:00"')
    page = await feed_page(sessions, clock.now)
    assert page.content_type.startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(page.body)
    assert {tz["TZID"] for tz in calendar.walk("VTIMEZONE")} >= {"Europe/Paris", "America/New_York"}
    end = clock.now + timedelta(days=200)
    from_feed = sorted(
        (str(e["UID"]), e.decoded("DTSTART").astimezone(UTC))
        for e in recurring_ical_events.of(calendar).between(clock.now, end)
    )
    async with sessions() as session:
        listed = []
        for event_id in (1, 2, 3, 4):
            event = await service.get_event(session, event_id, CONSOLE)
            changes = await service.changes_of(session, event_id)
            listed += [
                (event.uid, o.start)
                for o in service.expand(event, changes, after=clock.now, before=end)
            ]
    assert from_feed == sorted(listed)
    assert any(e.get("RECURRENCE-ID") for e in calendar.walk("VEVENT"))
    owls = [start for uid, start in listed if start.month == 3 and start.day == 28]
    assert owls == [datetime(2027, 3, 28, 1, 0, tzinfo=UTC)], "02:30 in the gap is 03:00 CEST"


async def test_feed_filters_and_bad_filters(
    omar: FakeUser, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    await omar.say(CORE)
    core = await feed_page(sessions, clock.now, tier="core")
    newcomers = await feed_page(sessions, clock.now, tier="newcomers")
    with pytest.raises(Exception, match="Unknown tier 'vip'"):
        await feed_page(sessions, clock.now, tier="vip")
    assert b"Monthly core meeting" in core.body
    assert b"VEVENT" not in newcomers.body


async def test_feed_etag_not_modified_and_every_change_invalidates(
    omar: FakeUser, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """The feed is built once per version of the events in the store; its ETag names that
    version, so any instance answers "not modified" for it, and every change makes a new one."""
    feed = Feed(sessions)

    async def fetch(held: str | None = None, **query: str) -> Page | Unchanged:
        return await feed(PageRequest(query, clock.now, frozenset({held} if held else ())))

    await omar.say(CORE)
    first = await fetch()
    assert isinstance(first, Page) and first.etag and b"Monthly core meeting" in first.body
    assert await fetch() == first and feed.builds == 1, "built once, then cached"
    assert await fetch(first.etag) == Unchanged(first.etag)
    core = await fetch(tier="core")
    assert isinstance(core, Page) and core.etag not in (None, first.etag)
    another = Feed(sessions)
    assert await another(PageRequest({}, clock.now, frozenset({first.etag}))) == Unchanged(
        first.etag
    )
    assert another.builds == 0, "another instance knows the version from the store"

    seen = {first.etag}
    for change, shows in (
        ('!event create "Docs sprint" start="2026-12-12 10:00" kind=sprint', b"Docs sprint"),
        ("!event edit 1 title=Core", b"SUMMARY:Core"),
        ("!event skip 1 2027-01-04", b"EXDATE"),
        ('!event move 1 2026-12-07 "2026-12-08 18:00"', b"RECURRENCE-ID"),
        ("!event cancel 1", b"UNTIL="),
        ("!event delete 2", None),
    ):
        said = await omar.say(change)
        assert not said.reply.error, said.text
        page = await fetch(first.etag)
        assert isinstance(page, Page), change
        assert page.etag is not None and page.etag not in seen, change
        seen.add(page.etag)
        if shows is not None:
            assert shows in page.body, change
    assert b"Docs sprint" not in page.body
    assert await fetch(page.etag) == Unchanged(page.etag)
    await omar.say("!event rsvp 1 going date=2027-02-01")
    assert await fetch(page.etag) == Unchanged(page.etag), "an RSVP is not in the feed"


async def test_an_etag_always_names_the_body_it_came_with(
    omar: FakeUser, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """An edit that lands while a large feed is being read, batch by batch, never leaves a body
    tagged with a version it does not show."""
    await omar.say(CORE)
    async with sessions() as session:
        owner = (await service.get_event(session, 1, CONSOLE)).created_by
        for n in range(feed_module.BATCH * 2 + 10):
            start = datetime(2027, 1, 1, 9) + timedelta(hours=n)
            session.add(
                Event(
                    uid=f"bulk-{n}@convene",
                    title=f"Bulk {n}",
                    kind="meeting",
                    tier="everyone",
                    timezone="Europe/Paris",
                    start_local=start,
                    duration_min=30,
                    created_by=owner,
                    created_at=clock.now,
                    updated_at=clock.now,
                )
            )
        await service.bump_version(session, clock.now)
        await session.commit()
    feed = Feed(sessions)
    fetching = asyncio.create_task(feed(PageRequest({}, clock.now)))
    said = await omar.say("!event edit 1 title=Renamed")
    assert not said.reply.error, said.text
    page = await fetching
    assert isinstance(page, Page)
    if page.etag is not None:
        again = await feed(PageRequest({}, clock.now, frozenset({page.etag})))
        renamed = b"SUMMARY:Renamed" in page.body
        assert isinstance(again, Unchanged) == renamed, "the tag names what the body shows"
    latest = await feed(PageRequest({}, clock.now))
    assert isinstance(latest, Page) and b"SUMMARY:Renamed" in latest.body


async def test_the_feed_builds_off_the_event_loop(
    sqlite_sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """SQLite answers on the loop's own thread without yielding, so a ticker that keeps moving
    while the feed is fetched shows it was rendered elsewhere while the loop went on (rendered
    on the loop, it would have moved once or twice)."""
    omar = FakePlatform(build_bot(sqlite_sessions, SETTINGS, clock=clock)).person(
        "@omar:x", Role.ORGANIZER, "Omar"
    )
    for n in range(60):
        said = await omar.say(
            f'!event create "Sync {n}" start="2027-03-28 02:30" tz=Europe/Paris repeat=weekly'
        )
        assert not said.reply.error, said.text
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    fetching = asyncio.create_task(feed_page(sqlite_sessions, clock.now))
    ticking = asyncio.create_task(ticker())
    page = await fetching
    ticking.cancel()
    assert ticks >= 10
    assert page.body.count(b"BEGIN:VEVENT") > 60, "with the daylight-saving pins"


async def test_calendar_command_gives_the_feed_url(nina: FakeUser) -> None:
    said = await nina.say("!event calendar tier=newcomers")
    assert re.search(r"http://127\.0\.0\.1:8080/calendar\.ics\?tier=newcomers$", said.text)


def test_zone_names_are_iana() -> None:
    assert ZoneInfo("Europe/Paris").key == "Europe/Paris"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '!event create "Core" 2027-01-05 17:00 Europe/Paris',
            'Put the start in quotes: start="2027-01-05 17:00"',
        ),
        ('!event create "S" start="9999-12-31 10:00"', "out of range: dates go from 1970 to 2200"),
        ('!event create "S" start="0001-01-01 10:00"', "out of range: dates go from 1970 to 2200"),
        (
            '!event create "S" start="2027-01-05 10:00" repeat=weekly until=2999-01-01',
            "out of range",
        ),
        ('!event create "S" start="2027-01-05 10:00" duration=32d', "1 minute to 31 days"),
        (
            '!event create "S" start="2027-01-05 10:00" reminders=1d,2d,3d,4d,5d,6d',
            "6 reminders: an occurrence has at most 5",
        ),
        (
            '!event create "Leap" "2044-02-29 10:00" repeat=FREQ=SECONDLY;INTERVAL=7;BYMONTH=2;'
            "BYMONTHDAY=29;BYDAY=MO;BYHOUR=10;BYMINUTE=0;BYSECOND=0",
            "makes every day a search of 86,400 steps",
        ),
        (
            '!event create "Leap" "2044-02-29 10:00" repeat=FREQ=MINUTELY;INTERVAL=15;BYMONTH=2;'
            "BYMONTHDAY=29;BYDAY=MO",
            "too slow to expand",
        ),
        ('!event create "S" start="2027-01-05 10:00" repeat=FREQ=MINUTELY;INTERVAL=15', "ok"),
    ],
)
async def test_limits_hold_for_every_date_and_rule(
    omar: FakeUser, line: str, expected: str
) -> None:
    said = await omar.say(line)
    if expected == "ok":
        assert not said.reply.error, said.text
        return
    assert said.reply.error and expected in said.text, said.text
    assert "went wrong" not in said.text


async def test_edit_move_and_rsvp_dates_stay_in_range(omar: FakeUser, nina: FakeUser) -> None:
    assert not (await omar.say(CORE)).reply.error
    for line, who in (
        ('!event edit 1 start="2201-01-04 17:00"', omar),
        ('!event move 1 2026-12-07 "9999-12-31 17:00"', omar),
        ("!event skip 1 0001-01-01", omar),
        ("!event rsvp 1 going 9999-12-31", nina),
        ("!event edit 1 duration=40d", omar),
        ("!event edit 1 reminders=1m,2m,3m,4m,5m,6m", omar),
    ):
        said = await who.say(line)
        assert said.reply.error and "went wrong" not in said.text, (line, said.text)
        assert "out of range" in said.text or "at most 5" in said.text, (line, said.text)
    said = await omar.say("!event edit 1 start=2026-12-07 tz=17:00")
    assert 'Put the start in quotes: start="2026-12-07 17:00"' in said.text


async def test_a_move_onto_another_occurrence_is_refused(omar: FakeUser) -> None:
    weekly = '!event create "Sync" start="2026-12-07 17:00" tz=Europe/Paris repeat=weekly'
    assert not (await omar.say(weekly)).reply.error
    said = await omar.say('!event move 1 2026-12-07 "2026-12-14 17:00"')
    assert said.reply.error and "already meets on 2026-12-14 (at 17:00)" in said.text
    said = await omar.say('!event move 1 2026-12-07 "2026-12-14 09:00"')
    assert said.reply.error and "Skip that one first (!event skip 1 2026-12-14)" in said.text
    assert not (await omar.say('!event move 1 2026-12-07 "2026-12-08 09:00"')).reply.error
    said = await omar.say('!event move 1 2026-12-08 "2026-12-09 09:00"')
    assert not said.reply.error, "the moved one is found on its new day, and moves again"
