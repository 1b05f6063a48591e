"""Recurring events, expanded in the event's own time zone.

An event is a local wall time (a naive ``datetime``), an IANA zone and an optional RFC 5545 RRULE.
dateutil expands the rule in wall time and only then does each wall time become an instant, so a
17:00 Paris meeting stays at 17:00 Paris when the clocks change. Every instant returned is aware
UTC.

The policies:

* A wall time that does not exist (02:30 on a spring-forward night) becomes the instant the
  clocks jump, the end of the gap: 02:30 on 2027-03-28 in Paris is 03:00 CEST, 01:00 UTC. That is
  the earliest moment the local clock reads the requested time or later. RFC 5545 (3.3.5) and
  Python instead read it with the offset from before the gap, shifting it by the gap's length to
  03:30, so a calendar app reading the feed shows such an occurrence later than the bot has it.
* A wall time that occurs twice (01:30 on a fall-back night in New York) is the first of the two,
  ``fold=0``, so reminders err early rather than late.
* No occurrence is produced twice. Wall times that land on one instant (a rule every 15 minutes
  through a gap) count once, and the repeated hour of a fall-back night is not walked a second
  time, since expansion is in wall time.
* "monthly" on the 29th to 31st skips the months without that day, as RFC 5545 and dateutil do:
  on the 31st that is 7 meetings a year. Clamping to the month's end instead would part the bot
  from every calendar app reading the feed; the RRULE ``FREQ=MONTHLY;BYMONTHDAY=-1`` says that.
* "monthly-nth" takes the weekday and its rank from the start: the 1st to 7th give "first", the
  22nd to 28th "fourth" (even when that is also the last). A start on the 29th to 31st is a fifth
  weekday, which most months lack, so it becomes the last one (2026-12-29, the fifth Tuesday,
  gives ``BYDAY=-1TU``): that exists every month and is the start itself in the start's month.
* The start must itself be an occurrence. RFC 5545 counts DTSTART as the first occurrence even
  when the rule does not match it, dateutil does not; refusing such rules keeps both readings the
  same.
* ``until`` is a local date, meaning through the end of that day. It is stored as UNTIL in UTC,
  as RFC 5545 requires beside a zoned DTSTART, and compared with instants, not wall times.
* Limits that keep a chat bot sane: occurrences at least 15 minutes apart (checked over the first
  200), COUNT at most 1000 (a counted series is expanded from its start every time), INTERVAL at
  most 10000, rules of at most 500 characters, and an occurrence within the first 50 years.
* A budget, so that no rule stalls the bot: at most ``limits.MAX_PER_YEAR`` occurrences in the
  first year, the first five found within ``limits.RULE_BUDGET_SECONDS``, and no sub-daily rule
  whose BY parts make dateutil search more than ``limits.MAX_SEARCH_WIDTH`` steps a day (a rule
  every 7 seconds on Monday 29 February searched 86,400 steps a day for 28 years). The step
  bound comes first because one dateutil step cannot be interrupted: the clock is read between
  occurrences.
* Starts and UNTIL lie in ``limits.FIRST_YEAR`` to ``limits.LAST_YEAR``.
* RDATEs (``rdates``) are occurrences beside the rule's, as RFC 5545 has them; each is skipped,
  moved and identified by its own instant like any other.

Named repeats are stored in their shortest form (``FREQ=WEEKLY``, not ``FREQ=WEEKLY;BYDAY=MO``),
so that moving the start to another weekday or day of the month carries the series along.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
import time as clocks
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule as Rule
from dateutil.rrule import rrulestr

from bot.core.errors import UserError
from cogs.events import limits

REPEATS = ("none", "daily", "weekly", "biweekly", "monthly", "monthly-nth", "quarterly")
MIN_GAP = timedelta(minutes=15)
MAX_COUNT = 1000
MAX_INTERVAL = 10_000
MAX_RULE_LENGTH = 500

_CHECKED = 200
_SCANNED_YEARS = 50
_EXAMPLE = 'e.g. "FREQ=WEEKLY;BYDAY=MO,TH"'
_NAMED = {
    "daily": "FREQ=DAILY",
    "weekly": "FREQ=WEEKLY",
    "biweekly": "FREQ=WEEKLY;INTERVAL=2",
    "monthly": "FREQ=MONTHLY",
    "quarterly": "FREQ=MONTHLY;INTERVAL=3",
}
_PARTS = (
    "FREQ",
    "INTERVAL",
    "WKST",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYMONTHDAY",
    "BYDAY",
    "BYHOUR",
    "BYMINUTE",
    "BYSECOND",
    "BYSETPOS",
    "COUNT",
    "UNTIL",
)
_DAY_FIELDS = frozenset({"BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY"})
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}
_STEPS = {
    "WEEKLY": timedelta(weeks=1),
    "DAILY": timedelta(days=1),
    "HOURLY": timedelta(hours=1),
    "MINUTELY": timedelta(minutes=1),
    "SECONDLY": timedelta(seconds=1),
}
_SUB_DAILY = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
_NO_MOVES: Mapping[datetime, datetime] = MappingProxyType({})


class RecurrenceError(UserError, ValueError):
    """A repeat the organizer typed cannot be used; the message is meant for them.

    A UserError, so a command that lets it escape answers with the message and its usage. Plain
    text, since imports print it too: it quotes what was typed, and a chat gets it escaped.
    """

    plain = True

    def __init__(self, message: str) -> None:
        super().__init__(message, show_usage=True)


@dataclass(frozen=True, order=True, slots=True)
class Occurrence:
    """One occurrence; ``original_start`` is where the rule puts it, and identifies it for good."""

    start: datetime
    original_start: datetime

    @property
    def moved(self) -> bool:
        return self.start != self.original_start


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """The instant of a wall time, by the module's DST policy (gap's end; first of two)."""
    if local.tzinfo is not None:
        raise ValueError(f"to_utc takes a naive wall time, not {local.isoformat()}")
    first = local.replace(tzinfo=tz, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == local:
        return instant
    # In a gap, the two folds read the wall time with the offsets from either side of the jump,
    # so the jump lies between the two readings; zoneinfo does not expose it, hence the search.
    offset_before = first.utcoffset()
    later_reading = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = math.floor(later_reading.timestamp()), math.ceil(instant.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def build_rrule(
    repeat: str,
    start_local: datetime,
    tz: ZoneInfo,
    *,
    until: date | None = None,
    count: int | None = None,
    clock: Callable[[], float] = clocks.perf_counter,
) -> str | None:
    """The RRULE to store for what the organizer typed, checked against their start.

    ``repeat`` is a name from REPEATS or an RRULE, with or without ``RRULE:``. Passing a stored
    rule back in re-checks it, e.g. after the start moved.
    """
    name = repeat.strip().lower()
    if name == "none":
        if until is not None or count is not None:
            raise RecurrenceError("until and count need a repeat, e.g. repeat=weekly count=10")
        return None
    if name == "monthly-nth":
        rank = (start_local.day - 1) // 7 + 1
        parts = {"FREQ": "MONTHLY", "BYDAY": f"{-1 if rank == 5 else rank}{_weekday(start_local)}"}
    elif name in _NAMED:
        parts = dict(_split(_NAMED[name]))
    elif "=" in repeat:
        parts = dict(_split(repeat))
    else:
        raise RecurrenceError(
            f'unknown repeat "{repeat.strip()}": use one of {", ".join(REPEATS)}, '
            f"or an RRULE, {_EXAMPLE}"
        )
    if until is not None and count is not None:
        raise RecurrenceError("give until or count, not both, e.g. count=10")
    if (until is not None or count is not None) and parts.keys() & {"UNTIL", "COUNT"}:
        raise RecurrenceError("the RRULE already ends (UNTIL or COUNT); leave out until and count")
    if count is not None:
        parts["COUNT"] = str(count)
    if until is not None:
        parts["UNTIL"] = _utc_stamp(to_utc(datetime.combine(until, time(23, 59, 59)), tz))
    elif "UNTIL" in parts:
        parts["UNTIL"] = _utc_stamp(_until(parts["UNTIL"], tz))
    text = _join(parts)
    if len(text) > MAX_RULE_LENGTH:
        raise RecurrenceError(f"the RRULE is too long: keep it under {MAX_RULE_LENGTH} characters")
    _check(parts, start_local, tz, clock)
    return text


def occurrences(
    start_local: datetime,
    tz: ZoneInfo,
    rrule: str | None,
    *,
    after: datetime,
    before: datetime | None = None,
    limit: int | None = None,
    exdates: Collection[datetime] = (),
    moves: Mapping[datetime, datetime] = _NO_MOVES,
    rdates: Collection[datetime] = (),
) -> list[Occurrence]:
    """Occurrences starting strictly between ``after`` and ``before``, in order, at most ``limit``.

    Bounds, skips and moves are aware instants; skips and moves are keyed by the original start,
    and those that match no occurrence of the rule (say, after it changed) are ignored. A moved
    occurrence sorts at its new start, even if its original start lies outside the bounds. Equal
    starts (a move onto another occurrence) are ordered by original start.
    """
    if before is None and limit is None:
        raise ValueError("occurrences needs before or limit: a series may never end")
    low = _aware_utc(after)
    high = None if before is None else _aware_utc(before)
    skipped = {_aware_utc(instant) for instant in exdates}
    shifted = {
        key: _aware_utc(new)
        for original, new in moves.items()
        if (key := _aware_utc(original)) not in skipped
    }
    parts = None if rrule is None else _split(rrule)
    extra = sorted({_aware_utc(instant) for instant in rdates})

    def within(instant: datetime) -> bool:
        return low < instant and (high is None or instant < high)

    def regular() -> Iterator[Occurrence]:
        added = (instant for instant in extra if instant > low)
        previous = None
        for instant in heapq.merge(_instants(parts, start_local, tz, low), added):
            if high is not None and instant >= high:
                return
            if instant != previous and instant not in skipped and instant not in shifted:
                yield Occurrence(instant, instant)
            previous = instant

    moved = sorted(
        Occurrence(new, original)
        for original, new in shifted.items()
        if within(new) and (original in extra or _is_occurrence(parts, start_local, tz, original))
    )
    return list(itertools.islice(heapq.merge(regular(), moved), limit))


def describe(rrule: str | None, start_local: datetime) -> str:
    """The rule's pattern in words; where it ends (UNTIL, COUNT) is left to the caller."""
    if rrule is None:
        return "once"
    parts = _explicit(_split(rrule), start_local)
    every = int(parts.pop("INTERVAL", "1"))
    freq = parts.pop("FREQ")
    for name in ("WKST", "UNTIL", "COUNT"):
        parts.pop(name, None)
    days = parts.get("BYDAY", "").split(",")
    if freq == "DAILY" and not parts:
        return "every day" if every == 1 else f"every {every} days"
    if freq == "WEEKLY" and parts.keys() == {"BYDAY"} and set(days) <= set(_DAYS):
        names = [_DAY_NAMES[_DAYS.index(day)] for day in sorted(set(days), key=_DAYS.index)]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return f"every week on {listed}" if every == 1 else f"every {every} weeks on {listed}"
    if freq == "MONTHLY" and parts.keys() == {"BYMONTHDAY"} and parts["BYMONTHDAY"].isdigit():
        day = int(parts["BYMONTHDAY"])
        return f"monthly on day {day}" if every == 1 else f"every {every} months on day {day}"
    nth = re.fullmatch(r"([+-]?\d)(MO|TU|WE|TH|FR|SA|SU)", days[0])
    if freq == "MONTHLY" and parts.keys() == {"BYDAY"} and nth and int(nth[1]) in _ORDINALS:
        which = f"{_ORDINALS[int(nth[1])]} {_DAY_NAMES[_DAYS.index(nth[2])]}"
        return f"{which} of each month" if every == 1 else f"{which} of every {every} months"
    return f"custom: {rrule}"


