"""`convene events import FILE`: an .ics calendar or a yaml2ics-style YAML schedule.

Every entry is checked first and nothing is written unless all of them are valid, so a file is
never half-imported. Events keep a stable UID (the file's, or one derived from the YAML entry),
so importing the same file again changes nothing and an edited file updates its events.

An .ics override of one occurrence (a VEVENT with RECURRENCE-ID) becomes what the bot can hold
for one occurrence: a move when its DTSTART differs, a skip when it is STATUS:CANCELLED. An
occurrence cannot have its own title, duration, link or description here, so such differences
are ignored and reported as warnings, as are overrides of a series missing from the file or of
an instant that is not one of its occurrences; RANGE=THISANDFUTURE, which would change every
later occurrence, is refused. Skips and moves in the file are added to those the bot has; one
made in the bot (`event skip`, `event move`) and absent from the file is kept.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import yaml
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.rooms import Rooms
from cogs.events import service
from cogs.events.models import Event, EventRoom
from cogs.events.recurrence import RecurrenceError, build_rrule, occurrences, to_utc
from cogs.events.timeparse import TimeParseError, parse_zone

DEFAULT_MINUTES = 60
YAML_UNITS = {
    "seconds": "SECONDLY",
    "minutes": "MINUTELY",
    "hours": "HOURLY",
    "days": "DAILY",
    "weeks": "WEEKLY",
    "months": "MONTHLY",
    "years": "YEARLY",
}


class ScheduleError(Exception):
    """Every problem in the file, one per line; nothing was imported."""


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


@dataclass
class Schedule:
    entries: list[Entry]
    warnings: list[str] = field(default_factory=list)


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


def _link(*candidates: object) -> str | None:
    for value in candidates:
        text = str(value or "").strip()
        if text.startswith(("https://", "http://")) and " " not in text:
            return text
    return None


def _local(value: datetime | date, zone: ZoneInfo) -> datetime:
    """A naive wall time in *zone*: all-day dates start at midnight, instants are converted."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(0))
    if value.tzinfo is None:
        return value
    return value.astimezone(zone).replace(tzinfo=None)


def read_ics(data: bytes, default: ZoneInfo) -> Schedule:
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise ScheduleError(f"not a valid iCalendar file: {exc}") from None
    series: dict[str, Entry] = {}
    overrides: list[tuple[str, icalendar.Component]] = []
    problems, warnings = [], []
    for number, vevent in enumerate(calendar.walk("VEVENT"), 1):
        label = f"event {number} {str(vevent.get('SUMMARY', ''))[:40]!r}"
        if vevent.get("RECURRENCE-ID") is not None:
            overrides.append((label, vevent))
            continue
        try:
            entry = _ics_entry(vevent, default)
        except (KeyError, ValueError) as exc:
            problems.append(f"{label}: {exc}")
            continue
        if entry.uid in series:
            problems.append(f"{label}: UID {entry.uid!r} is also on an earlier event")
        series[entry.uid] = entry
    for label, vevent in overrides:
        try:
            if warning := _apply_override(vevent, series):
                warnings.append(f"{label}: {warning}")
        except (KeyError, ValueError) as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise ScheduleError("\n".join(problems))
    return Schedule(list(series.values()), warnings)


