"""What organizers type for times, zones, durations and reminders, read strictly.

Strict on purpose: a lenient reader that takes "07/12" as July, or a reminder "24" as hours,
schedules at the wrong time without a word, while an error with an example costs one retry.
Times are naive local wall times; the event's zone gives them meaning (see ``recurrence``).
"""

from __future__ import annotations

import calendar
import difflib
import re
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from bot.core.errors import UserError
from cogs.events import limits

MAX_DURATION_MINUTES = int(limits.MAX_DURATION.total_seconds() // 60)
MAX_OFFSET = timedelta(days=30)
_CLOCK = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")

_DATE_TIME = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[T ]\s*(?P<clock>(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?))?",
    re.IGNORECASE,
)
_OFFSET_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_SPAN = re.compile(r"(?:(?P<d>\d{1,5})d)?(?:(?P<h>\d{1,6})h)?(?:(?P<m>\d{1,8})m)?")
# "localtime" is whatever the host is set to, "Factory" a placeholder: neither is a place.
_NOT_PLACES = frozenset({"localtime", "Factory"})


class TimeParseError(UserError, ValueError):
    """Input that is not a time, zone or span; the message is meant for the organizer.

    A UserError, so a command that lets it escape answers with the message and its usage. Plain
    text, since imports print it too: it quotes what was typed, and a chat gets it escaped.
    """

    plain = True

    def __init__(self, message: str) -> None:
        super().__init__(message, show_usage=True)


def parse_local_datetime(text: str) -> datetime:
    """``2026-12-07 17:00`` (or ``T``, optional seconds, 24-hour) as a naive wall time."""
    given = text.strip()
    match = _DATE_TIME.fullmatch(given)
    if match is None:
        if _DATE_TIME.match(given) and _OFFSET_SUFFIX.search(given):
            raise TimeParseError(
                f'"{given}": leave out the UTC offset, the event\'s time zone sets it. '
                'Example: "2026-12-07 17:00"'
            )
        raise TimeParseError(
            f'"{given}" is not a date and time; write YYYY-MM-DD HH:MM, 24-hour, '
            'e.g. "2026-12-07 17:00"'
        )
    day = _valid_date(given, match)
    if match["clock"] is None:
        raise TimeParseError(f'give a time too, e.g. "{day:%Y-%m-%d} 17:00"')
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
    if hour > 23:
        raise TimeParseError(f'"{given}": the hour goes from 00 to 23, e.g. "{day:%Y-%m-%d} 17:00"')
    if minute > 59 or second > 59:
        raise TimeParseError(
            f'"{given}": minutes and seconds go from 00 to 59, e.g. "{day:%Y-%m-%d} 17:30"'
        )
    return datetime.combine(day, time(hour, minute, second))


def parse_date(text: str) -> date:
    """``2026-12-07``; a date with a time is refused rather than have its time ignored."""
    given = text.strip()
    match = _DATE_TIME.fullmatch(given)
    if match is None:
        raise TimeParseError(f'"{given}" is not a date; write YYYY-MM-DD, e.g. "2026-12-07"')
    day = _valid_date(given, match)
    if match["clock"] is not None:
        raise TimeParseError(f'give only the date, e.g. "{day:%Y-%m-%d}"')
    return day


def parse_zone(text: str) -> ZoneInfo:
    """An IANA zone name in any case, spaces allowed for underscores ("america/new york")."""
    given = text.strip()
    if not given:
        raise TimeParseError('give a time zone, e.g. "Europe/Paris"')
    wanted = given.replace(" ", "_").lower()
    zones = _zones()
    if wanted in zones:
        return ZoneInfo(zones[wanted])
    cities = {name.rsplit("/", 1)[-1]: name for name in zones}
    close = [name for name in zones if name.rsplit("/", 1)[-1] == wanted] or [
        *difflib.get_close_matches(wanted, zones, n=3, cutoff=0.6),
        *(cities[city] for city in difflib.get_close_matches(wanted, cities, n=3, cutoff=0.6)),
    ]
    names = list(dict.fromkeys(zones[name] for name in close))[:3]
    hint = f" Did you mean {_either(names)}?" if names else ""
    raise TimeParseError(
        f'unknown time zone "{given}".{hint} Use an IANA name, e.g. "Europe/Paris" or '
        '"America/New_York"'
    )