def _instants(
    parts: Mapping[str, str] | None, start_local: datetime, tz: ZoneInfo, after: datetime
) -> Iterator[datetime]:
    """The rule's instants after ``after``, increasing, each once."""
    start = start_local.replace(microsecond=0)
    if parts is None:
        if (only := to_utc(start, tz)) > after:
            yield only
        return
    until = _until(parts["UNTIL"], tz) if "UNTIL" in parts else None
    rule = {name: value for name, value in parts.items() if name != "UNTIL"}
    dtstart = start
    if "COUNT" not in rule:
        dtstart = _rebased(rule, start, after.astimezone(tz).replace(tzinfo=None))
    previous = after
    for wall in _dateutil(rule, start, dtstart):
        instant = to_utc(wall, tz)
        if until is not None and instant > until:
            return
        if instant > previous:
            yield instant
            previous = instant


def _rebased(parts: Mapping[str, str], start: datetime, wall: datetime) -> datetime:
    """A later DTSTART on the rule's grid of periods, not after ``wall``.

    dateutil walks every period from DTSTART, which for a daily series started years ago means
    thousands of steps per lookup. Moving DTSTART by whole intervals keeps the grid; the time of
    day stays, and ``_explicit`` pins what dateutil would take from DTSTART's date. dateutil starts
    a weekly rule's first period at DTSTART instead of the week's start, which changes what
    BYSETPOS picks there, so with BYSETPOS that period stays wholly before ``wall``, where the
    caller discards everything anyway. COUNT rules cannot move: the count runs from the start.
    """
    freq, interval = parts["FREQ"], int(parts.get("INTERVAL", "1"))

    def period(index: int) -> datetime:
        if freq == "YEARLY":
            return datetime.combine(date(start.year + index * interval, 1, 1), start.time())
        if freq == "MONTHLY":
            years, month = divmod(start.month - 1 + index * interval, 12)
            return datetime.combine(date(start.year + years, month + 1, 1), start.time())
        return start + index * interval * _STEPS[freq]

    if freq == "YEARLY":
        index = (wall.year - start.year) // interval
    elif freq == "MONTHLY":
        index = ((wall.year - start.year) * 12 + wall.month - start.month) // interval
    else:
        index = (wall - start) // (interval * _STEPS[freq])
    if "BYSETPOS" in parts:
        index -= 1
    if index >= 1 and period(index) > wall:
        index -= 1
    return period(index) if index >= 1 else start


