"""`convene events import FILE`: an .ics calendar or a yaml2ics YAML schedule, into the store.

Every event is checked first. By default nothing is written unless all of them are valid, so a
file is never half-imported; with ``skip_invalid`` the valid ones are kept and each refused one
is listed with its reason. A refusal names the event (its title, else its UID, and its line),
the property and what is wrong with it, and no input gives a traceback: whatever a library
raises on a broken file becomes such a refusal. Events keep a stable UID (the file's, or one
derived from title and start), so importing the same file again changes nothing and an edited
file updates its events.

What RFC 5545 makes optional stays optional: an event without SUMMARY gets a visible
placeholder title, one without an end lasts an hour (a day when all-day). A DTSTART that its
RRULE does not match is, as RFC 5545 says, an extra occurrence: the series starts at the rule's
first occurrence and the DTSTART is added as an RDATE. A start before 1970 is moved, on the
rule's grid, to the first occurrence from 1970. A date in EXDATE skips the occurrences of that
day. Zones are read by `zones`: never silently UTC.

An .ics override of one occurrence (a VEVENT with RECURRENCE-ID) becomes what the bot can hold
for one occurrence: a move when its DTSTART differs, a skip when it is STATUS:CANCELLED. An
occurrence cannot have its own title, duration, link or description here, so such differences
are ignored and reported as warnings, as are overrides of a series missing from the file or of
an instant that is not one of its occurrences; RANGE=THISANDFUTURE, which would change every
later occurrence, is refused. Skips and moves in the file are added to those the bot has; one
made in the bot (`event skip`, `event move`) and absent from the file is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from icalendar.error import GloballyUniqueTZIDGuessed
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import markup
from bot.core.errors import UserError
from bot.core.rooms import Rooms
from cogs.events import limits, service, zones
from cogs.events.models import KINDS, TIERS, Event, EventRoom
from cogs.events.recurrence import (
    RecurrenceError,
    build_rrule,
    first_of_rule,
    occurrences,
    to_utc,
)

DEFAULT_MINUTES = 60
PLANNING_SPAN = timedelta(days=731)
_EXAMPLE_START = "e.g. DTSTART;TZID=Europe/Paris:20270104T170000"

Progress = Callable[[int, int], None]


class ScheduleError(Exception):
    """Every problem in the file, one per line; nothing was imported."""


class Problem(ValueError):
    """What is wrong with one event; its label is added by the caller."""


@dataclass
class Entry:
    uid: str
    title: str
    start_local: datetime
    zone: ZoneInfo
    rrule: str | None
    duration_min: int
    link: str | None
    description: str | None
    skips: list[datetime] = field(default_factory=list)
    moves: dict[datetime, datetime] = field(default_factory=dict)
    rdates: list[datetime] = field(default_factory=list)
    all_day: bool = False
    kind: str | None = None
    tier: str | None = None
    sequence: int = 0
    stamp: datetime | None = None
    label: str = ""


@dataclass
class Schedule:
    entries: list[Entry]
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    name: str | None = None


@dataclass(frozen=True)
class Report:
    added: int
    changed: int
    unchanged: int
    ended: int

    def __str__(self) -> str:
        return f"{self.added} added, {self.changed} changed, {self.unchanged} unchanged" + (
            f", {self.ended} skipped (over)" if self.ended else ""
        )


@dataclass
class Context:
    """What reading one file needs besides its events: zones, the clock, progress."""

    default: ZoneInfo
    now: datetime
    vtimezones: dict[str, icalendar.Timezone] = field(default_factory=dict)
    calendar_zone: ZoneInfo | None = None
    """X-WR-TIMEZONE: where a floating or UTC time is read, as recurring-ical-events does."""
    progress: Progress | None = None
    _zones: dict[tuple[str, date, date], ZoneInfo] = field(default_factory=dict)

    def zone(self, tzid: str, span: zones.Span) -> ZoneInfo:
        key = (tzid, span[0].date(), span[1].date())
        if key not in self._zones:
            try:
                self._zones[key] = zones.resolve(tzid, self.vtimezones.get(tzid), span)
            except zones.ZoneError as exc:
                raise Problem(str(exc)) from None
        return self._zones[key]


def read_ics(
    data: bytes, ctx: Context, *, skip_invalid: bool = False, first_line: int = 1
) -> Schedule:
    try:
        with warnings.catch_warnings():
            # icalendar guesses what a "globally unique" TZID means; `zones` decides instead.
            warnings.simplefilter("ignore", GloballyUniqueTZIDGuessed)
            calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except Exception as exc:
        raise ScheduleError(f"not a valid iCalendar file: {_short(exc)}") from None
    if not calendars:
        raise ScheduleError(
            "not a valid iCalendar file: it must hold BEGIN:VCALENDAR … END:VCALENDAR, with "
            "each BEGIN matched by its END"
        )
    events: list[icalendar.Component] = []
    for calendar in calendars:
        if ctx.calendar_zone is None and calendar.get("X-WR-TIMEZONE"):
            ctx.calendar_zone = zones.by_name(str(calendar["X-WR-TIMEZONE"]))
        for component in calendar.walk("VTIMEZONE"):
            if isinstance(component, icalendar.Timezone):
                ctx.vtimezones.setdefault(str(component.get("TZID", "")), component)
        events += calendar.walk("VEVENT")
    starts = _begin_lines(data, first_line)
    method = any(calendar.get("METHOD") for calendar in calendars)
    return read_vevents(events, ctx, lines=starts, skip_invalid=skip_invalid, method=method)


@dataclass
class _Reading:
    """What reading a file's VEVENTs has found so far."""

    series: dict[str, Entry] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def problem(self, key: str, message: str) -> None:
        self.problems.setdefault(key, []).append(message)

    def add(self, entry: Entry, number: int, label: str, where: str) -> None:
        """Keep *entry*; of two series with one UID, the higher SEQUENCE, and two of the same
        SEQUENCE are a problem, since calendar apps show only one of them."""
        if (earlier := self.series.get(entry.uid)) is not None:
            if entry.sequence == earlier.sequence:
                self.problem(
                    f"{entry.uid}#{number}",
                    f"{label}: UID {entry.uid!r} is also on {earlier.label}, with the same "
                    "SEQUENCE, so calendar apps show only one of them; give each series its "
                    f"own UID{where}",
                )
                return
            kept = entry if entry.sequence > earlier.sequence else earlier
            self.warnings.append(
                f"{label}: UID {entry.uid!r} is also on {earlier.label}; the one with the "
                f"higher SEQUENCE is kept, {kept.label}"
            )
            entry = kept
        self.series[entry.uid] = entry
        self.order.setdefault(entry.uid, number)


