"""yaml2ics schedules, read as yaml2ics reads them, then checked like any .ics file.

The format is yaml2ics's own (scientific-python/yaml2ics, `yaml2ics.py`): a calendar has an
optional ``name``, an optional default ``timezone`` (else UTC) and ``include``s other files,
relative to it, whose events come first and keep their own default zone. An event takes
yaml2ics's keys (``summary``, ``begin``, ``end`` or ``duration``, ``uid``, ``description``,
``location``, ``url``, ``status``, ``categories``, ``timezone`` …), ``repeat`` (an ``interval``
of one unit, a required ``until``, ``except_on``, ``also_on``) and ``ics``: raw iCalendar lines
merged into the event, such as ``RRULE:FREQ=WEEKLY;BYDAY=WE``. An event with neither ``end``
nor ``duration`` is all-day on the day of its ``begin``, and a date ``begin`` with an end is
midnight in the event's zone, as yaml2ics makes them. Each event becomes the VEVENT yaml2ics
would write, so both formats share one set of checks.

yaml2ics refuses what ics.py cannot build, such as an unknown key. Two differences, both
lenient: a ``begin`` or ``end`` given as a quoted ISO string is read as the date it plainly is,
and ``include`` cycles are refused rather than followed forever.

YAML is loaded with the safe loader, and aliases are expanded on paper before anything is
built: a document whose nodes, aliases expanded, exceed ``limits.MAX_YAML_NODES`` is refused,
so a few hundred bytes of nested aliases cannot take minutes and gigabytes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Literal
from zoneinfo import ZoneInfo

import dateutil.rrule
import icalendar
import yaml

from cogs.events import limits, zones
from cogs.events.importer import (
    PLANNING_SPAN,
    Context,
    Problem,
    Schedule,
    ScheduleError,
    read_vevents,
)
from cogs.events.timeparse import TimeParseError, parse_zone

Opener = Callable[[str], bytes]
"""Reads an included file by its path relative to the first file; raises OSError."""

UNITS: dict[str, Literal[0, 1, 2, 3, 4, 5, 6]] = {
    "seconds": dateutil.rrule.SECONDLY,
    "minutes": dateutil.rrule.MINUTELY,
    "hours": dateutil.rrule.HOURLY,
    "days": dateutil.rrule.DAILY,
    "weeks": dateutil.rrule.WEEKLY,
    "months": dateutil.rrule.MONTHLY,
    "years": dateutil.rrule.YEARLY,
}
KEYS = (
    "summary",
    "begin",
    "end",
    "duration",
    "uid",
    "description",
    "location",
    "url",
    "status",
    "created",
    "last_modified",
    "dtstamp",
    "alarms",
    "attach",
    "classification",
    "transparent",
    "organizer",
    "geo",
    "attendees",
    "categories",
    "timezone",
    "repeat",
    "ics",
)
_EXAMPLE = "e.g. begin: 2027-01-05 17:00:00"


def read_yaml(
    name: str,
    data: bytes,
    ctx: Context,
    *,
    opener: Opener | None = None,
    skip_invalid: bool = False,
) -> Schedule:
    found = _Found(ctx, opener)
    calendar_name = found.calendar(data, [PurePosixPath(name)])
    if found.problems and not skip_invalid:
        raise ScheduleError("\n".join(found.problems))
    schedule = read_vevents(
        found.events, ctx, lines=found.lines, labels=found.labels, skip_invalid=True
    )
    if schedule.skipped and not skip_invalid:
        raise ScheduleError("\n".join(found.problems + schedule.skipped))
    schedule.skipped[:0] = found.problems
    schedule.name = calendar_name
    return schedule


@dataclass
class _Found:
    """What the files of one calendar hold, in yaml2ics's order: included files first."""

    ctx: Context
    opener: Opener | None
    events: list[icalendar.Event] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    lines: list[int | None] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files: int = 0

    def calendar(self, data: bytes, chain: list[PurePosixPath]) -> str | None:
        """Reads one file and, first, the files it includes; returns the calendar's name."""
        self.files += 1
        if self.files > limits.MAX_INCLUDED_FILES:
            raise ScheduleError(f"include: more than {limits.MAX_INCLUDED_FILES} files")
        return _calendar(self, data, chain)