def _dateutil(
    parts: Mapping[str, str], start_local: datetime, dtstart: datetime
) -> Iterator[datetime]:
    """Wall times of the rule from ``dtstart``, WKST defaulting to RFC 5545's Monday.

    dateutil's default is ``calendar.firstweekday()``, process-wide state that other code may set.
    """
    rule = _explicit(parts, start_local)
    rule.setdefault("WKST", "MO")
    clock = dtstart.time() if rule["FREQ"] in _SUB_DAILY else time()
    return iter(_template(_join(rule), clock).replace(dtstart=dtstart))


@lru_cache(maxsize=1024)
def _template(rule: str, clock: time) -> Rule:
    """A parsed rule whose DTSTART ``replace`` swaps in: three times cheaper than parsing.

    ``replace`` keeps the parts given and derives the missing ones from the new DTSTART again;
    ``_explicit`` has written out those dateutil takes from its date, so only its time of day
    remains, which is rederived. Sub-daily rules are the exception: dateutil trims their BYHOUR,
    BYMINUTE, BYSECOND to what DTSTART's time and the interval can reach, hence their clock key.
    """
    parsed = rrulestr(rule, dtstart=datetime.combine(date(2000, 1, 3), clock))
    assert isinstance(parsed, Rule), "one RRULE line never parses to a set"
    return parsed