def read_vevents(
    events: Sequence[icalendar.Component],
    ctx: Context,
    *,
    lines: Sequence[int | None] = (),
    labels: Sequence[str] = (),
    skip_invalid: bool = False,
    method: bool = False,
) -> Schedule:
    """Entries from VEVENTs: series first, then each override applied to its series."""
    if len(events) > limits.MAX_EVENTS_PER_FILE:
        raise ScheduleError(
            f"{len(events):,} events: a file may hold at most {limits.MAX_EVENTS_PER_FILE:,}; "
            "split it"
        )
    reading = _Reading()
    overrides: list[tuple[str, str, icalendar.Component]] = []
    for number, vevent in enumerate(events, 1):
        if ctx.progress is not None:
            ctx.progress(number, len(events))
        line = lines[number - 1] if number <= len(lines) else None
        label = labels[number - 1] if number <= len(labels) else _label(number, vevent)
        if vevent.get("RECURRENCE-ID") is not None:
            overrides.append((label, _where(line), vevent))
        elif vevent.get("DTSTART") is None and method:
            reading.warnings.append(
                f"{label}: has no start (DTSTART), so nothing to schedule; left out"
            )
        elif (entry := _read_series(vevent, ctx, label, _where(line), reading)) is not None:
            reading.add(entry, number, label, _where(line))
    for label, where, vevent in overrides:
        _read_override(vevent, ctx, label, where, reading)
    refused = [message for messages in reading.problems.values() for message in messages]
    if refused and not skip_invalid:
        raise ScheduleError("\n".join(refused))
    valid = [entry for uid, entry in reading.series.items() if uid not in reading.problems]
    valid.sort(key=lambda entry: reading.order[entry.uid])
    return Schedule(valid, reading.warnings, refused)


