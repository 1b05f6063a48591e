"""`convene events import`: the yaml2ics format as yaml2ics reads it, zones that are not IANA
names, limits, --skip-invalid and progress; every YAML here is checked against yaml2ics."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Role
from bot.core.context import Caller
from bot.core.rooms import Rooms
from bot.identity import resolve_person
from cogs.events import limits
from cogs.events.importer import import_entries, read_schedule
from cogs.events.models import Event
from tests.support.calendars import (
    TWO_YEARS,
    YAML,
    Moment,
    Store,
    expected,
    import_file,
    reference_calendar,
    stored,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
CONSOLE = Caller("console", "you", "you", Role.ORGANIZER, "console")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(
    tmp_path: Path,
    name: str,
    text: str | bytes,
    *,
    skip: bool = False,
    err: io.StringIO | None = None,
) -> tuple[int, str, str, Store]:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    store = Store(tmp_path / "events.db")
    out, err = io.StringIO(), err or io.StringIO()
    code = import_file(path, store, out, err, now=NOW, skip_invalid=skip)
    return code, out.getvalue(), err.getvalue(), store


def events(store: Store) -> list[Event]:
    async def read(session: AsyncSession) -> list[Event]:
        return list((await session.exec(select(Event).order_by(Event.id))).all())  # type: ignore[arg-type]

    return store.run(read)


def same_as_yaml2ics(path: Path, store: Store) -> None:
    async def ours(session: AsyncSession) -> list[Moment]:
        return await stored(session, NOW, NOW + TWO_YEARS)

    assert store.run(ours) == expected(reference_calendar(path), NOW, NOW + TWO_YEARS)


def test_the_import_tests_schedule_reads_as_yaml2ics_reads_it(tmp_path: Path) -> None:
    code, _out, err, store = run(tmp_path, "calendar.yaml", YAML)
    assert code == 0, err
    same_as_yaml2ics(tmp_path / "calendar.yaml", store)


COMMUNITY = """\
name: NumPy-like community
timezone: America/Los_Angeles
events:
  - summary: Community call
    begin: 2022-07-20 16:00:00 +00:00
    duration: {hours: 1}
    ics: RRULE:FREQ=WEEKLY;BYDAY=WE;INTERVAL=1
  - summary: Monthly on the second Friday
    begin: 2023-09-08 09:00:00
    end: 2023-09-08 10:00:00
    ics: |
      RRULE:FREQ=MONTHLY;BYDAY=2FR
      EXDATE;TZID=America/Los_Angeles:20270108T090000
