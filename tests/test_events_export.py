"""`convene events export` and the feed's zones: export, import into an empty store and export
again give the same file; the YAML export reads back through yaml2ics to the same
occurrences; and `/calendar.ics` read with only its own VTIMEZONEs still places 2040 right."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.__main__ import main
from bot.config import parse_settings
from bot.core import Role
from bot.core.context import Caller
from bot.core.rooms import Rooms
from bot.db import make_engine, make_sessions
from bot.identity import resolve_person
from bot.schema import upgrade
from cogs.events import export, service
from cogs.events.importer import import_entries, read_schedule
from cogs.events.models import Event
from tests.support.calendars import TWO_YEARS, expected, reference_calendar, stored
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform
from tests.support.feed import feed_page
from tests.support.house import build_bot

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CONSOLE = Caller("console", "you", "you", Role.ORGANIZER, "console")
FEATURES = Path(__file__).parent / "data" / "convene" / "features.yaml"
COMMANDS = [
    '!event create "Core meeting" start="2026-12-07 17:00" tz=Europe/Paris repeat=weekly '
    "link=https://meet.example.org/core description=Agenda kind=meeting tier=core",
    "!event skip 1 2026-12-14",
    '!event move 1 2026-12-21 "2026-12-22 18:30"',
    '!event create "Night owls" start="2027-03-21 02:30" tz=Europe/Paris repeat=weekly',
    '!event create "Sprint" start="2026-12-08 09:00" tz=Australia/Sydney repeat=biweekly '
    "kind=sprint tier=newcomers",
    '!event create "Release party" start="2026-12-10 20:00" tz=UTC',
]


async def populate(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Events of every shape: from a yaml2ics file (all-day, RDATE, skips) and from commands."""
    schedule = read_schedule(
        FEATURES.name,
        FEATURES.read_bytes(),
        ZoneInfo("UTC"),
        now=NOW,
        opener=lambda relative: (FEATURES.parent / relative).read_bytes(),
    )
    registry = build_bot(sessions, parse_settings({"rooms": []}), clock=Clock(NOW))
    omar = FakePlatform(registry).person("@omar:x", Role.ORGANIZER, "Omar")
    for line in COMMANDS:
        said = await omar.say(line)
        assert not said.reply.error, said.text
    async with sessions() as session:
        person = await resolve_person(session, CONSOLE, NOW)
        await import_entries(session, schedule.entries, person_id=person, rooms=Rooms(), now=NOW)
        await session.commit()


async def exported(sessions: async_sessionmaker[AsyncSession], fmt: str) -> str:
    async with sessions() as session:
        pairs = await export.upcoming(session, NOW)
        return export.to_ics(pairs, NOW).decode() if fmt == "ics" else export.to_yaml(pairs, NOW)