def _read_series(
    vevent: icalendar.Component, ctx: Context, label: str, where: str, reading: _Reading
) -> Entry | None:
    """The entry of one series, or None with the problem noted: never a traceback."""
    uid = _uid_of(vevent) or label
    try:
        return _entry(vevent, ctx, label)
    except (Problem, UserError, ValueError) as exc:
        reading.problem(uid, f"{label}: {_message(exc)}{where}")
    except Exception as exc:
        reading.problem(uid, f"{label}: cannot be read ({_short(exc)}){where}")
    return None


def _read_override(
    vevent: icalendar.Component, ctx: Context, label: str, where: str, reading: _Reading
) -> None:
    uid = _uid_of(vevent)
    try:
        if warning := _apply_override(vevent, reading.series, ctx):
            reading.warnings.append(f"{label}: {warning}")
    except (Problem, UserError, ValueError) as exc:
        reading.problem(uid, f"{label}: {_message(exc)}{where}")
    except Exception as exc:
        reading.problem(uid, f"{label}: cannot be read ({_short(exc)}){where}")


def _start_and_rule(vevent: icalendar.Component) -> tuple[Any, str | None]:
    """DTSTART and the RRULE as text, both checked for what can be read at all."""
    _check_broken(vevent, ("DTSTART", "DTEND", "DURATION", "RRULE", "EXDATE", "RDATE"))
    start_prop = _single(vevent, "DTSTART")
    if start_prop is None:
        raise Problem(f"no DTSTART: an event needs a start, {_EXAMPLE_START}")
    rule_prop = _single(vevent, "RRULE")
    rule = None if rule_prop is None else rule_prop.to_ical().decode()
    if rule is not None and "RSCALE" in rule.upper():
        raise Problem("RRULE: RSCALE (a non-Gregorian calendar, RFC 7529) is not supported")
    start_value = start_prop.dt
    if not isinstance(start_value, date):
        raise Problem(f"DTSTART is not a date or date and time, {_EXAMPLE_START}")
    if start_value.year > limits.LAST_YEAR or (
        start_value.year < limits.FIRST_YEAR and rule is None
    ):
        limits.check_day(start_value, "DTSTART")
    return start_prop, rule


def _title(vevent: icalendar.Component) -> str:
    return markup.defuse(_text(vevent, "SUMMARY") or limits.UNTITLED)


def _details(vevent: icalendar.Component, link: str | None) -> str | None:
    description = _description(vevent, link)
    return None if description is None else markup.defuse(description)


def _entry(vevent: icalendar.Component, ctx: Context, label: str) -> Entry:
    start_prop, rule = _start_and_rule(vevent)
    start_value = start_prop.dt
    end_value = getattr(vevent.get("DTEND"), "dt", None)
    length_value = getattr(vevent.get("DURATION"), "dt", None)
    all_day = (
        not isinstance(start_value, datetime)
        and not isinstance(end_value, datetime)
        and not (isinstance(length_value, timedelta) and length_value % timedelta(days=1))
    )
    span = _span(start_value, rule, ctx.now)
    start_local, zone = _wall(start_prop, ctx, span, "DTSTART")
    if not isinstance(start_value, datetime):
        zone = ctx.default
    if rule is not None and _zoned(start_prop, ctx):
        rule = re.sub(r"(UNTIL=\d{8}T\d{6})(?![\dZ])", r"\1Z", rule, flags=re.IGNORECASE)
    title = _title(vevent)
    limits.check_text(title, limits.MAX_TITLE, "SUMMARY")
    link = _link(vevent.get("URL"), vevent.get("LOCATION"))
    description = _details(vevent, link)
    limits.check_text(description, limits.MAX_DESCRIPTION, "DESCRIPTION")
    duration_min = _minutes(vevent, start_prop, start_local, zone, ctx, span, all_day)
    rdates: list[datetime] = []
    stored = None
    if rule is not None:
        start_local, stored, extra = _series(rule, start_local, zone)
        rdates += extra
    limits.check_day(start_local, "DTSTART")
    entry = Entry(
        uid=_uid_of(vevent) or _uid(title, start_local),
        title=title,
        start_local=start_local,
        zone=zone,
        rrule=stored,
        duration_min=duration_min,
        link=link,
        description=description,
        all_day=all_day,
        sequence=_sequence(vevent),
        stamp=_stamp(vevent),
        label=label,
    )
    entry.kind, entry.tier = _categories(vevent)
    rdates += _dates(vevent, "RDATE", ctx, span, entry)
    entry.rdates = sorted(set(rdates))
    entry.skips += _dates(vevent, "EXDATE", ctx, span, entry)
    return entry


