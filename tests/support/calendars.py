"""Calendar files as recurring-ical-events reads them, and the same occurrences from our store.

The reference for an .ics file is recurring-ical-events on the file; for a yaml2ics schedule it
is recurring-ical-events on yaml2ics's own conversion of it. One correction applies to that
conversion: yaml2ics writes a date in ``except_on`` as ``EXDATE;TZID=…:20270202``, a date with
a zone, which recurring-ical-events ignores although it skips the day for ``EXDATE;VALUE=DATE``
(what the YAML means, and what Convene does); such values are rewritten to the latter.

Occurrences compare as instants in UTC, or as days for all-day ones; floating times are read in
UTC, the zone the tests configure.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO, TypeVar

import icalendar
import recurring_ical_events
import yaml2ics
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.__main__ import Tools, run_command
from bot.config import Settings, parse_settings
from bot.db import make_engine, make_sessions
from bot.schema import upgrade
from cogs.events import cli as events_cli
from cogs.events import service
from cogs.events.models import Event

T = TypeVar("T")
Moment = datetime | date
YAML_SUFFIXES = (".yaml", ".yml")
TWO_YEARS = timedelta(days=731)


def is_yaml(path: Path) -> bool:
    return path.suffix.lower() in YAML_SUFFIXES


def reference_calendar(path: Path) -> icalendar.Calendar:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not is_yaml(path):
            return icalendar.Calendar.from_ical(path.read_bytes())
        text = yaml2ics.files_to_calendar([str(path)]).serialize()
        return icalendar.Calendar.from_ical(_date_exdates(text))


def _date_exdates(text: str) -> str:
    lines = []
    for line in text.splitlines():
        found = re.fullmatch(r"EXDATE;TZID=([^:]+):(.*)", line)
        if found is None:
            lines.append(line)
            continue
        values = found[2].split(",")
        days = [value for value in values if re.fullmatch(r"\d{8}", value)]
        times = [value for value in values if value not in days]
        if times:
            lines.append(f"EXDATE;TZID={found[1]}:{','.join(times)}")
        if days:
            lines.append(f"EXDATE;VALUE=DATE:{','.join(days)}")
    return "\r\n".join(lines) + "\r\n"


def moment(value: Moment) -> Moment:
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def order(value: Moment) -> tuple[date, str]:
    return (value.date() if isinstance(value, datetime) else value), str(value)


def without_orphans(calendar: icalendar.Calendar) -> icalendar.Calendar:
    """The calendar without overrides of series it does not hold, which Convene ignores (with
    a warning) where recurring-ical-events shows each as an event of its own."""
    masters = {
        str(vevent.get("UID"))
        for vevent in calendar.walk("VEVENT")
        if vevent.get("RECURRENCE-ID") is None
    }
    for component in calendar.walk():
        component.subcomponents = [
            sub
            for sub in component.subcomponents
            if not (
                sub.name == "VEVENT"
                and sub.get("RECURRENCE-ID") is not None
                and str(sub.get("UID")) not in masters
            )
        ]
    return calendar


def expected(calendar: icalendar.Calendar, after: datetime, before: datetime) -> list[Moment]:
    """Starts strictly after *after* and before *before*; cancelled occurrences left out."""
    calendar = without_orphans(calendar)
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for vevent in recurring_ical_events.of(calendar).between(after, before):
            start = moment(vevent.decoded("DTSTART"))
            if start <= (after if isinstance(start, datetime) else after.date()):
                continue
            if str(vevent.get("STATUS", "")).upper() == "CANCELLED":
                continue
            found.append(start)
    return sorted(found, key=order)


def first_start(calendar: icalendar.Calendar) -> datetime | None:
    starts = []
    for vevent in calendar.walk("VEVENT"):
        try:
            start = moment(vevent.decoded("DTSTART"))
        except Exception:
            continue
        if not isinstance(start, datetime):
            start = datetime.combine(start, datetime.min.time(), UTC)
        starts.append(start)
    return min(starts, default=None)


async def stored(session: AsyncSession, after: datetime, before: datetime) -> list[Moment]:
    found: list[Moment] = []
    for event in (await session.exec(select(Event))).all():
        changes = await service.changes_of(session, event.id or 0)
        zone = service.zone_of(event)
        for occurrence in service.expand(event, changes, after=after, before=before):
            start = occurrence.start
            all_day = getattr(event, "all_day", False)  # absent before all-day events existed
            found.append(start.astimezone(zone).date() if all_day else start)
    return sorted(found, key=order)


# A yaml2ics schedule as scientific-python keeps one: a series with a skip, a one-off in
# another zone, and one long past.
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


def import_file(
    path: Path, store: Store, out: TextIO, err: TextIO, *, now: datetime, skip_invalid: bool = False
) -> int:
    """`convene events import` of *path* into *store*, as the program runs it, at *now*."""
    tools = Tools(store.settings(), out, err, clock=lambda: now)
    args = argparse.Namespace(file=path, skip_invalid=skip_invalid)
    return run_command(events_cli.COMMANDS[0], args, tools)


class Store:
    """A migrated SQLite store in a file, copied from one made once, and a runner for it."""

    def __init__(self, path: Path, template: Path | None = None) -> None:
        self.path = path
        if template is not None:
            shutil.copy(template, path)
        else:
            asyncio.run(self._migrate())

    @property
    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self.path}"

    def settings(self) -> Settings:
        return parse_settings({"store": {"url": self.url}, "bot": {"timezone": "UTC"}})

    async def _migrate(self) -> None:
        engine = make_engine(self.url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async def once() -> T:
            engine = make_engine(self.url)
            try:
                async with make_sessions(engine)() as session:
                    result = await work(session)
                    await session.commit()
                    return result
            finally:
                await engine.dispose()

        return asyncio.run(once())