"""


def test_ics_lines_give_every_upcoming_meeting(tmp_path: Path) -> None:
    """Live calendars repeat with `ics: RRULE:…`; each used to come in as one past meeting."""
    code, out, _err, store = run(tmp_path, "community.yaml", COMMUNITY)
    assert (code, out.strip()) == (0, f"{tmp_path}/community.yaml: 2 added, 0 changed, 0 unchanged")
    call, monthly = events(store)
    assert call.rrule == "FREQ=WEEKLY;INTERVAL=1;BYDAY=WE" and call.timezone == "UTC"
    assert monthly.rrule == "FREQ=MONTHLY;BYDAY=2FR"
    assert monthly.timezone == "America/Los_Angeles"
    same_as_yaml2ics(tmp_path / "community.yaml", store)


def test_includes_are_read_relative_to_the_file_and_cycles_refused(tmp_path: Path) -> None:
    (tmp_path / "teams").mkdir()
    (tmp_path / "teams" / "docs.yaml").write_text(
        "timezone: Europe/Paris\nevents:\n  - summary: Docs\n    begin: 2027-01-05 17:00:00\n"
        "    duration: {minutes: 30}\n"
    )
    code, _out, err, store = run(
        tmp_path, "main.yaml", "name: All\ninclude:\n  - teams/docs.yaml\nevents: []\n"
    )
    assert code == 0, err
    [docs] = events(store)
    assert (docs.title, docs.timezone) == ("Docs", "Europe/Paris")
    same_as_yaml2ics(tmp_path / "main.yaml", store)

    (tmp_path / "teams" / "docs.yaml").write_text("include:\n  - ../main.yaml\n")
    code, _, err, _ = run(tmp_path, "main.yaml", "include:\n  - teams/docs.yaml\n")
    assert code == 1 and "includes itself, in a cycle" in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: Nothing planned yet\n", "0 added, 0 changed, 0 unchanged"),
        (
            "events:\n  - begin: 2027-01-05 10:00:00\n    duration: {minutes: 30}\n",
            "1 added, 0 changed, 0 unchanged",
        ),
    ],
)
def test_what_yaml2ics_accepts_imports(tmp_path: Path, text: str, expected: str) -> None:
    code, out, err, store = run(tmp_path, "ok.yaml", text)
    assert code == 0 and expected in out, err
    assert [e.title for e in events(store)] in ([], [limits.UNTITLED])


def test_an_all_day_event_is_dates_in_the_feed(tmp_path: Path) -> None:
    code, _, err, store = run(
        tmp_path, "day.yaml", "events:\n  - summary: Release\n    begin: 2027-03-15 13:00:00\n"
    )
    assert code == 0, err
    [release] = events(store)
    assert (release.all_day, release.start_local, release.duration_min) == (
        True,
        datetime(2027, 3, 15, 0, 0),
        1440,
    )


ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nevents: [*g]\n"
)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "bomb.yaml",
            ALIAS_BOMB,
            "the YAML expands to over 200,000 values (200,001, aliases counted where they are",
        ),
        ("deep.yaml", "events: " + "[" * 5000, "YAML"),
        ("big.ics", b"X" * (limits.MAX_FILE_BYTES + 1), "larger than 5 MiB: split it"),
        (
            "long.yaml",
            "events:\n  - summary: Long\n    begin: 2027-01-05 10:00:00\n"
            "    duration: {days: 100000}\n",
            "event 1 'Long': the length from DTSTART to DURATION is 100,000 days: an event "
            "lasts at most 31 days",
        ),
        (
            "backwards.yaml",
            "events:\n  - summary: Back\n    begin: 2027-01-05 10:00:00\n"
            "    end: 2027-01-05 09:00:00\n",
            "event 1 'Back': the length from DTSTART to DTEND must be positive",
        ),
        (
            "far.yaml",
            "events:\n  - summary: Far\n    begin: 9999-12-31 10:00:00\n    duration: {hours: 1}\n",
            "event 1 'Far': DTSTART 9999-12-31 10:00 is out of range: dates go from 1970 to 2200",
        ),
        (
            "title.yaml",
            "events:\n  - summary: " + "t" * 201 + "\n    begin: 2027-01-05 10:00:00\n",
            "SUMMARY is too long (201 characters): keep it to 200",
        ),
        (
            "text.yaml",
            "events:\n  - summary: Big\n    begin: 2027-01-05 10:00:00\n    description: "
            + "d" * 1_000_000
            + "\n",
            "event 1 'Big': DESCRIPTION is too long (1,000,000 characters): keep it to 2,000",
        ),
        (
            "unknown.yaml",
            "events:\n  - summary: Odd\n    begin: 2027-01-05 10:00:00\n    colour: red\n",
            "event 1 'Odd': unknown key 'colour'; yaml2ics knows summary, begin",
        ),
        (
            "ics.yaml",
            "events:\n  - summary: Odd\n    begin: 2027-01-05 10:00:00\n    ics: RRULE\n",
            "event 1 'Odd': ics: 'RRULE' is not NAME:VALUE",
        ),
        (
            "stall.yaml",
            "events:\n  - summary: Leap\n    begin: 2044-02-29 10:00:00\n    ics: RRULE:FREQ="
            "SECONDLY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=10;BYMINUTE=0;BYSECOND=0\n",
            "event 1 'Leap': RRULE: FREQ=SECONDLY with INTERVAL=7",
        ),
    ],
)
def test_limits_refuse_with_a_reason(
    tmp_path: Path, name: str, text: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each is refused before the costly part, which is proven rather than timed: no rule
    reaches dateutil (the leap-day one would keep it busy for minutes), and an alias bomb is
    counted only up to the limit, never built."""

    def expanded(*_: object) -> Iterator[datetime]:
        raise AssertionError("a refused RRULE was expanded")

    monkeypatch.setattr("cogs.events.recurrence._dateutil", expanded)
    code, _out, err, store = run(tmp_path, name, text)
    assert code == 1 and "nothing was imported" in err and expected in err, err
    assert events(store) == []


def test_line_numbers_name_where_in_the_file(tmp_path: Path) -> None:
    text = (
        "events:\n  - summary: Ok\n    begin: 2027-01-05 10:00:00\n  - summary: Bad\n    begin: x\n"
    )
    _code, _, err, _ = run(tmp_path, "lines.yaml", text)
    assert "event 2 'Bad': begin 'x' is not a date or date and time" in err
    assert "(line 4)" in err


