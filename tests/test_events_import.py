"""`convene events import` for .ics and yaml2ics YAML files, as organizers would run it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from bot.__main__ import main
from bot.db import make_engine, make_sessions
from cogs.events import service
from cogs.events.models import Event

YAML = """\
name: Scientific Python community
timezone: America/Los_Angeles
events:
  - summary: Community call
    begin: 2027-01-05 09:00:00
    duration: {minutes: 60}
    location: https://meet.example.org/community
    repeat:
      interval: {weeks: 2}
      until: 2027-12-31
      except_on:
        - 2027-02-02
  - summary: Docathon
    timezone: Europe/Paris
    begin: 2027-03-01 10:00:00
    end: 2027-03-01 16:00:00
  - summary: Long gone
    begin: 2021-09-21 15:00:00
"""


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
                    event = await service.get_event(session, event_id)
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
        ("name: x\n", "expected a mapping with an `events:` list"),
        ("events:\n  - begin: 2027-01-01 10:00:00\n", "event 1 '': no summary"),
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