def _calendar(found: _Found, data: bytes, chain: list[PurePosixPath]) -> str | None:
    ctx, opener = found.ctx, found.opener
    where = "" if len(chain) == 1 else f"{chain[-1]}: "
    document, event_lines = load(data, where)
    if document is None:
        document = {}
    if not isinstance(document, Mapping):
        raise ScheduleError(
            f"{where}expected a mapping with `events:` (and optionally `name:`, `timezone:`, "
            "`include:`), the yaml2ics format"
        )
    try:
        default = parse_zone(str(document["timezone"])) if document.get("timezone") else None
    except TimeParseError as exc:
        raise ScheduleError(f"{where}timezone: {exc.message}") from None
    name_found = document.get("name")
    for included in _list(document.get("include"), f"{where}include"):
        path = PurePosixPath(posixpath.normpath(chain[-1].parent / str(included)))
        if path in chain:
            raise ScheduleError(f"{where}include: {included!r} includes itself, in a cycle")
        if opener is None:
            raise ScheduleError(f"{where}include: {included!r} can only be read from a file")
        try:
            content = opener(str(path))
        except OSError as exc:
            raise ScheduleError(
                f"{where}include: cannot read {str(included)!r} ({exc.strerror or exc})"
            ) from None
        if len(content) > limits.MAX_FILE_BYTES:
            raise ScheduleError(f"{where}include: {str(included)!r} is too large")
        found.calendar(content, [*chain, path])
    items = _list(document.get("events"), f"{where}events")
    for number, item in enumerate(items, 1):
        line = event_lines[number - 1] if number <= len(event_lines) else None
        title = str(item.get("summary") or "").strip() if isinstance(item, Mapping) else ""
        label = f"{where}event {number} {title[:40]!r}" if title else f"{where}event {number}"
        try:
            if not isinstance(item, Mapping):
                raise Problem("expected a mapping with summary and begin")
            found.events.append(_vevent(item, default or ZoneInfo("UTC"), ctx))
            found.labels.append(label)
            found.lines.append(line)
        except (Problem, TimeParseError) as exc:
            message = exc.message if isinstance(exc, TimeParseError) else str(exc)
            found.problems.append(f"{label}: {message}{f' (line {line})' if line else ''}")
    return str(name_found) if name_found is not None else None