def _series(
    rule: str, start_local: datetime, zone: ZoneInfo
) -> tuple[datetime, str | None, list[datetime]]:
    """The stored rule and its start; the DTSTART as an RDATE when the rule does not match it."""
    try:
        return _anchored(rule, start_local, zone)
    except RecurrenceError as exc:
        raise Problem(f"RRULE: {exc.message}") from None


def _anchored(
    rule: str, start_local: datetime, zone: ZoneInfo
) -> tuple[datetime, str | None, list[datetime]]:
    extra: list[datetime] = []
    if start_local.year < limits.FIRST_YEAR:
        later = occurrences(
            start_local, zone, rule, after=datetime(limits.FIRST_YEAR, 1, 2, tzinfo=UTC), limit=1
        )
        if not later:
            raise Problem(
                f"DTSTART {start_local:%Y-%m-%d} is before {limits.FIRST_YEAR} and the series "
                f"ends before then; dates go from {limits.FIRST_YEAR} to {limits.LAST_YEAR}"
            )
        start_local = later[0].start.astimezone(zone).replace(tzinfo=None)
    anchor = first_of_rule(rule, start_local)
    if anchor is not None and anchor != start_local:
        found = occurrences(anchor, zone, rule, after=to_utc(anchor, zone) - _TICK, limit=1)
        extra.append(to_utc(start_local, zone))
        if not found:
            return start_local, None, []
        start_local = anchor
    return start_local, build_rrule(rule, start_local, zone), extra


_TICK = timedelta(microseconds=1)