CALENDAR = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VTIMEZONE
TZID:/Europe/CUSTOM
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VTIMEZONE
TZID:Nowhere Time
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0117
TZOFFSETTO:+0117
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:custom@test
SUMMARY:Custom zone
DTSTART;TZID=/Europe/CUSTOM:20270104T170000
RRULE:FREQ=WEEKLY
END:VEVENT
BEGIN:VEVENT
UID:windows@test
SUMMARY:Windows zone
DTSTART;TZID=W. Europe Standard Time:20270105T170000
RRULE:FREQ=WEEKLY
END:VEVENT
BEGIN:VEVENT
UID:untitled@test
DTSTART:20270106T170000Z
END:VEVENT
{extra}END:VCALENDAR
"""


def test_zones_that_are_not_iana_names_keep_their_offsets(tmp_path: Path) -> None:
    code, _out, err, store = run(tmp_path, "zones.ics", CALENDAR.format(extra=""))
    assert code == 0, err
    custom, windows, untitled = events(store)
    assert custom.timezone.startswith("Europe/"), "same transitions as Paris, never UTC"
    assert windows.timezone == "Europe/Berlin"
    assert untitled.title == limits.UNTITLED

    async def ours(session: AsyncSession) -> list[Moment]:
        return await stored(session, NOW, NOW + TWO_YEARS)

    summer = [m for m in store.run(ours) if isinstance(m, datetime) and m.month == 7]
    assert summer and {m.hour for m in summer} == {15}, "17:00 CEST is 15:00 UTC"


def test_a_vtimezone_like_no_iana_zone_is_refused_by_name(tmp_path: Path) -> None:
    nowhere = (
        "BEGIN:VEVENT\nUID:nowhere@test\nSUMMARY:Nowhere\n"
        "DTSTART;TZID=Nowhere Time:20270107T170000\nEND:VEVENT\n"
    )
    code, _, err, store = run(tmp_path, "zones.ics", CALENDAR.format(extra=nowhere))
    assert code == 1
    assert "event 4 'Nowhere': the VTIMEZONE of TZID 'Nowhere Time' matches no IANA" in err
    assert "(line 43)" in err
    assert events(store) == []

    code, out, err, store = run(tmp_path, "zones.ics", CALENDAR.format(extra=nowhere), skip=True)
    assert code == 0 and "3 added" in out
    assert "  skipped: event 4 'Nowhere': the VTIMEZONE of TZID 'Nowhere Time'" in out


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("DTSTART:20270230T100000Z", "DTSTART cannot be read"),
        ("DTSTART:INVALID", "DTSTART cannot be read"),
        ("DTSTART:20270101T100000Z\nDTSTART:20270102T100000Z", "DTSTART appears 2 times"),
        ("DTSTART:20270101T100000Z\nDURATION:PXYZ", "DURATION cannot be read"),
        (
            "DTSTART:20270101T100000Z\nRRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY",
            "RRULE appears 2 times",
        ),
        ("DTSTART:00010101T100000Z", "DTSTART"),
        ("DTSTART:20270101T100000Z\nRRULE:FREQ=WEEKLY;BYDAY=MO, TU", "RRULE"),
        ("SUMMARY:No start", "no DTSTART: an event needs a start"),
    ],
)
def test_broken_properties_are_named_never_a_traceback(
    tmp_path: Path, line: str, message: str
) -> None:
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:bad@x\n{line}\nEND:VEVENT\nEND:VCALENDAR\n"
    code, _, err, _ = run(tmp_path, "bad.ics", text)
    assert code == 1 and "Traceback" not in err
    assert "event 1" in err and message in err and "(line 4)" in err, err


def test_progress_shows_on_a_terminal_only(tmp_path: Path) -> None:
    lines = "".join(
        f"  - summary: Call {n}\n    begin: 2027-01-{n:02d} 10:00:00\n    duration: {{minutes: 30}}\n"
        for n in range(1, 21)
    )
    terminal = Terminal()
    code, _, _, _ = run(tmp_path, "many.yaml", "events:\n" + lines, err=terminal)
    assert code == 0
    assert "event 20 of 20" in terminal.getvalue() and terminal.getvalue().endswith("\r\x1b[K")
    code, _, err, _ = run(tmp_path, "many.yaml", "events:\n" + lines)
    assert code == 0 and err == ""


def test_times_in_a_dst_gap_keep_their_wall_time(tmp_path: Path) -> None:
    paris = ZoneInfo("Europe/Paris")
    code, _, err, store = run(
        tmp_path,
        "gap.yaml",
        "timezone: Europe/Paris\nevents:\n  - summary: Night\n    begin: 2027-03-28 02:30:00\n"
        "    duration: {minutes: 30}\n",
    )
    assert code == 0, err
    [night] = events(store)
    assert night.start_local == datetime(2027, 3, 28, 2, 30)
    assert night.next_start is not None
    assert night.next_start.astimezone(paris).hour == 3
    assert night.next_start - timedelta(hours=1) == datetime(2027, 3, 28, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    [
        "recurring-ical-events/calendars/issue_173_only_modifications_error.ics",
        "recurring-ical-events/calendars/Germany.ics",
        "scientific-python/calendars/numpy.yaml",
        "convene/features.yaml",
    ],
)
async def test_large_and_long_files_fit_both_stores(
    sessions: async_sessionmaker[AsyncSession], name: str
) -> None:
    """PostgreSQL enforces every column's length, so what SQLite stores must fit it too."""
    path = Path(__file__).parent / "data" / name
    schedule = read_schedule(
        path.name,
        path.read_bytes(),
        ZoneInfo("UTC"),
        now=NOW - timedelta(days=3650),
        opener=lambda relative: (path.parent / relative).read_bytes(),
    )
    async with sessions() as session:
        person = await resolve_person(session, CONSOLE, NOW)
        report = await import_entries(
            session,
            schedule.entries,
            person_id=person,
            rooms=Rooms(),
            now=NOW - timedelta(days=3650),
        )
        await session.commit()
    assert report.added == len(schedule.entries) - report.ended