def load(data: bytes, where: str = "") -> tuple[Any, list[int]]:
    """The document and the line of each event, refusing alias bombs before building anything."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ScheduleError(f"{where}not UTF-8 text") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        if (size := _size(node, {})) > limits.MAX_YAML_NODES:
            raise ScheduleError(
                f"{where}the YAML expands to over {limits.MAX_YAML_NODES:,} values "
                f"({size:,}, aliases counted where they are used); write it out plainly"
            )
        return loader.construct_document(node), _event_lines(node)
    except yaml.YAMLError as exc:
        raise ScheduleError(f"{where}not valid YAML: {exc}") from None
    except RecursionError:
        raise ScheduleError(f"{where}the YAML is nested too deeply") from None
    finally:
        loader.dispose()


def _size(node: yaml.Node, seen: dict[int, int]) -> int:
    if id(node) in seen:
        return seen[id(node)]
    seen[id(node)] = limits.MAX_YAML_NODES + 1
    if isinstance(node, yaml.MappingNode):
        total = 1 + sum(_size(key, seen) + _size(value, seen) for key, value in node.value)
    elif isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_size(child, seen) for child in node.value)
    else:
        total = 1
    seen[id(node)] = min(total, limits.MAX_YAML_NODES + 1)
    return seen[id(node)]


def _event_lines(node: yaml.Node) -> list[int]:
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if getattr(key, "value", None) == "events" and isinstance(value, yaml.SequenceNode):
            return [child.start_mark.line + 1 for child in value.value]
    return []


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ScheduleError(f"{what}: expected a list")
    return value


def _vevent(item: Mapping[str, Any], default: ZoneInfo, ctx: Context) -> icalendar.Event:
    unknown = [str(key) for key in item if key not in KEYS]
    if unknown:
        raise Problem(f"unknown key {unknown[0]!r}; yaml2ics knows {', '.join(KEYS)}")
    zone = parse_zone(str(item["timezone"])) if item.get("timezone") else default
    if item.get("begin") is None:
        raise Problem(f"no begin: an event needs a start, {_EXAMPLE}")
    if "end" in item and "duration" in item:
        raise Problem("give end or duration, not both")
    all_day = "end" not in item and "duration" not in item
    begin = _when(item["begin"], "begin")
    vevent = icalendar.Event()
    start = _placed(begin, zone, all_day, ctx, item)
    vevent.add("dtstart", start)
    if "end" in item:
        vevent.add("dtend", _placed(_when(item["end"], "end"), zone, False, ctx, item))
    if "duration" in item:
        vevent.add("duration", _duration(item["duration"]))
    for key, prop in (("summary", "summary"), ("uid", "uid"), ("description", "description")):
        if item.get(key) is not None:
            vevent.add(prop, str(item[key]).strip())
    for key in ("location", "url", "status"):
        if item.get(key) is not None:
            vevent.add(key, str(item[key]).strip())
    if item.get("categories"):
        vevent.add("categories", [str(name) for name in _seq(item["categories"], "categories")])
    if item.get("repeat") is not None:
        _repeat(vevent, item["repeat"], item["begin"], zone, ctx, item)
    if item.get("ics"):
        _merge_lines(vevent, item["ics"])
    return vevent


def _when(value: Any, name: str) -> datetime | date:
    """What ics.py takes for a time: a date, a date and time, or a mapping of its parts; a
    quoted ISO string is taken too."""
    try:
        if isinstance(value, datetime | date):
            return value
        if isinstance(value, Mapping):
            return datetime(**value)
        return datetime.fromisoformat(str(value).strip())
    except (TypeError, ValueError, OverflowError):
        raise Problem(f"{name} {value!r} is not a date or date and time, {_EXAMPLE}") from None


def _placed(
    value: datetime | date, zone: ZoneInfo, all_day: bool, ctx: Context, item: Mapping[str, Any]
) -> datetime | date:
    """Where yaml2ics puts a time: its date when all-day, its zone when floating."""
    if all_day:
        return value.date() if isinstance(value, datetime) else value
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    if isinstance(value.tzinfo, ZoneInfo):
        return value
    offset = value.utcoffset() or timedelta(0)
    try:
        fixed = zones.fixed(offset, _span(value, item, ctx))
    except zones.ZoneError as exc:
        raise Problem(f"begin: {exc}") from None
    return value.astimezone(fixed)


def _span(value: datetime, item: Mapping[str, Any], ctx: Context) -> zones.Span:
    start = value.astimezone(ZoneInfo("UTC"))
    return start, max(start, ctx.now) + PLANNING_SPAN


def _duration(value: Any) -> timedelta:
    try:
        if isinstance(value, timedelta):
            return value
        if isinstance(value, Mapping):
            return timedelta(**{str(key): value[key] for key in value})
    except (TypeError, ValueError, OverflowError):
        pass
    raise Problem(f"duration {value!r} is not a duration, e.g. duration: {{minutes: 30}}")


def _repeat(
    vevent: icalendar.Event,
    repeat: Any,
    begin: Any,
    zone: ZoneInfo,
    ctx: Context,
    item: Mapping[str, Any],
) -> None:
    """The RRULE, EXDATEs and RDATEs yaml2ics writes for ``repeat``."""
    if not isinstance(repeat, Mapping) or not isinstance(repeat.get("interval"), Mapping):
        raise Problem("repeat needs an interval, e.g. repeat: {interval: {weeks: 1}, until: …}")
    interval = repeat["interval"]
    if len(interval) != 1:
        raise Problem(f"repeat interval gives one of {', '.join(UNITS)}, e.g. {{weeks: 2}}")
    ((unit, every),) = interval.items()
    if unit not in UNITS:
        raise Problem(f"repeat interval unit {unit!r}; use one of {', '.join(UNITS)}")
    if not isinstance(every, int) or isinstance(every, bool) or every < 1:
        raise Problem(f"repeat interval {unit}: {every!r} is not a whole number from 1")
    if repeat.get("until") is None:
        raise Problem(
            "repeat needs until, the last date (yaml2ics requires it), e.g. until: 2027-06-30; "
            "for a series without end write ics: RRULE:FREQ=WEEKLY"
        )
    try:
        rule = dateutil.rrule.rrule(
            freq=UNITS[unit], interval=every, until=_when(repeat["until"], "until"), dtstart=begin
        )
        text = next(line for line in str(rule).splitlines() if line.startswith("RRULE:"))
    except (TypeError, ValueError, OverflowError, StopIteration) as exc:
        raise Problem(f"repeat: {exc}") from None
    vevent.add("rrule", icalendar.vRecur.from_ical(text.removeprefix("RRULE:")))
    for key, prop in (("except_on", "exdate"), ("also_on", "rdate")):
        for value in _seq(repeat.get(key) or [], f"repeat {key}"):
            moment = _when(value, key)
            if isinstance(moment, datetime):
                vevent.add(prop, _placed(moment, zone, False, ctx, item))
            else:
                vevent.add(prop, moment)


def _seq(value: Any, what: str) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str | date | int):
        return [value]
    raise Problem(f"{what}: expected a list")


def _merge_lines(vevent: icalendar.Event, lines: Any) -> None:
    """``ics:`` lines, each ``NAME[;PARAM=…]:VALUE``, added to the event as yaml2ics adds them."""
    text = "\n".join(lines) if isinstance(lines, list) else str(lines)
    for line in filter(None, (line.strip() for line in text.splitlines())):
        if ":" not in line:
            raise Problem(f"ics: {line!r} is not NAME:VALUE, e.g. RRULE:FREQ=WEEKLY;BYDAY=WE")
        try:
            parsed = icalendar.Event.from_ical(f"BEGIN:VEVENT\r\n{line}\r\nEND:VEVENT\r\n")
        except Exception as exc:
            raise Problem(f"ics: {line!r} cannot be read ({exc})") from None
        for name, error in getattr(parsed, "errors", []):
            raise Problem(f"ics: {line!r}: {name} {error}")
        for name in parsed:
            value = parsed[name]
            if name in vevent:
                present = vevent[name]
                values = present if isinstance(present, list) else [present]
                vevent[name] = [*values, *(value if isinstance(value, list) else [value])]
            else:
                vevent[name] = value
