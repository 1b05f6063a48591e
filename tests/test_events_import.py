"""`convene events import` for .ics and yaml2ics YAML files, as organizers would run it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events
from sqlmodel import col, select

from bot.__main__ import main
from bot.config import parse_settings
from bot.core import Role
from bot.core.audience import Audience
from bot.db import make_engine, make_sessions
from bot.schema import upgrade
from cogs.events import service
from cogs.events.models import Event
from tests.support.calendars import YAML
from tests.support.fake_platform import FakePlatform
from tests.support.feed import feed_page
from tests.support.house import build_bot

CONSOLE = Audience.of("console")


def config(tmp_path: Path) -> Path:
    path = tmp_path / "convene.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/events.db"\n'
        '[[rooms]]\nname = "community"\nmatrix_room_id = "!c:x"\npurposes = ["announcements"]\n'
    )
    return path


def events_in(tmp_path: Path) -> list[tuple[Event, list[datetime]]]:
    async def read() -> list[tuple[Event, list[datetime]]]:
        engine = make_engine(f"sqlite:///{tmp_path}/events.db")
        try:
            async with make_sessions(engine)() as session:
                found = []
                for event_id in range(1, 10):
                    if await session.get(Event, event_id) is None:
                        break
                    event = await service.get_event(session, event_id, CONSOLE)
                    changes = await service.changes_of(session, event_id)
                    starts = service.expand(
                        event, changes, after=datetime(2027, 1, 1, tzinfo=UTC), limit=4
                    )
                    found.append((event, [o.start for o in starts]))
                return found
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_yaml_schedule_imports_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schedule = tmp_path / "calendar.yaml"
    schedule.write_text(YAML)
    assert main(["events", "import", str(schedule), "-c", str(config(tmp_path))]) == 0
    assert (
        capsys.readouterr()
        .out.strip()
        .endswith("calendar.yaml: 2 added, 0 changed, 0 unchanged, 1 skipped (over)")
    )
    assert main(["events", "import", str(schedule), "-c", str(config(tmp_path))]) == 0
    assert "0 added, 0 changed, 2 unchanged" in capsys.readouterr().out
    (call, starts), (docathon, docathon_starts) = events_in(tmp_path)
    assert (
        call.timezone == "America/Los_Angeles" and call.link == "https://meet.example.org/community"
    )
    la = ZoneInfo("America/Los_Angeles")
    assert [s.astimezone(la).strftime("%m-%d %H:%M") for s in starts] == [
        "01-05 09:00",
        "01-19 09:00",
        "02-16 09:00",
        "03-02 09:00",
    ], "every two weeks at 09:00 local, 2027-02-02 skipped, across the March DST change"
    assert docathon.duration_min == 360 and docathon.timezone == "Europe/Paris"
    assert docathon_starts == [datetime(2027, 3, 1, 9, 0, tzinfo=UTC)]


def test_ics_file_with_zone_rule_and_exdate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paris = ZoneInfo("Europe/Paris")
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//test//EN")
    calendar.add("version", "2.0")
    meeting = icalendar.Event()
    meeting.add("uid", "core-meeting@example.org")
    meeting.add("summary", "Core meeting")
    meeting.add("dtstart", datetime(2027, 1, 4, 17, 0, tzinfo=paris))
    meeting.add("duration", timedelta(minutes=45))
    meeting.add("rrule", {"freq": "monthly", "byday": "1MO"})
    meeting.add("exdate", [datetime(2027, 2, 1, 17, 0, tzinfo=paris)])
    calendar.add_component(meeting)
    calendar.add_missing_timezones()
    source = tmp_path / "core.ics"
    source.write_bytes(calendar.to_ical())
    assert main(["events", "import", str(source), "-c", str(config(tmp_path))]) == 0
    assert "1 added" in capsys.readouterr().out
    [(event, starts)] = events_in(tmp_path)
    assert (event.uid, event.rrule, event.duration_min) == (
        "core-meeting@example.org",
        "FREQ=MONTHLY;BYDAY=1MO",
        45,
    )
    assert [s.astimezone(paris).strftime("%m-%d %H:%M") for s in starts] == [
        "01-04 17:00",
        "03-01 17:00",
        "04-05 17:00",
        "05-03 17:00",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("events: [", "not valid YAML"),
        ("- just a list\n", "expected a mapping with `events:`"),
        ("events:\n  - summary: Nothing\n", "event 1 'Nothing': no begin"),
        (
            "events:\n  - summary: Fast\n    begin: 2027-01-01 10:00:00\n"
            "    repeat: {interval: {fortnights: 1}, until: 2027-02-01}\n",
            "event 1 'Fast': repeat interval unit 'fortnights'",
        ),
        (
            "events:\n  - summary: Ok\n    begin: 2027-01-01 10:00:00\n"
            "  - summary: Bad\n    begin: someday\n",
            "event 2 'Bad': begin 'someday' is not a date",
        ),
    ],
)
def test_bad_files_import_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    schedule = tmp_path / "bad.yaml"
    schedule.write_text(text)
    assert main(["events", "import", str(schedule), "-c", str(config(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert "nothing was imported" in err and expected in err
    assert not (tmp_path / "events.db").exists() or events_in(tmp_path) == []


def exported_feed(tmp_path: Path, now: datetime) -> bytes:
    """Our own feed, with moves, a skip and DST-gap pins, from events made through commands."""
    paris = ZoneInfo("Europe/Paris")
    monday = (now + timedelta(days=7 - now.weekday())).astimezone(paris).date()
    sunday = monday + timedelta(days=6)
    lines = [
        f'!event create "Core meeting" start="{monday} 17:00" tz=Europe/Paris repeat=weekly',
        f"!event skip 1 {monday + timedelta(days=7)}",
        f'!event move 1 {monday + timedelta(days=14)} "{monday + timedelta(days=16)} 18:30"',
        f'!event create "Night owls" start="{sunday} 02:30" tz=Europe/Paris repeat=weekly',
        f'!event create "Sprint" start="{monday} 09:00" tz=Australia/Sydney repeat=biweekly',
        f'!event move 3 {monday + timedelta(days=28)} "{monday + timedelta(days=27)} 23:00"',
        f'!event create "Release party" start="{monday + timedelta(days=3)} 20:00" tz=UTC',
    ]

    async def build() -> bytes:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/source.db")
        try:
            await upgrade(engine)
            settings = parse_settings({"rooms": []})
            registry = build_bot(make_sessions(engine), settings, clock=lambda: now)
            omar = FakePlatform(registry).person("@omar:x", Role.ORGANIZER, "Omar")
            for line in lines:
                said = await omar.say(line)
                assert not said.reply.error, said.text
            return (await feed_page(registry.runtime.sessions, now)).body
        finally:
            await engine.dispose()

    return asyncio.run(build())


def instants_in(tmp_path: Path, after: datetime, before: datetime) -> list[tuple[str, datetime]]:
    async def read() -> list[tuple[str, datetime]]:
        engine = make_engine(f"sqlite:///{tmp_path}/events.db")
        try:
            async with make_sessions(engine)() as session:
                found = []
                for event in (await session.exec(select(Event).order_by(col(Event.id)))).all():
                    changes = await service.changes_of(session, event.id or 0)
                    found += [
                        (event.uid, o.start)
                        for o in service.expand(event, changes, after=after, before=before)
                    ]
                return sorted(found)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_our_feed_imports_with_its_moves_and_skips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exported and imported again, every series yields the instants a calendar app reads."""
    now = datetime.now(UTC)
    feed = exported_feed(tmp_path, now)
    calendar = icalendar.Calendar.from_ical(feed)
    overrides = [e for e in calendar.walk("VEVENT") if e.get("RECURRENCE-ID") is not None]
    assert len(overrides) >= 3, "two moves and at least one DST-gap pin"
    source = tmp_path / "convene.ics"
    source.write_bytes(feed)
    assert main(["events", "import", str(source), "-c", str(config(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"{source}: 4 added, 0 changed, 0 unchanged", "and no warnings"

    end = now + timedelta(days=400)
    in_feed = sorted(
        (str(e["UID"]), start)
        for e in recurring_ical_events.of(calendar).between(now, end)
        if (start := e.decoded("DTSTART").astimezone(UTC)) > now
    )
    imported = instants_in(tmp_path, now, end)
    assert imported == in_feed
    paris = ZoneInfo("Europe/Paris")
    local = {s.astimezone(paris).strftime("%a %H:%M") for _, s in imported}
    assert {"Wed 18:30", "Sun 03:00"} <= local, "the move, and 02:30 in the DST gap as 03:00"

    assert main(["events", "import", str(source), "-c", str(config(tmp_path))]) == 0
    assert capsys.readouterr().out.strip() == f"{source}: 0 added, 0 changed, 4 unchanged"


SERIES_FIELDS = "every occurrence has the title, duration, link and description of its series"


def weekly_with_overrides() -> icalendar.Calendar:
    paris = ZoneInfo("Europe/Paris")
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//test//EN")
    calendar.add("version", "2.0")
    series = icalendar.Event()
    series.add("uid", "sync@example.org")
    series.add("summary", "Weekly sync")
    series.add("dtstart", datetime(2027, 1, 4, 17, 0, tzinfo=paris))
    series.add("duration", timedelta(minutes=30))
    series.add("rrule", {"freq": "weekly"})
    calendar.add_component(series)

    def override(day: int, **fields: object) -> None:
        """Of the meeting on *day* January (32 is 1 February)."""
        original = datetime(2027, 1, 1, 17, 0, tzinfo=paris) + timedelta(days=day - 1)
        vevent = icalendar.Event()
        vevent.add("uid", fields.pop("uid", "sync@example.org"))
        vevent.add("recurrence-id", original)
        vevent.add("summary", fields.pop("summary", "Weekly sync"))
        vevent.add("dtstart", fields.pop("dtstart", original))
        vevent.add("duration", timedelta(minutes=30))
        for name, value in fields.items():
            vevent.add(name, value)
        calendar.add_component(vevent)

    series.add("exdate", [datetime(2027, 2, 1, 17, 0, tzinfo=paris)])
    override(11, dtstart=datetime(2027, 1, 12, 9, 0, tzinfo=paris), summary="Sync (Tuesday)")
    override(18, status="CANCELLED")
    override(25, summary="Sync with guests")
    override(32, dtstart=datetime(2027, 2, 2, 17, 0, tzinfo=paris))
    override(26)
    override(4, uid="elsewhere@example.org")
    return calendar


def test_ics_overrides_become_moves_and_skips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "sync.ics"
    source.write_bytes(weekly_with_overrides().to_ical())
    assert main(["events", "import", str(source), "-c", str(config(tmp_path))]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{source}: 1 added, 0 changed, 0 unchanged",
        "  warning: event 2 'Sync (Tuesday)': the occurrence of 2027-01-11 17:00 is moved, but "
        f"its own title is ignored; {SERIES_FIELDS}",
        "  warning: event 4 'Sync with guests': the occurrence of 2027-01-25 17:00: its own "
        f"title is ignored; {SERIES_FIELDS}",
        "  warning: event 5 'Weekly sync': 2027-02-01 17:00 is skipped (EXDATE or cancelled) "
        "and stays so; the override is ignored",
        "  warning: event 6 'Weekly sync': 2027-01-26 17:00 is not an occurrence of its "
        "series; ignored",
        "  warning: event 7 'Weekly sync': changes one occurrence of 'elsewhere@example.org', "
        "which is not in the file; ignored",
    ]
    [(event, starts)] = events_in(tmp_path)
    paris = ZoneInfo("Europe/Paris")
    assert [s.astimezone(paris).strftime("%m-%d %H:%M") for s in starts] == [
        "01-04 17:00",
        "01-12 09:00",
        "01-25 17:00",
        "02-08 17:00",
    ], "moved to Tuesday morning, the 18th cancelled, the 25th as the series has it, 1 Feb out"
    assert event.title == "Weekly sync"

    assert main(["events", "import", str(source), "-c", str(config(tmp_path))]) == 0
    assert capsys.readouterr().out.startswith(f"{source}: 0 added, 0 changed, 1 unchanged\n")


def test_ics_override_of_all_later_occurrences_imports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    calendar = weekly_with_overrides()
    later = calendar.walk("VEVENT")[-1]
    later["UID"] = "sync@example.org"
    later["RECURRENCE-ID"].params["RANGE"] = "THISANDFUTURE"
    source = tmp_path / "sync.ics"
    source.write_bytes(calendar.to_ical())
    assert main(["events", "import", str(source), "-c", str(config(tmp_path))]) == 1
    err = capsys.readouterr().err
    assert "nothing was imported" in err
    assert "event 7 'Weekly sync': RECURRENCE-ID with RANGE=THISANDFUTURE" in err
    assert not (tmp_path / "events.db").exists() or events_in(tmp_path) == []


def test_an_all_day_event_reads_as_its_dates_in_chat(tmp_path: Path) -> None:
    release = tmp_path / "release.yaml"
    release.write_text(
        "timezone: Pacific/Auckland\nevents:\n  - summary: Release day\n    begin: 2027-03-15\n"
    )
    sprint = tmp_path / "sprint.ics"
    sprint.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:sprint-week@example.org\r\nDTSTAMP:20270101T000000Z\r\nSUMMARY:Sprint week\r\n"
        "DTSTART;VALUE=DATE:20270322\r\nDTEND;VALUE=DATE:20270326\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )
    for schedule in (release, sprint):
        assert main(["events", "import", str(schedule), "-c", str(config(tmp_path))]) == 0

    async def chat() -> tuple[str, str]:
        engine = make_engine(f"sqlite:///{tmp_path}/events.db")
        try:
            now = datetime(2027, 3, 1, tzinfo=UTC)
            registry = build_bot(make_sessions(engine), clock=lambda: now)
            nina = FakePlatform(registry).person("@nina:x", Role.CONTRIBUTOR, "Nina")
            return (await nina.say("!event list days=60")).text, (
                await nina.say("!event show 2")
            ).text
        finally:
            await engine.dispose()

    listing, shown = asyncio.run(chat())
    assert "#1 Release day — Mon 15 Mar 2027, all day" in listing
    assert "#2 Sprint week — Mon 22 Mar to Thu 25 Mar 2027, all day" in listing
    assert "00:00" not in listing and "00:00" not in shown
    assert "Mon 22 Mar to Thu 25 Mar 2027, all day" in shown