def _explicit(parts: Mapping[str, str], start_local: datetime) -> dict[str, str]:
    """The rule with the days dateutil would take from DTSTART written out.

    dateutil fills a missing BYDAY / BYMONTHDAY / BYMONTH from DTSTART; pinning them to the real
    start lets ``_rebased`` move DTSTART freely.
    """
    explicit = dict(parts)
    if explicit.keys() & _DAY_FIELDS:
        return explicit
    if explicit["FREQ"] == "WEEKLY":
        explicit["BYDAY"] = _weekday(start_local)
    elif explicit["FREQ"] in ("MONTHLY", "YEARLY"):
        explicit["BYMONTHDAY"] = str(start_local.day)
        if explicit["FREQ"] == "YEARLY":
            explicit.setdefault("BYMONTH", str(start_local.month))
    return explicit


def _is_occurrence(
    parts: Mapping[str, str] | None, start_local: datetime, tz: ZoneInfo, instant: datetime
) -> bool:
    following = _instants(parts, start_local, tz, instant - timedelta(microseconds=1))
    return next(following, None) == instant


def first_of_rule(repeat: str, start_local: datetime) -> datetime | None:
    """The rule's first wall time at or after *start_local*, None if it finds none in 50 years.

    RFC 5545 counts a DTSTART that the rule does not match as an extra occurrence; an import
    keeps that reading by starting the series here and adding the DTSTART as an RDATE.
    """
    parts = _split(repeat)
    _check_search_width(
        parts, int(parts.get("INTERVAL", "1")) if parts.get("INTERVAL", "1").isdigit() else 1
    )
    start = start_local.replace(microsecond=0)
    pattern = {name: value for name, value in parts.items() if name not in ("COUNT", "UNTIL")}
    horizon = start + timedelta(days=366 * _SCANNED_YEARS)
    try:
        _check_days(pattern, start, clocks.perf_counter)
        for wall in _dateutil(pattern, start, start):
            return wall if wall <= horizon else None
    except (ValueError, OverflowError):
        return None
    return None