def _apply_override(vevent: icalendar.Component, series: Mapping[str, Entry]) -> str | None:
    """Record one RECURRENCE-ID override on its series as a move or a skip; a warning for
    whatever of it cannot be kept."""
    uid = str(vevent.get("UID", ""))
    if vevent["RECURRENCE-ID"].params.get("RANGE", "").upper() == "THISANDFUTURE":
        raise ValueError(
            "RECURRENCE-ID with RANGE=THISANDFUTURE changes every later occurrence; "
            "end the series there and start a new one instead"
        )
    entry = series.get(uid)
    if entry is None:
        return f"changes one occurrence of {uid!r}, which is not in the file; ignored"
    zone = entry.zone
    original = to_utc(_local(vevent.decoded("RECURRENCE-ID"), zone), zone)
    when = f"{original.astimezone(zone):%Y-%m-%d %H:%M}"
    found = occurrences(
        entry.start_local, zone, entry.rrule, after=original - timedelta(seconds=1), limit=1
    )
    if not found or found[0].start != original:
        return f"{when} is not an occurrence of its series; ignored"
    if original in entry.skips:
        return f"{when} is skipped (EXDATE or cancelled) and stays so; the override is ignored"
    if str(vevent.get("STATUS", "")).upper() == "CANCELLED":
        entry.skips.append(original)
        entry.moves.pop(original, None)
        return None
    start_local = _local(vevent.decoded("DTSTART"), zone) if "DTSTART" in vevent else None
    if start_local is not None and (new_start := to_utc(start_local, zone)) != original:
        entry.moves[original] = new_start
    present = set(vevent)
    differ = []
    if "SUMMARY" in present and str(vevent["SUMMARY"]).strip()[:200] != entry.title:
        differ.append("title")
    moved_local = start_local or original.astimezone(zone).replace(tzinfo=None)
    if {"DURATION", "DTEND"} & present and _minutes(
        vevent, moved_local, zone
    ) != entry.duration_min:
        differ.append("duration")
    if {"URL", "LOCATION"} & present and _link(
        vevent.get("URL"), vevent.get("LOCATION")
    ) != entry.link:
        differ.append("link")
    if (
        "DESCRIPTION" in present
        and (str(vevent["DESCRIPTION"]).strip() or None) != entry.description
    ):
        differ.append("description")
    if not differ:
        return None
    moved = " is moved, but" if original in entry.moves else ":"
    verb = "is" if len(differ) == 1 else "are"
    return (
        f"the occurrence of {when}{moved} its own {', '.join(differ)} {verb} ignored; every "
        "occurrence has the title, duration, link and description of its series"
    )


def _ics_entry(vevent: icalendar.Component, default: ZoneInfo) -> Entry:
    start = vevent.decoded("DTSTART")
    zone = start.tzinfo if isinstance(start, datetime) else None
    zone = zone if isinstance(zone, ZoneInfo) else (UTC_ZONE if zone is not None else default)
    start_local = _local(start, zone)
    rrule = vevent.get("RRULE")
    rule = rrule.to_ical().decode() if rrule is not None else None
    skips: list[datetime] = []
    exdates = vevent.get("EXDATE")
    for group in exdates if isinstance(exdates, list) else [exdates] if exdates else []:
        skips += [to_utc(_local(d.dt, zone), zone) for d in group.dts]
    title = str(vevent.get("SUMMARY", "")).strip()
    if not title:
        raise ValueError("no SUMMARY (title)")
    return Entry(
        uid=str(vevent.get("UID") or _uid(title, start_local)),
        title=title[:200],
        start_local=start_local,
        zone=zone,
        rrule=build_rrule(rule, start_local, zone) if rule else None,
        duration_min=_minutes(vevent, start_local, zone),
        link=_link(vevent.get("URL"), vevent.get("LOCATION")),
        description=(str(vevent.get("DESCRIPTION", "")).strip() or None),
        skips=skips,
    )


