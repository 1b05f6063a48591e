"""VTIMEZONE components that stay right for as long as a series runs.

A list of transitions ends somewhere, and a calendar app that reads only the feed then places
every later occurrence an hour off. So each VTIMEZONE ends in rules: the TZif file that
zoneinfo reads closes with a POSIX TZ string (``CET-1CEST,M3.5.0,M10.5.0/3``) that tzdata
guarantees for every instant after its last listed transition; it becomes a STANDARD and a
DAYLIGHT component with a yearly RRULE, starting in the first year from which the zone's real
transitions all follow it. Transitions between the first event and that year are listed one
by one before them. A rule whose change falls outside its day (``M3.4.4/26``, Friday 02:00
after the fourth Thursday) moves to the next or previous day; a zone whose rule cannot be said
as an RRULE keeps a list of transitions to the last year events are dated in.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from cogs.events import limits, zones

_RULES_CHECKED_UNTIL = 2040
_DAYS = ("SU", "MO", "TU", "WE", "TH", "FR", "SA")
_NAME = r"(?:[A-Za-z]{3,}|<[^>]+>)"
_OFFSET = r"[+-]?\d{1,3}(?::\d{2}){0,2}"
_POSIX = re.compile(
    rf"(?P<std>{_NAME})(?P<std_offset>{_OFFSET})"
    rf"(?:(?P<dst>{_NAME})(?P<dst_offset>{_OFFSET})?"
    rf",M(?P<m1>\d+)\.(?P<w1>\d)\.(?P<d1>\d)(?:/(?P<t1>{_OFFSET}))?"
    rf",M(?P<m2>\d+)\.(?P<w2>\d)\.(?P<d2>\d)(?:/(?P<t2>{_OFFSET}))?)?"
)


@dataclass(frozen=True)
class Onset:
    """One yearly change: in *month*, weekday *day* (0 Sunday) of *week* (5: last), at *at*
    local time before the change, to *offset* named *name*."""

    month: int
    week: int
    day: int
    at: timedelta
    before: timedelta
    offset: timedelta
    name: str
    daylight: bool

    def instant(self, year: int) -> datetime:
        first = date(year, self.month, 1)
        if self.week == 5:
            following = date(year + self.month // 12, self.month % 12 + 1, 1)
            last = following - timedelta(days=1)
            day = last - timedelta(days=(last.isoweekday() % 7 - self.day) % 7)
        else:
            day = first + timedelta(days=(self.day - first.isoweekday() % 7) % 7)
            day += timedelta(weeks=self.week - 1)
        local = datetime.combine(day, time(0)) + self.at
        return (local - self.before).replace(tzinfo=UTC)

    def rrule(self) -> dict[str, object] | None:
        """The yearly RRULE of this onset, with its time moved into the day it falls on."""
        shift = self.at // timedelta(days=1)
        rule: dict[str, object] = {"FREQ": "YEARLY", "BYMONTH": self.month}
        weekday = _DAYS[(self.day + shift) % 7]
        if shift == 0:
            rule["BYDAY"] = f"{-1 if self.week == 5 else self.week}{weekday}"
            return rule
        if self.week == 5:
            days = range(-7 + shift, shift)
        else:
            days = range(7 * (self.week - 1) + 1 + shift, 7 * self.week + 1 + shift)
        if not all(-28 <= n <= -1 or 1 <= n <= 28 for n in days):
            return None
        rule["BYDAY"] = weekday
        rule["BYMONTHDAY"] = list(days)
        return rule

    def local_time(self) -> time:
        return (datetime.min + self.at % timedelta(days=1)).time()


def vtimezone(zone: ZoneInfo, first: date) -> icalendar.Timezone:
    """The VTIMEZONE of *zone* for events from *first* on, ending in rules where it can."""
    return _build(zone.key, max(first.year, limits.FIRST_YEAR))


@functools.lru_cache(maxsize=256)
def _build(key: str, first_year: int) -> icalendar.Timezone:
    zone = ZoneInfo(key)
    start = datetime(first_year, 1, 1, tzinfo=UTC)
    onsets = _onsets(_footer(key))
    horizon = datetime(_RULES_CHECKED_UNTIL, 1, 1, tzinfo=UTC)
    actual = zones.transitions(zone, start, horizon)
    rules_from = _rules_from(actual, onsets, first_year)
    if onsets is not None and rules_from is None:
        onsets = None
    if onsets is None:
        listed = zones.transitions(zone, start, datetime(limits.LAST_YEAR, 12, 31, tzinfo=UTC))
    else:
        listed = [t for t in actual if t[0].year < (rules_from or first_year)]
    component = icalendar.Timezone()
    component.add("tzid", key)
    offset = start.astimezone(zone).utcoffset() or timedelta(0)
    opening = start - timedelta(days=1)
    component.add_component(
        _part(zone, opening, offset, offset, bool(start.astimezone(zone).dst()), None)
    )
    for moment, after in listed:
        before = (moment - timedelta(seconds=1)).astimezone(zone).utcoffset() or timedelta(0)
        daylight = bool(moment.astimezone(zone).dst())
        new = before if after is None else after
        component.add_component(_part(zone, moment, before, new, daylight, None))
    for onset in onsets or ():
        moment = onset.instant(rules_from or first_year)
        component.add_component(
            _part(zone, moment, onset.before, onset.offset, onset.daylight, onset)
        )
    return component


def _part(
    zone: ZoneInfo,
    moment: datetime,
    before: timedelta,
    after: timedelta,
    daylight: bool,
    onset: Onset | None,
) -> icalendar.Component:
    part = icalendar.TimezoneDaylight() if daylight else icalendar.TimezoneStandard()
    part.add("dtstart", (moment + before).replace(tzinfo=None))
    part.add("tzoffsetfrom", before)
    part.add("tzoffsetto", after)
    part.add("tzname", onset.name if onset else moment.astimezone(zone).tzname() or "")
    if onset is not None:
        rule = onset.rrule()
        assert rule is not None, "onsets without an RRULE are listed instead"
        part.add("rrule", rule)
    return part


def _rules_from(
    actual: list[zones.Transition], onsets: tuple[Onset, Onset] | None, first_year: int
) -> int | None:
    """The first year from which every real transition is one the onsets predict."""
    if onsets is None:
        last = max((moment.year for moment, _ in actual), default=first_year - 1)
        return last + 1
    if any(onset.rrule() is None for onset in onsets):
        return None
    found = None
    for year in range(_RULES_CHECKED_UNTIL - 1, first_year - 1, -1):
        low = datetime(year, 1, 1, tzinfo=UTC)
        high = datetime(year + 1, 1, 1, tzinfo=UTC)
        real = {(m, o) for m, o in actual if low <= m < high}
        predicted = {
            (instant, onset.offset)
            for onset in onsets
            for near in (year - 1, year, year + 1)
            if low <= (instant := onset.instant(near)) < high
        }
        if real != predicted:
            break
        found = year
    return found


def _onsets(posix: str | None) -> tuple[Onset, Onset] | None:
    match = _POSIX.fullmatch(posix or "")
    if match is None or match["dst"] is None:
        return None
    std = -_seconds(match["std_offset"])
    dst = -_seconds(match["dst_offset"]) if match["dst_offset"] else std + timedelta(hours=1)
    two = timedelta(hours=2)
    return (
        Onset(
            int(match["m1"]),
            int(match["w1"]),
            int(match["d1"]),
            _seconds(match["t1"]) if match["t1"] else two,
            std,
            dst,
            match["dst"].strip("<>"),
            dst > std,
        ),
        Onset(
            int(match["m2"]),
            int(match["w2"]),
            int(match["d2"]),
            _seconds(match["t2"]) if match["t2"] else two,
            dst,
            std,
            match["std"].strip("<>"),
            std > dst,
        ),
    )


def _seconds(text: str) -> timedelta:
    sign = -1 if text.startswith("-") else 1
    parts = [int(part) for part in text.lstrip("+-").split(":")]
    hours, minutes, seconds = ([*parts, 0, 0])[:3]
    return sign * timedelta(hours=hours, minutes=minutes, seconds=seconds)


@functools.cache
def _footer(key: str) -> str | None:
    """The POSIX TZ string closing the TZif file zoneinfo reads for *key* (version 2 on)."""
    data = None
    for folder in zoneinfo.TZPATH:
        candidate = Path(folder) / key
        if candidate.is_file():
            data = candidate.read_bytes()
            break
    if data is None:
        try:
            resource = importlib.resources.files("tzdata.zoneinfo").joinpath(key)
            data = resource.read_bytes()
        except (ModuleNotFoundError, FileNotFoundError, OSError):
            return None
    if not data.startswith(b"TZif") or data[4:5] not in (b"2", b"3", b"4"):
        return None
    lines = data.rstrip(b"\n").rsplit(b"\n", 1)
    return lines[-1].decode("ascii", "replace") if len(lines) == 2 else None