def _check(
    parts: Mapping[str, str],
    start_local: datetime,
    tz: ZoneInfo,
    clock: Callable[[], float] = clocks.perf_counter,
) -> None:
    """Refuses rules that never occur, miss their start, run too often, too long or too slowly."""
    start = _check_bounds(parts, start_local, tz)
    # dateutil stops only at an occurrence, at UNTIL or COUNT after one, or in the year 9999, so
    # looking for a rule that never occurs runs to 9999: seconds, for a daily rule. The calendar
    # repeats every 400 years, weekdays and leap days included, so the same rule from the same
    # start some centuries on behaves the same, and there 9999 is at most 450 years away.
    centuries = (MAXYEAR - _SCANNED_YEARS - start.year) // 400 * 400
    shifted = start.replace(year=start.year + centuries)
    pattern = {name: value for name, value in parts.items() if name not in ("COUNT", "UNTIL")}
    try:
        _check_days(pattern, shifted, clock)
        walls = _timed(_dateutil(pattern, shifted, shifted), clock)
    except RecurrenceError:
        raise
    except (ValueError, OverflowError) as exc:
        raise RecurrenceError(f"could not read the RRULE ({exc}); {_EXAMPLE}") from None
    if not walls:
        raise RecurrenceError(f"this RRULE never occurs; {_EXAMPLE}")
    if walls[0] != shifted:
        first = walls[0].replace(year=walls[0].year - centuries)
        raise RecurrenceError(
            f"the start {start:%Y-%m-%d %H:%M} ({start:%A}) is not one of the RRULE's "
            f'occurrences; the first one after it is {first:%Y-%m-%d %H:%M}. Use start="'
            f'{first:%Y-%m-%d %H:%M}" or change the RRULE'
        )
    if "COUNT" in parts:
        walls = walls[: int(parts["COUNT"])]
    gap = min((b - a for a, b in itertools.pairwise(walls)), default=MIN_GAP)
    if gap < MIN_GAP:
        amount, unit = (
            (gap.seconds // 60, "minute") if gap.seconds >= 60 else (gap.seconds, "second")
        )
        apart = f"{amount} {unit}{'' if amount == 1 else 's'}"
        raise RecurrenceError(
            f"this RRULE has occurrences {apart} apart; keep them at least 15 minutes apart, "
            'e.g. "FREQ=MINUTELY;INTERVAL=30"'
        )
    _check_year(pattern, shifted, clock)


def _check_bounds(parts: Mapping[str, str], start_local: datetime, tz: ZoneInfo) -> datetime:
    """The rule's numbers and dates in range; the start to expand from."""
    limits.check_day(start_local, "the start")
    interval = parts.get("INTERVAL", "1")
    if not (interval.isdigit() and 1 <= int(interval) <= MAX_INTERVAL):
        raise RecurrenceError(
            f"INTERVAL must be a whole number from 1 to {MAX_INTERVAL}, {_EXAMPLE}"
        )
    if "COUNT" in parts and not (
        parts["COUNT"].isdigit() and 1 <= int(parts["COUNT"]) <= MAX_COUNT
    ):
        raise RecurrenceError(f"count must be from 1 to {MAX_COUNT}, e.g. count=10")
    _check_search_width(parts, int(interval))
    start = start_local.replace(microsecond=0)
    if "UNTIL" in parts:
        limits.check_day(_until(parts["UNTIL"], tz), "UNTIL")
    if "UNTIL" in parts and _until(parts["UNTIL"], tz) < to_utc(start, tz):
        raise RecurrenceError(
            f"the series ends before its start; give an until on or after {start:%Y-%m-%d}, "
            f"e.g. until={start + timedelta(days=90):%Y-%m-%d}"
        )
    return start


def _check_days(pattern: Mapping[str, str], start: datetime, clock: Callable[[], float]) -> None:
    """For a sub-daily rule limited to some days, those days must come often enough: dateutil
    walks every day between them, so days years apart stall it."""
    if pattern["FREQ"] in _SUB_DAILY and pattern.keys() & (_DAY_FIELDS | {"BYMONTH"}):
        days = {k: v for k, v in pattern.items() if k in _DAY_FIELDS | {"BYMONTH", "WKST"}}
        _timed(_dateutil({"FREQ": "DAILY", **days}, start, start), clock)


def _timed(walls: Iterator[datetime], clock: Callable[[], float]) -> list[datetime]:
    """The first _CHECKED wall times, refusing a rule whose first five take over the budget."""
    began = clock()
    found: list[datetime] = []
    for wall in walls:
        found.append(wall)
        if len(found) >= _CHECKED:
            break
        if len(found) < 5 and clock() - began > limits.RULE_BUDGET_SECONDS:
            raise RecurrenceError(
                f"this RRULE is too slow to expand: finding its first five occurrences took "
                f"over {limits.RULE_BUDGET_SECONDS * 1000:.0f} ms, so every list and reminder "
                f"would wait on it. Give the days plainly, {_EXAMPLE}"
            )
    return found


def _check_year(pattern: Mapping[str, str], start: datetime, clock: Callable[[], float]) -> None:
    """At most MAX_PER_YEAR occurrences in the rule's first year, counted within a budget."""
    year_later = start + timedelta(days=365)
    began = clock()
    for count, wall in enumerate(_dateutil(pattern, start, start), 1):
        if wall >= year_later:
            return
        if count > limits.MAX_PER_YEAR:
            raise RecurrenceError(
                f"this RRULE gives over {limits.MAX_PER_YEAR:,} occurrences a year; keep it "
                f'to one every 15 minutes at most, e.g. "FREQ=HOURLY"'
            )
        if count % 1000 == 0 and clock() - began > 40 * limits.RULE_BUDGET_SECONDS:
            raise RecurrenceError(
                "this RRULE is too slow to expand over its first year; give the days and "
                f"times plainly, {_EXAMPLE}"
            )


def _check_search_width(parts: Mapping[str, str], interval: int) -> None:
    """Refuses sub-daily rules whose BY parts make dateutil search a day step by step.

    For SECONDLY and MINUTELY with BY parts, dateutil looks for each next time by stepping
    INTERVAL through the day, up to a day's steps divided by their common divisor: 86,400 for a
    7-second interval, on every day the rule walks past.
    """
    steps = {"SECONDLY": 86_400, "MINUTELY": 1440}.get(parts["FREQ"])
    filters = parts.keys() - {"FREQ", "INTERVAL", "WKST", "COUNT", "UNTIL"}
    if steps is None or not filters:
        return
    width = steps // math.gcd(interval, steps)
    if width > limits.MAX_SEARCH_WIDTH:
        raise RecurrenceError(
            f"FREQ={parts['FREQ']} with INTERVAL={interval} and "
            f"{', '.join(sorted(filters))} makes every day a search of {width:,} steps; "
            'use FREQ=DAILY with BYHOUR and BYMINUTE, e.g. "FREQ=DAILY;BYHOUR=10;BYMINUTE=0"'
        )


@lru_cache(maxsize=1024)
def _split(rule: str) -> Mapping[str, str]:
    """NAME=VALUE parts of one RRULE line, checked for shape only; dateutil judges the values."""
    body = rule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if "\n" in body or "DTSTART" in body.upper():
        raise RecurrenceError(f"give only the RRULE line, without DTSTART, {_EXAMPLE}")
    parts: dict[str, str] = {}
    for item in filter(None, (item.strip() for item in body.upper().split(";"))):
        name, _, value = (side.strip() for side in item.partition("="))
        if not name or not value:
            raise RecurrenceError(f'"{item}" is not a NAME=VALUE part of an RRULE, {_EXAMPLE}')
        if name not in _PARTS:
            raise RecurrenceError(f'"{name}" is not an RRULE part, {_EXAMPLE}')
        if name in parts:
            raise RecurrenceError(f"{name} appears twice in the RRULE, {_EXAMPLE}")
        parts[name] = value
    if "FREQ" not in parts:
        raise RecurrenceError(f"an RRULE starts with FREQ, {_EXAMPLE}")
    if parts["FREQ"] not in _STEPS and parts["FREQ"] not in ("MONTHLY", "YEARLY"):
        raise RecurrenceError(
            f"FREQ is one of YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY, MINUTELY, SECONDLY, {_EXAMPLE}"
        )
    if "UNTIL" in parts and "COUNT" in parts:
        raise RecurrenceError("an RRULE has UNTIL or COUNT, not both, e.g. FREQ=DAILY;COUNT=10")
    return MappingProxyType(parts)


def _until(value: str, tz: ZoneInfo) -> datetime:
    """UNTIL as an instant; a date or a floating time is read in the event's zone.

    Only the UTC form is valid beside a zoned DTSTART, but organizers paste the others, and their
    meaning is plain; ``build_rrule`` stores them converted.
    """
    wrong = f'UNTIL must look like 20270630T215959Z or 20270630, not "{value}"'
    if not re.fullmatch(r"\d{8}(T\d{6}Z?)?", value):
        raise RecurrenceError(wrong)
    try:
        parsed = datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S" if "T" in value else "%Y%m%d")
    except ValueError:
        raise RecurrenceError(wrong) from None
    if value.endswith("Z"):
        return parsed.replace(tzinfo=UTC)
    return to_utc(parsed if "T" in value else datetime.combine(parsed, time(23, 59, 59)), tz)


def _utc_stamp(instant: datetime) -> str:
    return f"{instant.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _join(parts: Mapping[str, str]) -> str:
    return ";".join(f"{name}={parts[name]}" for name in _PARTS if name in parts)


def _weekday(day: datetime) -> str:
    return _DAYS[day.weekday()]


def _aware_utc(instant: datetime) -> datetime:
    if instant.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got {instant.isoformat()}")
    return instant.astimezone(UTC)