def _minutes(vevent: icalendar.Component, start_local: datetime, zone: ZoneInfo) -> int:
    if "DURATION" in vevent:
        length = vevent.decoded("DURATION")
    elif "DTEND" in vevent:
        length = _local(vevent.decoded("DTEND"), zone) - start_local
    else:
        all_day = not isinstance(vevent.decoded("DTSTART"), datetime)
        length = timedelta(days=1) if all_day else timedelta(hours=1)
    return max(1, int(length.total_seconds() // 60))


UTC_ZONE = ZoneInfo("UTC")


def _uid(title: str, start: datetime) -> str:
    digest = hashlib.sha256(f"{title}|{start.isoformat()}".encode()).hexdigest()[:24]
    return f"{digest}@yaml.convene"


def read_yaml(text: str, default: ZoneInfo) -> Schedule:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScheduleError(f"not valid YAML: {exc}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("events"), list):
        raise ScheduleError("expected a mapping with an `events:` list (yaml2ics format)")
    try:
        zone = parse_zone(str(data["timezone"])) if data.get("timezone") else default
    except TimeParseError as exc:
        raise ScheduleError(f"timezone: {exc}") from None
    entries, problems = [], []
    for number, item in enumerate(data["events"], 1):
        label = f"event {number}"
        try:
            if not isinstance(item, Mapping):
                raise ValueError("expected a mapping with summary and begin")
            label += f" {str(item.get('summary', ''))[:40]!r}"
            entries.append(_yaml_entry(item, zone))
        except (KeyError, ValueError, TypeError) as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise ScheduleError("\n".join(problems))
    return Schedule(entries)


def _when(value: Any, zone: ZoneInfo, name: str) -> datetime | date:
    if isinstance(value, datetime | date):
        return value
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a date or date and time") from None


def _yaml_entry(item: Mapping[str, Any], calendar_zone: ZoneInfo) -> Entry:
    zone = parse_zone(str(item["timezone"])) if item.get("timezone") else calendar_zone
    title = str(item.get("summary") or "").strip()
    if not title:
        raise ValueError("no summary (title)")
    begin = _when(item["begin"], zone, "begin")
    start_local = _local(begin, zone)
    if "duration" in item:
        length = timedelta(**{str(k): float(v) for k, v in dict(item["duration"]).items()})
    elif "end" in item:
        length = _local(_when(item["end"], zone, "end"), zone) - start_local
    else:
        length = timedelta(days=1) if not isinstance(begin, datetime) else timedelta(hours=1)
    rrule, skips = None, []
    if repeat := item.get("repeat"):
        ((unit, every),) = dict(repeat["interval"]).items()
        if unit not in YAML_UNITS:
            raise ValueError(f"repeat interval unit {unit!r}; use one of {', '.join(YAML_UNITS)}")
        until = _when(repeat["until"], zone, "until")
        rule = f"FREQ={YAML_UNITS[unit]};INTERVAL={int(every)}"
        until_day = until.date() if isinstance(until, datetime) else until
        rrule = build_rrule(rule, start_local, zone, until=until_day)
        for day in repeat.get("except_on") or []:
            moment = _when(day, zone, "except_on")
            if isinstance(moment, datetime):
                skips.append(to_utc(_local(moment, zone), zone))
            else:
                skips.append(to_utc(datetime.combine(moment, start_local.time()), zone))
    return Entry(
        uid=str(item.get("uid") or _uid(title, start_local)),
        title=title[:200],
        start_local=start_local,
        zone=zone,
        rrule=rrule,
        duration_min=max(1, int(length.total_seconds() // 60)),
        link=_link(item.get("url"), item.get("location")),
        description=(str(item.get("description") or "").strip() or None),
        skips=skips,
    )


def read_schedule(name: str, data: bytes, default: ZoneInfo) -> Schedule:
    try:
        if name.lower().endswith((".yaml", ".yml")):
            return read_yaml(data.decode("utf-8"), default)
        return read_ics(data, default)
    except (RecurrenceError, TimeParseError) as exc:
        raise ScheduleError(str(exc)) from None


async def import_entries(
    session: AsyncSession,
    entries: Sequence[Entry],
    *,
    person_id: int,
    rooms: Rooms,
    now: datetime,
) -> Report:
    """Add or update every entry, by UID; series that are over are left out."""
    added = changed = unchanged = ended = 0
    announce_in = tuple(r.name for r in rooms.with_purpose("announcements"))
    for entry in entries:
        existing = (await session.exec(select(Event).where(Event.uid == entry.uid))).first()
        fields: dict[str, Any] = {
            "title": entry.title,
            "start_local": entry.start_local,
            "timezone": entry.zone.key,
            "rrule": entry.rrule,
            "duration_min": entry.duration_min,
            "link": entry.link,
            "description": entry.description,
        }
        if existing is not None and all(getattr(existing, k) == v for k, v in fields.items()):
            recorded = await service.changes_of(session, existing.id or 0)
            if (
                set(entry.skips) <= recorded.exdates
                and entry.moves.items() <= recorded.moves.items()
            ):
                unchanged += 1
                continue
        event = existing or Event(
            uid=entry.uid,
            title=entry.title,
            kind="meeting",
            tier="everyone",
            timezone=entry.zone.key,
            start_local=entry.start_local,
            duration_min=entry.duration_min,
            created_by=person_id,
            created_at=now,
            updated_at=now,
        )
        for key, value in fields.items():
            setattr(event, key, value)
        changes = service.Changes(frozenset(entry.skips), entry.moves)
        future = service.expand(event, changes, after=now, limit=1)
        if existing is None and not future:
            ended += 1
            continue
        if existing is not None:
            event.sequence += 1
            event.updated_at = now
            changed += 1
        else:
            added += 1
        session.add(event)
        await session.flush()
        if existing is None:
            for room in announce_in:
                session.add(EventRoom(event_id=event.id or 0, room=room))
        for skipped in entry.skips:
            await service.record_change(session, event, skipped, None)
        for original, new_start in entry.moves.items():
            await service.record_change(session, event, original, new_start)
        await service.refresh_next_start(session, event, now)
    return Report(added, changed, unchanged, ended)