def parse_duration_minutes(text: str) -> int:
    """``90``, ``90m``, ``1h``, ``1h30``, ``1h30m`` or ``1d``: minutes, from 1 to 7 days."""
    given = text.strip()
    span = _span(given, bare_minutes=True)
    if span is None:
        raise TimeParseError(f'"{given}" is not a duration; write e.g. "90m", "1h30" or "2h"')
    minutes = span // timedelta(minutes=1)
    if not 1 <= minutes <= MAX_DURATION_MINUTES:
        raise TimeParseError(
            f'"{given}" is out of range: a duration is 1 minute to {limits.MAX_DURATION.days} '
            'days, e.g. "1h30"'
        )
    return minutes


def parse_offsets(text: str) -> list[timedelta]:
    """Reminder offsets such as ``24h,15m`` or ``none``; distinct, longest first.

    Units are required, since a bare "24" could be minutes or hours.
    """
    given = text.strip()
    if given.lower() == "none":
        return []
    offsets: set[timedelta] = set()
    for piece in (piece.strip() for piece in given.split(",")):
        span = _span(piece, bare_minutes=False)
        if span is None:
            raise TimeParseError(
                f'"{piece}" is not a reminder time; write e.g. "24h,15m", "1d, 2h" or "none"'
            )
        if not timedelta(0) < span <= MAX_OFFSET:
            raise TimeParseError(
                f'"{piece}" is out of range: a reminder is 1 minute to 30 days before, e.g. "1d"'
            )
        offsets.add(span)
    if len(offsets) > limits.MAX_REMINDERS:
        raise TimeParseError(
            f"{len(offsets)} reminders: an occurrence has at most {limits.MAX_REMINDERS}, "
            'e.g. "1d,1h,15m"'
        )
    return sorted(offsets, reverse=True)


def looks_like_clock(text: str) -> bool:
    """``17:00``: what lands in the zone option when a start is typed without quotes."""
    return _CLOCK.fullmatch(text.strip()) is not None


def _valid_date(given: str, match: re.Match[str]) -> date:
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    clock = f" {match['clock']}" if match["clock"] else ""
    if year < 1:
        raise TimeParseError(f'"{given}" is not a date (there is no year 0). Example: "2026-12-07"')
    if not limits.FIRST_YEAR <= year <= limits.LAST_YEAR:
        raise TimeParseError(
            f'"{given}" is out of range: dates go from {limits.FIRST_YEAR} to '
            f'{limits.LAST_YEAR}. Example: "2027-01-04{clock}"'
        )
    if not 1 <= month <= 12:
        raise TimeParseError(
            f'"{given}" is not a date (there is no month {month}). Example: "{year}-12-07{clock}"'
        )
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise TimeParseError(
            f'"{given}" is not a date ({calendar.month_name[month]} has {last} days in {year}). '
            f'Example: "{year}-{month:02d}-{max(1, min(day, last)):02d}{clock}"'
        )
    return date(year, month, day)


def _span(text: str, *, bare_minutes: bool) -> timedelta | None:
    """``1d2h30m``, minutes also after hours without their unit (``1h30``), or alone if allowed."""
    compact = text.lower().replace(" ", "")
    if re.fullmatch(r".*h\d+|\d+" if bare_minutes else r".*h\d+", compact):
        compact += "m"
    match = _SPAN.fullmatch(compact)
    if not compact or match is None:
        return None
    days, hours, minutes = (int(match[unit] or 0) for unit in ("d", "h", "m"))
    return timedelta(days=days, hours=hours, minutes=minutes)


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


@cache
def _zones() -> dict[str, str]:
    """Lower-cased zone names to the real ones; reading the zone list from disk is slow."""
    return {name.lower(): name for name in sorted(available_timezones() - _NOT_PLACES)}