def _minutes(
    vevent: icalendar.Component,
    start_prop: Any,
    start_local: datetime,
    zone: ZoneInfo,
    ctx: Context,
    span: zones.Span,
    all_day: bool,
) -> int:
    end_prop, length_prop = _single(vevent, "DTEND"), _single(vevent, "DURATION")
    if end_prop is not None and length_prop is not None:
        raise Problem("has both DTEND and DURATION; keep one")
    if length_prop is not None:
        length = length_prop.dt
        if not isinstance(length, timedelta):
            raise Problem("DURATION is not a duration, e.g. DURATION:PT1H30M")
        what = "DURATION"
    elif end_prop is not None:
        if not isinstance(end_prop.dt, date):
            raise Problem("DTEND is not a date or date and time")
        end_local, end_zone = _wall(end_prop, ctx, span, "DTEND")
        if all_day:
            days = (end_local.date() - start_local.date()).days
            length = timedelta(days=days + (1 if isinstance(end_prop.dt, datetime) else 0))
        elif isinstance(end_prop.dt, datetime):
            length = to_utc(end_local, end_zone) - to_utc(start_local, zone)
        else:
            length = to_utc(end_local, zone) - to_utc(start_local, zone)
        what = "DTEND"
    else:
        return 1440 if all_day else DEFAULT_MINUTES
    if length == timedelta(0):
        return 1440 if all_day else 0
    try:
        limits.check_duration(length, f"the length from DTSTART to {what}")
    except limits.LimitError as exc:
        raise Problem(exc.message) from None
    return int(length.total_seconds() // 60)


def _dates(
    vevent: icalendar.Component, name: str, ctx: Context, span: zones.Span, entry: Entry
) -> Iterator[datetime]:
    """The instants of EXDATE or RDATE; a date stands for the series' occurrences that day."""
    found = vevent.get(name)
    for group in found if isinstance(found, list) else [] if found is None else [found]:
        tzid = group.params.get("TZID") if hasattr(group, "params") else None
        for item in getattr(group, "dts", []):
            value = item.dt
            if isinstance(value, tuple):
                value = value[0]
            if isinstance(value, date):
                limits.check_day(value, name)
            if isinstance(value, datetime):
                if tzid:
                    yield to_utc(value.replace(tzinfo=None), ctx.zone(str(tzid), span))
                elif value.tzinfo is not None:
                    yield value.astimezone(UTC)
                else:
                    yield to_utc(value, entry.zone)
            elif isinstance(value, date):
                yield from _on_day(entry, value, name)


def _on_day(entry: Entry, day: date, name: str) -> Iterator[datetime]:
    if name == "RDATE" or entry.all_day:
        yield to_utc(datetime.combine(day, entry.start_local.time()), entry.zone)
        return
    low = to_utc(datetime.combine(day, time(0)), entry.zone)
    high = to_utc(datetime.combine(day + timedelta(days=1), time(0)), entry.zone)
    for occurrence in occurrences(
        entry.start_local,
        entry.zone,
        entry.rrule,
        after=low - _TICK,
        before=high,
        rdates=entry.rdates,
    ):
        yield occurrence.start


def _apply_override(
    vevent: icalendar.Component, series: Mapping[str, Entry], ctx: Context
) -> str | None:
    """Record one RECURRENCE-ID override on its series as a move or a skip; a warning for
    whatever of it cannot be kept."""
    _check_broken(vevent, ("RECURRENCE-ID", "DTSTART", "DTEND", "DURATION"))
    uid = _uid_of(vevent)
    recurrence_id = _single(vevent, "RECURRENCE-ID")
    if str(recurrence_id.params.get("RANGE", "")).upper() == "THISANDFUTURE":
        raise Problem(
            "RECURRENCE-ID with RANGE=THISANDFUTURE changes every later occurrence; "
            "end the series there and start a new one instead"
        )
    entry = series.get(uid)
    if entry is None:
        return f"changes one occurrence of {uid!r}, which is not in the file; ignored"
    zone = entry.zone
    span = (ctx.now - PLANNING_SPAN, ctx.now + PLANNING_SPAN)
    if isinstance(recurrence_id.dt, date):
        limits.check_day(recurrence_id.dt, "RECURRENCE-ID")
    original = _instant(recurrence_id, ctx, span, entry)
    when = f"{original.astimezone(zone):%Y-%m-%d %H:%M}"
    found = occurrences(
        entry.start_local,
        zone,
        entry.rrule,
        after=original - timedelta(seconds=1),
        limit=1,
        rdates=entry.rdates,
    )
    if not found or found[0].start != original:
        return f"{when} is not an occurrence of its series; ignored"
    if original in entry.skips:
        return f"{when} is skipped (EXDATE or cancelled) and stays so; the override is ignored"
    if str(vevent.get("STATUS", "")).upper() == "CANCELLED":
        entry.skips.append(original)
        entry.moves.pop(original, None)
        return None
    start_prop = _single(vevent, "DTSTART")
    new_start = None if start_prop is None else _instant(start_prop, ctx, span, entry)
    if new_start is not None:
        limits.check_day(new_start, "DTSTART")
        if new_start != original:
            entry.moves[original] = new_start
    differ = _own_fields(vevent, entry, start_prop, ctx, span)
    if not differ:
        return None
    moved = " is moved, but" if original in entry.moves else ":"
    verb = "is" if len(differ) == 1 else "are"
    return (
        f"the occurrence of {when}{moved} its own {', '.join(differ)} {verb} ignored; every "
        "occurrence has the title, duration, link and description of its series"
    )


def _own_fields(
    vevent: icalendar.Component, entry: Entry, start_prop: Any, ctx: Context, span: zones.Span
) -> list[str]:
    """What an override sets differently from its series, which one occurrence cannot keep."""
    present = set(vevent)
    differ = []
    if "SUMMARY" in present and _title(vevent) != entry.title:
        differ.append("title")
    if {"DURATION", "DTEND"} & present and start_prop is not None:
        moved_local, moved_zone = _wall(start_prop, ctx, span, "DTSTART")
        if entry.all_day:
            moved_zone = entry.zone
        length = _minutes(vevent, start_prop, moved_local, moved_zone, ctx, span, entry.all_day)
        if length != entry.duration_min:
            differ.append("duration")
    if {"URL", "LOCATION"} & present and _link(
        vevent.get("URL"), vevent.get("LOCATION")
    ) != entry.link:
        differ.append("link")
    if "DESCRIPTION" in present and _details(vevent, entry.link) != entry.description:
        differ.append("description")
    return differ


def _instant(prop: Any, ctx: Context, span: zones.Span, entry: Entry) -> datetime:
    """A RECURRENCE-ID or an override's DTSTART; in an all-day series only its day counts."""
    value = prop.dt
    if not isinstance(value, datetime):
        return to_utc(datetime.combine(value, entry.start_local.time()), entry.zone)
    wall, zone = _wall(prop, ctx, span, "RECURRENCE-ID")
    if entry.all_day:
        return to_utc(datetime.combine(wall.date(), entry.start_local.time()), entry.zone)
    return to_utc(wall, zone)


def _wall(prop: Any, ctx: Context, span: zones.Span, name: str) -> tuple[datetime, ZoneInfo]:
    """A property's wall time as written and the zone that gives it meaning."""
    value = prop.dt
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0)), ctx.default
    tzid = prop.params.get("TZID")
    if tzid:
        return value.replace(tzinfo=None), ctx.zone(str(tzid), span)
    if ctx.calendar_zone is not None:
        if value.tzinfo is not None:
            return value.astimezone(ctx.calendar_zone).replace(tzinfo=None), ctx.calendar_zone
        return value, ctx.calendar_zone
    if value.tzinfo is not None:
        offset = value.utcoffset()
        if offset == timedelta(0) or offset is None:
            return value.astimezone(UTC).replace(tzinfo=None), ZoneInfo("UTC")
        try:
            zone = zones.fixed(offset, span)
        except zones.ZoneError as exc:
            raise Problem(f"{name}: {exc}") from None
        return value.replace(tzinfo=None), zone
    return value, ctx.default


