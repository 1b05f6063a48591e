"""Which IANA zone a calendar file means, or a refusal naming what it gave.

Events keep an IANA zone, so a TZID is read in this order: an IANA name; a Windows name
(Outlook's "W. Europe Standard Time"), by the CLDR mapping icalendar ships; otherwise the
file's own VTIMEZONE, matched against every IANA zone for the same offsets and the same
transitions, to the second, over the span the series runs in. A "globally unique" TZID such as
``/mozilla.org/20050126_1/Europe/Paris`` is matched the same way, its trailing name winning a
tie; without a VTIMEZONE its trailing name is taken, as icalendar does. An explicit UTC offset
(yaml2ics's ``15:00:00 -07:00``) is a zone with no transitions: ``Etc/GMT+7`` where one
exists, else a zone matched like a VTIMEZONE. Nothing is ever silently taken as UTC.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, available_timezones

import icalendar
from icalendar.timezone.tzp import TZP
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_NOT_PLACES = frozenset({"localtime", "Factory"})

Span = tuple[datetime, datetime]
Transition = tuple[datetime, timedelta | None]


class ZoneError(ValueError):
    """A zone the file gives that maps to no IANA zone; the message names it."""


def by_name(name: str) -> ZoneInfo | None:
    """An IANA name, a Windows name, or None."""
    cleaned = name.strip().strip("/")
    for candidate in (cleaned, WINDOWS_TO_OLSON.get(cleaned)):
        if candidate and candidate in _names():
            return ZoneInfo(candidate)
    return None


def resolve(tzid: str, vtimezone: icalendar.Timezone | None, span: Span) -> ZoneInfo:
    """The IANA zone of *tzid*, using the file's *vtimezone* for it if the name is not one."""
    if (zone := by_name(tzid)) is not None:
        return zone
    guess = _trailing_name(tzid)
    if vtimezone is None:
        if guess is not None:
            return guess
        raise ZoneError(
            f"TZID {tzid!r} is not a time zone name and the file has no VTIMEZONE defining it; "
            'use an IANA name such as "Europe/Paris"'
        )
    try:
        custom = vtimezone.to_tz(TZP("zoneinfo"), lookup_tzid=False)
    except Exception as exc:
        raise ZoneError(f"the VTIMEZONE of TZID {tzid!r} cannot be read ({exc})") from None
    hints = [tzid, str(vtimezone.get("X-LIC-LOCATION", ""))]
    found = match(custom, span, hints)
    if found is None:
        raise ZoneError(
            f"the VTIMEZONE of TZID {tzid!r} matches no IANA time zone between "
            f"{span[0]:%Y-%m-%d} and {span[1]:%Y-%m-%d} (its offsets or changes differ from "
            'every one); use an IANA name such as "Europe/Paris"'
        )
    return found


def fixed(offset: timedelta, span: Span) -> ZoneInfo:
    """An IANA zone that keeps *offset* all through *span*."""
    hours, rest = divmod(offset, timedelta(hours=1))
    if not rest and -12 <= hours <= 14:
        return ZoneInfo("UTC" if hours == 0 else f"Etc/GMT{-hours:+d}")
    found = match(timezone(offset), span, [])
    if found is None:
        raise ZoneError(f"no IANA time zone keeps the UTC offset {_offset(offset)} here")
    return found


def match(custom: tzinfo, span: Span, hints: Sequence[str]) -> ZoneInfo | None:
    """The IANA zone whose offsets equal *custom*'s at every second of *span*, best named."""
    first, last = span
    mine = transitions(custom, first, last)
    probes = [first, *(moment for moment, _ in mine)]
    wanted = [_offset_at(custom, moment) for moment in probes]
    close = [
        name
        for name in _names()
        if [_offset_at(_zone(name), moment) for moment in probes] == wanted
    ]
    exact = [name for name in close if transitions(_zone(name), first, last) == mine]
    return ZoneInfo(min(exact, key=functools.partial(_rank, hints))) if exact else None


def _rank(hints: Sequence[str], name: str) -> tuple[int, int, str]:
    """Named in a hint first, then its city, then its area (Europe/…), then canonical zones."""
    said = [hint.lower() for hint in hints if hint]
    area, _, city = name.lower().rpartition("/")
    if any(hint.rstrip("/").endswith(name.lower()) for hint in said):
        level = 0
    elif any(city in hint for hint in said):
        level = 1
    elif area and any(f"{area}/" in hint for hint in said):
        level = 2
    else:
        level = 3
    return (level, 0 if name in _canonical() else 1, name)


def transitions(tz: tzinfo, first: datetime, last: datetime) -> list[Transition]:
    """Each instant in (first, last] where the UTC offset changes, to the second."""
    found: list[Transition] = []
    moment, offset = first, _offset_at(tz, first)
    while moment < last:
        following = min(moment + _DAY, last)
        if (after := _offset_at(tz, following)) != offset:
            low, high = moment, following
            while high - low > _SECOND:
                middle = low + (high - low) / 2
                if _offset_at(tz, middle) == offset:
                    low = middle
                else:
                    high = middle
            found.append((high.replace(microsecond=0), after))
            offset = after
        moment = following
    return found


def _offset_at(tz: tzinfo, moment: datetime) -> timedelta | None:
    try:
        return moment.astimezone(tz).utcoffset()
    except (OverflowError, ValueError):
        return None


def _trailing_name(tzid: str) -> ZoneInfo | None:
    parts = tzid.strip().strip("/").split("/")
    for start in range(1, len(parts)):
        if (zone := by_name("/".join(parts[start:]))) is not None:
            return zone
    return None


def _offset(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds() // 60))
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@functools.cache
def _names() -> frozenset[str]:
    return frozenset(available_timezones() - _NOT_PLACES)


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@functools.cache
def _canonical() -> frozenset[str]:
    """The zones of zone1970.tab: one per region, without the legacy aliases."""
    try:
        text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone1970.tab").read_text()
    except (ModuleNotFoundError, FileNotFoundError):
        return frozenset()
    return frozenset(_tab_names(text.splitlines()))


def _tab_names(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        if line and not line.startswith("#"):
            columns = line.split("\t")
            if len(columns) >= 3:
                yield columns[2]