async def test_export_import_export_gives_the_same_file(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await populate(sessions)
    first = await exported(sessions, "ics")
    calendar = icalendar.Calendar.from_ical(first)
    assert len(calendar.walk("VEVENT")) > 10 and "RDATE" in first and "VALUE=DATE" in first

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    try:
        await upgrade(engine)
        empty = make_sessions(engine)
        schedule = read_schedule("export.ics", first.encode(), ZoneInfo("UTC"), now=NOW)
        assert schedule.warnings == [] and schedule.skipped == []
        async with empty() as session:
            person = await resolve_person(session, CONSOLE, NOW)
            await import_entries(
                session, schedule.entries, person_id=person, rooms=Rooms(), now=NOW
            )
            await session.commit()
        assert await exported(empty, "ics") == first
    finally:
        await engine.dispose()


async def test_the_yaml_export_reads_back_through_yaml2ics(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await populate(sessions)
    path = tmp_path / "export.yaml"
    path.write_text(await exported(sessions, "yaml"))
    async with sessions() as session:
        ours = await stored(session, NOW, NOW + TWO_YEARS)
        events = (await session.exec(select(Event))).all()
    assert not any(e.all_day and e.duration_min > 1440 for e in events), (
        "yaml2ics cannot write an all-day event of several days; none here"
    )
    assert ours == expected(reference_calendar(path), NOW, NOW + TWO_YEARS)


def test_export_command_writes_a_file_or_standard_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "convene.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/events.db"\n')
    source = tmp_path / "calendar.yaml"
    source.write_text(
        "name: Weekly\ntimezone: Europe/Paris\nevents:\n  - summary: Call\n"
        "    begin: 2030-01-07 17:00:00\n    duration: {minutes: 30}\n"
        "    ics: RRULE:FREQ=WEEKLY\n"
    )
    assert main(["events", "import", str(source), "-c", str(config)]) == 0
    target = tmp_path / "out.ics"
    assert main(["events", "export", str(target), "-c", str(config)]) == 0
    assert "RRULE:FREQ=WEEKLY" in target.read_text() and "BEGIN:VTIMEZONE" in target.read_text()
    out = tmp_path / "out.yaml"
    assert main(["events", "export", "--format", "yaml", str(out), "-c", str(config)]) == 0
    assert "summary: Call" in out.read_text() and "RRULE:FREQ=WEEKLY" in out.read_text()
    capsys.readouterr()
    assert main(["events", "export", "-c", str(config)]) == 0
    assert capsys.readouterr().out.startswith("BEGIN:VCALENDAR")
    assert (
        main(["events", "export", str(tmp_path / "no" / "dir" / "x.ics"), "-c", str(config)]) == 1
    )
    assert "cannot write" in capsys.readouterr().err


def _renamed(feed: str) -> str:
    """The feed with every TZID renamed, so no reader can take the zone from its database."""
    for key in ("Europe/Paris", "America/New_York", "Australia/Sydney"):
        feed = feed.replace(key, f"Convene-Test-{key.replace('/', '-')}")
    return feed


async def test_the_feed_stays_right_in_2040_from_its_own_vtimezones(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    registry = build_bot(sessions, parse_settings({"rooms": []}), clock=Clock(NOW))
    omar = FakePlatform(registry).person("@omar:x", Role.ORGANIZER, "Omar")
    for line in (
        '!event create "Paris" start="2026-12-07 17:00" tz=Europe/Paris repeat=weekly',
        '!event create "New York" start="2026-12-08 09:00" tz=America/New_York repeat=weekly',
        '!event create "Sydney" start="2026-12-09 19:00" tz=Australia/Sydney repeat=monthly',
    ):
        assert not (await omar.say(line)).reply.error
    feed = (await feed_page(sessions, NOW)).body.decode()
    async with sessions() as session:
        events = {e.title: e for e in (await session.exec(select(Event))).all()}
        ours: dict[str, list[datetime]] = {}
        for title, event in events.items():
            changes = await service.changes_of(session, event.id or 0)
            ours[title] = [
                o.start
                for o in service.expand(
                    event,
                    changes,
                    after=datetime(2040, 1, 1, tzinfo=UTC),
                    before=datetime(2041, 1, 1, tzinfo=UTC),
                )
            ]
    calendar = icalendar.Calendar.from_ical(_renamed(feed))
    for vtimezone in calendar.walk("VTIMEZONE"):
        assert any(part.get("RRULE") for part in vtimezone.subcomponents), "rules, not a list"
    theirs: dict[str, list[datetime]] = {}
    for vevent in recurring_ical_events.of(calendar).between(
        datetime(2040, 1, 1, tzinfo=UTC), datetime(2041, 1, 1, tzinfo=UTC)
    ):
        start = vevent.decoded("DTSTART")
        assert "Convene-Test" in str(start.tzinfo), "read from the feed's own VTIMEZONE"
        theirs.setdefault(str(vevent["SUMMARY"]), []).append(start.astimezone(UTC))
    assert {k: sorted(v) for k, v in theirs.items()} == ours
    paris = ZoneInfo("Europe/Paris")
    assert {s.astimezone(paris).hour for s in ours["Paris"]} == {17}
    assert len(ours["Paris"]) == 53, "2040 has 53 Mondays"