def _zoned(prop: Any, ctx: Context) -> bool:
    """Whether a time is tied to a zone; a floating UNTIL beside it is then read as UTC, as
    icalendar and recurring-ical-events read it."""
    value = prop.dt
    return isinstance(value, datetime) and (
        bool(prop.params.get("TZID")) or value.tzinfo is not None or ctx.calendar_zone is not None
    )


def _span(start: date, rule: str | None, now: datetime) -> zones.Span:
    """Where a series' zone must be right: from its start (or a year ago) to its end, or two
    years ahead."""
    first = datetime.combine(start, time(0)) if not isinstance(start, datetime) else start
    first = first.replace(tzinfo=UTC) if first.tzinfo is None else first.astimezone(UTC)
    until = re.search(r"UNTIL=(\d{8})", rule.upper()) if rule else None
    last = first + timedelta(days=1)
    if rule is not None:
        last = max(first, now) + PLANNING_SPAN
        if until is not None:
            with contextlib.suppress(ValueError):
                last = min(last, datetime.strptime(until[1], "%Y%m%d").replace(tzinfo=UTC))
    low = max(first, now - timedelta(days=366)) if rule else first
    return low - timedelta(days=1), max(last, low) + timedelta(days=1)


def _check_broken(vevent: icalendar.Component, names: Sequence[str]) -> None:
    for name, error in getattr(vevent, "errors", []):
        if str(name).upper() in names:
            raise Problem(f"{name} cannot be read: {_short(error)}")


def _single(vevent: icalendar.Component, name: str) -> Any:
    value = vevent.get(name)
    if isinstance(value, list):
        raise Problem(f"{name} appears {len(value)} times; an event has one")
    if value is not None and type(value).__name__ == "vBroken":
        raise Problem(f"{name} {str(value)[:60]!r} cannot be read")
    return value


def _text(vevent: icalendar.Component, name: str) -> str:
    value = vevent.get(name)
    if isinstance(value, list):
        value = value[0]
    return str(value or "").replace("\x00", "").strip()


def _uid_of(vevent: icalendar.Component) -> str:
    """The UID, or a digest of it when it is longer than the store keeps (80 characters)."""
    uid = _text(vevent, "UID")
    if len(uid) <= 80:
        return uid
    return f"{hashlib.sha256(uid.encode()).hexdigest()[:40]}@long-uid.convene"


def _description(vevent: icalendar.Component, link: str | None) -> str | None:
    """DESCRIPTION, without the link that Convene's own feed appends to it."""
    text = _text(vevent, "DESCRIPTION")
    if link and text.endswith(link):
        text = text[: -len(link)].rstrip()
    return text or None


def _link(*candidates: object) -> str | None:
    for value in candidates:
        if isinstance(value, list):
            value = value[0] if value else None
        text = str(value or "").strip()
        if markup.is_url(text) and len(text) <= limits.MAX_LINK:
            return text
    return None


def _categories(vevent: icalendar.Component) -> tuple[str | None, str | None]:
    found = vevent.get("CATEGORIES")
    names: list[str] = []
    for group in found if isinstance(found, list) else [] if found is None else [found]:
        names += [str(name).strip().lower() for name in getattr(group, "cats", [])]
    kind = next((name for name in names if name in KINDS), None)
    tier = next((name for name in names if name in TIERS), None)
    return kind, tier


def _sequence(vevent: icalendar.Component) -> int:
    try:
        return max(0, min(int(str(vevent.get("SEQUENCE", 0))), 1_000_000))
    except ValueError:
        return 0


def _stamp(vevent: icalendar.Component) -> datetime | None:
    for name in ("LAST-MODIFIED", "DTSTAMP"):
        value = vevent.get(name)
        moment = getattr(value, "dt", None)
        if isinstance(moment, datetime) and moment.tzinfo is not None:
            return moment.astimezone(UTC)
    return None


def _label(number: int, vevent: icalendar.Component) -> str:
    title, uid = _text(vevent, "SUMMARY"), _text(vevent, "UID")
    if title:
        return f"event {number} {title[:40]!r}"
    return f"event {number} (UID {uid[:60]!r})" if uid else f"event {number}"


def _where(line: int | None) -> str:
    return f" (line {line})" if line else ""


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, UserError) else str(exc)


def _short(exc: object) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def _begin_lines(data: bytes, first_line: int) -> list[int | None]:
    """The line of each BEGIN:VEVENT, in the order icalendar walks them."""
    return [
        number
        for number, line in enumerate(data.splitlines(), first_line)
        if line.strip().upper() == b"BEGIN:VEVENT"
    ]


def read_schedule(
    name: str,
    data: bytes,
    default: ZoneInfo,
    *,
    now: datetime,
    skip_invalid: bool = False,
    opener: Callable[[str], bytes] | None = None,
    progress: Progress | None = None,
) -> Schedule:
    """An .ics calendar, or a yaml2ics schedule when *name* ends in .yaml or .yml."""
    if len(data) > limits.MAX_FILE_BYTES:
        raise ScheduleError(
            f"the file is {len(data) / 2**20:,.1f} MiB; at most "
            f"{limits.MAX_FILE_BYTES / 2**20:,.0f} MiB is read at once: split it"
        )
    ctx = Context(default, now, progress=progress)
    if name.lower().endswith((".yaml", ".yml")):
        from cogs.events.yamlfile import read_yaml  # it builds on this module

        return read_yaml(name, data, ctx, opener=opener, skip_invalid=skip_invalid)
    return read_ics(data, ctx, skip_invalid=skip_invalid)


def _uid(title: str, start: datetime) -> str:
    digest = hashlib.sha256(f"{title}|{start.isoformat()}".encode()).hexdigest()[:24]
    return f"{digest}@yaml.convene"


async def import_entries(
    session: AsyncSession,
    entries: Sequence[Entry],
    *,
    person_id: int,
    rooms: Rooms,
    now: datetime,
    progress: Progress | None = None,
) -> Report:
    """Add or update every entry, by UID; series that are over are left out."""
    announce_in = tuple(r.name for r in rooms.with_purpose("announcements"))
    outcomes: Counter[str] = Counter()
    for number, entry in enumerate(entries, 1):
        if progress is not None:
            progress(number, len(entries))
        outcomes[await _import_one(session, entry, person_id, announce_in, now)] += 1
    if outcomes["added"] or outcomes["changed"]:
        await service.bump_version(session, now)
    return Report(outcomes["added"], outcomes["changed"], outcomes["unchanged"], outcomes["ended"])


async def _import_one(
    session: AsyncSession, entry: Entry, person_id: int, announce_in: tuple[str, ...], now: datetime
) -> str:
    """Store one entry; what became of it: added, changed, unchanged or ended."""
    existing = (await session.exec(select(Event).where(Event.uid == entry.uid))).first()
    fields = _fields(entry)
    if existing is not None and await _same(session, existing, entry, fields):
        return "unchanged"
    event = existing or _new_event(entry, person_id, now)
    for key, value in fields.items():
        setattr(event, key, value)
    changes = service.Changes(frozenset(entry.skips), entry.moves, frozenset(entry.rdates))
    if existing is None and not service.expand(event, changes, after=now, limit=1):
        return "ended"
    if existing is not None:
        event.sequence = max(event.sequence + 1, entry.sequence)
        event.updated_at = now
    session.add(event)
    await session.flush()
    if existing is None:
        for room in announce_in:
            session.add(EventRoom(event_id=event.id or 0, room=room))
    for instant in entry.rdates:
        await service.record_addition(session, event, instant)
    for skipped in entry.skips:
        await service.record_change(session, event, skipped, None)
    for original, new_start in entry.moves.items():
        await service.record_change(session, event, original, new_start)
    await service.refresh_next_start(session, event, now)
    return "added" if existing is None else "changed"


def _fields(entry: Entry) -> dict[str, Any]:
    """What an entry sets on its event; kind and tier only where the file says."""
    fields: dict[str, Any] = {
        "title": entry.title,
        "start_local": entry.start_local,
        "timezone": entry.zone.key,
        "rrule": entry.rrule,
        "duration_min": entry.duration_min,
        "all_day": entry.all_day,
        "link": entry.link,
        "description": entry.description,
    }
    if entry.kind is not None:
        fields["kind"] = entry.kind
    if entry.tier is not None:
        fields["tier"] = entry.tier
    return fields


async def _same(
    session: AsyncSession, existing: Event, entry: Entry, fields: dict[str, Any]
) -> bool:
    """Whether importing *entry* again would change nothing: same fields, and its skips, moves
    and added dates all recorded already."""
    if any(getattr(existing, key) != value for key, value in fields.items()):
        return False
    recorded = await service.changes_of(session, existing.id or 0)
    return (
        set(entry.skips) <= recorded.exdates
        and entry.moves.items() <= recorded.moves.items()
        and set(entry.rdates) <= recorded.rdates
    )


def _new_event(entry: Entry, person_id: int, now: datetime) -> Event:
    stamp = entry.stamp if entry.stamp is not None and entry.stamp <= now else now
    return Event(
        uid=entry.uid,
        title=entry.title,
        kind="meeting",
        tier="everyone",
        timezone=entry.zone.key,
        start_local=entry.start_local,
        duration_min=entry.duration_min,
        sequence=entry.sequence,
        created_by=person_id,
        created_at=now,
        updated_at=stamp,
    )
