from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import recurring_ical_events

from cogs.events import limits
from cogs.events.recurrence import (
    Occurrence,
    RecurrenceError,
    _rebased,
    build_rrule,
    describe,
    first_of_rule,
    occurrences,
    to_utc,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
MONDAY = datetime(2026, 12, 7, 17, 0)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(occurrence: Occurrence, tz: ZoneInfo) -> str:
    return f"{occurrence.start.astimezone(tz):%Y-%m-%d %H:%M %z}"


def series(
    repeat: str, start: datetime, tz: ZoneInfo, n: int = 4, *, after: datetime = LONG_AGO
) -> list[str]:
    rule = build_rrule(repeat, start, tz)
    return [local(o, tz) for o in occurrences(start, tz, rule, after=after, limit=n)]


@pytest.mark.parametrize(
    ("tz", "start", "expected"),
    [
        (
            PARIS,
            datetime(2027, 3, 21, 17, 0),
            ["2027-03-21 17:00 +0100", "2027-03-28 17:00 +0200", "2027-04-04 17:00 +0200"],
        ),
        (
            PARIS,
            datetime(2026, 10, 18, 17, 0),
            ["2026-10-18 17:00 +0200", "2026-10-25 17:00 +0100", "2026-11-01 17:00 +0100"],
        ),
        (
            NEW_YORK,
            datetime(2027, 3, 7, 17, 0),
            ["2027-03-07 17:00 -0500", "2027-03-14 17:00 -0400", "2027-03-21 17:00 -0400"],
        ),
        (
            NEW_YORK,
            datetime(2026, 10, 25, 17, 0),
            ["2026-10-25 17:00 -0400", "2026-11-01 17:00 -0500", "2026-11-08 17:00 -0500"],
        ),
        (
            SYDNEY,
            datetime(2026, 9, 27, 17, 0),
            ["2026-09-27 17:00 +1000", "2026-10-04 17:00 +1100", "2026-10-11 17:00 +1100"],
        ),
        (
            SYDNEY,
            datetime(2027, 3, 28, 17, 0),
            ["2027-03-28 17:00 +1100", "2027-04-04 17:00 +1000", "2027-04-11 17:00 +1000"],
        ),
    ],
)
def test_weekly_series_keeps_its_wall_time_across_dst(
    tz: ZoneInfo, start: datetime, expected: list[str]
) -> None:
    assert series("weekly", start, tz, 3) == expected


@pytest.mark.parametrize(
    ("wall", "tz", "instant"),
    [
        # Spring forward: the gap's end, the instant the clocks jump to (03:00 local).
        (datetime(2027, 3, 28, 2, 30), PARIS, utc(2027, 3, 28, 1, 0)),
        (datetime(2027, 3, 14, 2, 30), NEW_YORK, utc(2027, 3, 14, 7, 0)),
        (datetime(2026, 10, 4, 2, 30), SYDNEY, utc(2026, 10, 3, 16, 0)),
        # A 30-minute jump (02:00 -> 02:30) and a whole skipped day (Samoa, 2011-12-30).
        (datetime(2026, 10, 4, 2, 10), ZoneInfo("Australia/Lord_Howe"), utc(2026, 10, 3, 15, 30)),
        (datetime(2011, 12, 30, 12, 0), ZoneInfo("Pacific/Apia"), utc(2011, 12, 30, 10, 0)),
        # Fall back: the first of the two instants.
        (datetime(2026, 11, 1, 1, 30), NEW_YORK, utc(2026, 11, 1, 5, 30)),
        (datetime(2026, 10, 25, 2, 30), PARIS, utc(2026, 10, 25, 0, 30)),
        (datetime(2027, 4, 4, 2, 30), SYDNEY, utc(2027, 4, 3, 15, 30)),
        # Ordinary times.
        (datetime(2026, 12, 7, 17, 0), PARIS, utc(2026, 12, 7, 16, 0)),
        (datetime(2026, 7, 7, 17, 0), NEW_YORK, utc(2026, 7, 7, 21, 0)),
    ],
)
def test_to_utc_dst_policy(wall: datetime, tz: ZoneInfo, instant: datetime) -> None:
    assert to_utc(wall, tz) == instant
    assert to_utc(wall, tz).tzinfo is UTC


def test_to_utc_refuses_aware_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_utc(datetime(2026, 12, 7, 17, 0, tzinfo=PARIS), PARIS)


@pytest.mark.parametrize(
    ("tz", "start", "expected"),
    [
        (
            PARIS,
            datetime(2027, 3, 26, 2, 30),
            [
                "2027-03-26 02:30 +0100",
                "2027-03-27 02:30 +0100",
                "2027-03-28 03:00 +0200",
                "2027-03-29 02:30 +0200",
            ],
        ),
        (
            NEW_YORK,
            datetime(2027, 3, 12, 2, 30),
            [
                "2027-03-12 02:30 -0500",
                "2027-03-13 02:30 -0500",
                "2027-03-14 03:00 -0400",
                "2027-03-15 02:30 -0400",
            ],
        ),
        (
            NEW_YORK,
            datetime(2026, 10, 30, 1, 30),
            [
                "2026-10-30 01:30 -0400",
                "2026-10-31 01:30 -0400",
                "2026-11-01 01:30 -0400",
                "2026-11-02 01:30 -0500",
            ],
        ),
        (
            PARIS,
            datetime(2026, 10, 23, 2, 30),
            [
                "2026-10-23 02:30 +0200",
                "2026-10-24 02:30 +0200",
                "2026-10-25 02:30 +0200",
                "2026-10-26 02:30 +0100",
            ],
        ),
    ],
)
def test_daily_series_through_a_gap_or_an_overlap(
    tz: ZoneInfo, start: datetime, expected: list[str]
) -> None:
    assert series("daily", start, tz) == expected


def test_a_start_inside_the_gap_is_its_end() -> None:
    assert series("weekly", datetime(2027, 3, 28, 2, 30), PARIS, 2) == [
        "2027-03-28 03:00 +0200",
        "2027-04-04 02:30 +0200",
    ]


def test_wall_times_collapsing_into_one_instant_come_once() -> None:
    rule = build_rrule("FREQ=MINUTELY;INTERVAL=15", datetime(2027, 3, 28, 1, 30), PARIS)
    found = occurrences(datetime(2027, 3, 28, 1, 30), PARIS, rule, after=LONG_AGO, limit=5)
    assert [f"{o.start.astimezone(PARIS):%H:%M}" for o in found] == [
        "01:30",
        "01:45",
        "03:00",
        "03:15",
        "03:30",
    ]


def test_the_repeated_hour_is_not_walked_twice() -> None:
    rule = build_rrule("FREQ=HOURLY", datetime(2026, 11, 1, 0, 0), NEW_YORK)
    found = occurrences(datetime(2026, 11, 1, 0, 0), NEW_YORK, rule, after=LONG_AGO, limit=4)
    assert [local(o, NEW_YORK) for o in found] == [
        "2026-11-01 00:00 -0400",
        "2026-11-01 01:00 -0400",
        "2026-11-01 02:00 -0500",
        "2026-11-01 03:00 -0500",
    ]


def test_gap_policy_differs_from_rfc_5545_readers() -> None:
    """Documents the known difference: RFC 5545 readers put 02:30 in the gap at 03:30."""
    start = datetime(2027, 3, 26, 2, 30)
    calendar = _calendar(start, PARIS, "FREQ=DAILY;COUNT=4", (), {})
    theirs = recurring_ical_events.of(calendar).between(LONG_AGO, utc(2030, 1, 1))
    ours = occurrences(start, PARIS, "FREQ=DAILY;COUNT=4", after=LONG_AGO, limit=4)
    assert theirs[2]["DTSTART"].dt.astimezone(UTC) == utc(2027, 3, 28, 1, 30)  # 03:30 CEST
    assert ours[2].start == utc(2027, 3, 28, 1, 0)  # 03:00 CEST


def test_monthly_nth_first_monday() -> None:
    assert build_rrule("monthly-nth", MONDAY, PARIS) == "FREQ=MONTHLY;BYDAY=1MO"
    assert series("monthly-nth", MONDAY, PARIS) == [
        "2026-12-07 17:00 +0100",
        "2027-01-04 17:00 +0100",
        "2027-02-01 17:00 +0100",
        "2027-03-01 17:00 +0100",
    ]


def test_monthly_nth_on_a_fifth_weekday_is_the_last() -> None:
    fifth_tuesday = datetime(2026, 12, 29, 17, 0)
    assert build_rrule("monthly-nth", fifth_tuesday, PARIS) == "FREQ=MONTHLY;BYDAY=-1TU"
    assert series("monthly-nth", fifth_tuesday, PARIS) == [
        "2026-12-29 17:00 +0100",
        "2027-01-26 17:00 +0100",
        "2027-02-23 17:00 +0100",
        "2027-03-30 17:00 +0200",
    ]


def test_monthly_nth_on_a_fourth_weekday_that_is_also_the_last_stays_fourth() -> None:
    assert build_rrule("monthly-nth", datetime(2026, 2, 24, 17, 0), PARIS) == (
        "FREQ=MONTHLY;BYDAY=4TU"
    )


def test_biweekly() -> None:
    assert build_rrule("biweekly", MONDAY, PARIS) == "FREQ=WEEKLY;INTERVAL=2"
    assert series("biweekly", MONDAY, PARIS, 3) == [
        "2026-12-07 17:00 +0100",
        "2026-12-21 17:00 +0100",
        "2027-01-04 17:00 +0100",
    ]


def test_quarterly() -> None:
    assert build_rrule("quarterly", MONDAY, PARIS) == "FREQ=MONTHLY;INTERVAL=3"
    assert series("quarterly", MONDAY, PARIS, 3) == [
        "2026-12-07 17:00 +0100",
        "2027-03-07 17:00 +0100",
        "2027-06-07 17:00 +0200",
    ]


def test_monthly_on_the_31st_skips_shorter_months() -> None:
    """dateutil and RFC 5545 skip months without the day; it is not moved to the month's end."""
    start = datetime(2027, 1, 31, 18, 0)
    dates = [day[:10] for day in series("monthly", start, NEW_YORK, 8)]
    assert dates == [
        "2027-01-31",
        "2027-03-31",
        "2027-05-31",
        "2027-07-31",
        "2027-08-31",
        "2027-10-31",
        "2027-12-31",
        "2028-01-31",
    ]
    assert [day[:10] for day in series("quarterly", start, NEW_YORK, 3)] == [
        "2027-01-31",
        "2027-07-31",
        "2027-10-31",
    ]


def test_exdates_and_moves() -> None:
    rule = build_rrule("weekly", MONDAY, PARIS)
    skipped = to_utc(datetime(2026, 12, 14, 17, 0), PARIS)
    later = to_utc(datetime(2026, 12, 21, 17, 0), PARIS)
    earlier = to_utc(datetime(2026, 12, 28, 17, 0), PARIS)
    moves = {
        later: to_utc(datetime(2026, 12, 23, 18, 0), PARIS),
        earlier: to_utc(datetime(2026, 12, 8, 9, 0), PARIS),
    }
    found = occurrences(
        MONDAY, PARIS, rule, after=LONG_AGO, limit=5, exdates={skipped}, moves=moves
    )
    assert [(local(o, PARIS), o.moved) for o in found] == [
        ("2026-12-07 17:00 +0100", False),
        ("2026-12-08 09:00 +0100", True),
        ("2026-12-23 18:00 +0100", True),
        ("2027-01-04 17:00 +0100", False),
        ("2027-01-11 17:00 +0100", False),
    ]
    assert [o.original_start for o in found[1:3]] == [earlier, later]
    originals = [o.original_start for o in found]
    assert len(set(originals)) == len(originals)
    assert skipped not in originals


def test_a_move_counts_where_it_lands() -> None:
    rule = build_rrule("weekly", MONDAY, PARIS)
    original = to_utc(datetime(2026, 12, 14, 17, 0), PARIS)
    moves = {original: to_utc(datetime(2027, 2, 1, 12, 0), PARIS)}
    window = {"after": utc(2026, 12, 10), "before": utc(2026, 12, 20)}
    assert occurrences(MONDAY, PARIS, rule, **window, moves=moves) == []
    into = occurrences(
        MONDAY, PARIS, rule, after=utc(2027, 1, 30), before=utc(2027, 2, 2), moves=moves
    )
    assert [(local(o, PARIS), o.original_start) for o in into] == [
        ("2027-02-01 12:00 +0100", original),
        ("2027-02-01 17:00 +0100", to_utc(datetime(2027, 2, 1, 17, 0), PARIS)),
    ]


def test_changes_that_match_no_occurrence_are_ignored() -> None:
    rule = build_rrule("weekly", MONDAY, PARIS)
    stray = to_utc(datetime(2026, 12, 15, 17, 0), PARIS)
    found = occurrences(
        MONDAY,
        PARIS,
        rule,
        after=LONG_AGO,
        limit=2,
        exdates={stray},
        moves={stray: utc(2026, 12, 9)},
    )
    assert [local(o, PARIS) for o in found] == ["2026-12-07 17:00 +0100", "2026-12-14 17:00 +0100"]


def test_a_skip_wins_over_a_move_of_the_same_occurrence() -> None:
    first = to_utc(MONDAY, PARIS)
    found = occurrences(
        MONDAY,
        PARIS,
        "FREQ=WEEKLY",
        after=LONG_AGO,
        limit=1,
        exdates=[first],
        moves={first: utc(2026, 12, 9)},
    )
    assert [local(o, PARIS) for o in found] == ["2026-12-14 17:00 +0100"]


def test_bounds_are_strict() -> None:
    first, second = to_utc(MONDAY, PARIS), to_utc(MONDAY + timedelta(days=7), PARIS)
    found = occurrences(MONDAY, PARIS, "FREQ=WEEKLY", after=first, before=second)
    assert found == []
    found = occurrences(
        MONDAY, PARIS, "FREQ=WEEKLY", after=first - timedelta(seconds=1), before=second
    )
    assert found == [Occurrence(first, first)]


def test_bounds_may_be_in_any_zone_but_must_be_aware() -> None:
    after = datetime(2026, 12, 7, 16, 59, tzinfo=PARIS)
    assert occurrences(MONDAY, PARIS, None, after=after, limit=1)[0].start == utc(2026, 12, 7, 16)
    with pytest.raises(ValueError, match="aware"):
        occurrences(MONDAY, PARIS, None, after=datetime(2026, 1, 1), limit=1)
    with pytest.raises(ValueError, match="before or limit"):
        occurrences(MONDAY, PARIS, "FREQ=DAILY", after=LONG_AGO)


def test_a_one_off_event() -> None:
    assert build_rrule("none", MONDAY, PARIS) is None
    assert build_rrule(" None ", MONDAY, PARIS) is None
    assert occurrences(MONDAY, PARIS, None, after=LONG_AGO, limit=5) == [
        Occurrence(utc(2026, 12, 7, 16), utc(2026, 12, 7, 16))
    ]
    assert occurrences(MONDAY, PARIS, None, after=utc(2026, 12, 7, 16), limit=5) == []


def test_count() -> None:
    rule = build_rrule("weekly", MONDAY, PARIS, count=3)
    assert rule == "FREQ=WEEKLY;COUNT=3"
    assert len(occurrences(MONDAY, PARIS, rule, after=LONG_AGO, limit=10)) == 3
    assert [
        local(o, PARIS) for o in occurrences(MONDAY, PARIS, rule, after=utc(2026, 12, 15), limit=10)
    ] == ["2026-12-21 17:00 +0100"]


@pytest.mark.parametrize(
    ("tz", "stamp", "last"),
    [
        (PARIS, "20270104T225959Z", "2027-01-04 17:00 +0100"),
        (NEW_YORK, "20270105T045959Z", "2027-01-04 17:00 -0500"),
        (SYDNEY, "20270104T125959Z", "2027-01-04 17:00 +1100"),
    ],
)
def test_until_is_the_end_of_that_local_day_in_utc(tz: ZoneInfo, stamp: str, last: str) -> None:
    rule = build_rrule("weekly", MONDAY, tz, until=date(2027, 1, 4))
    assert rule == f"FREQ=WEEKLY;UNTIL={stamp}"
    found = occurrences(MONDAY, tz, rule, after=LONG_AGO, limit=10)
    assert len(found) == 5
    assert local(found[-1], tz) == last
    assert occurrences(MONDAY, tz, rule, after=utc(2027, 1, 5), limit=10) == []


def test_until_on_the_start_day_gives_one_occurrence() -> None:
    rule = build_rrule("daily", MONDAY, PARIS, until=MONDAY.date())
    assert len(occurrences(MONDAY, PARIS, rule, after=LONG_AGO, limit=10)) == 1


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("RRULE:FREQ=WEEKLY;UNTIL=20270104", "FREQ=WEEKLY;UNTIL=20270104T225959Z"),
        ("freq=weekly;until=20270104T170000", "FREQ=WEEKLY;UNTIL=20270104T160000Z"),
        ("FREQ=WEEKLY;UNTIL=20270104T160000Z", "FREQ=WEEKLY;UNTIL=20270104T160000Z"),
        (" rrule:BYDAY=MO,TH ; FREQ=WEEKLY; ", "FREQ=WEEKLY;BYDAY=MO,TH"),
        ("FREQ=MONTHLY", "FREQ=MONTHLY"),
    ],
)
def test_raw_rrules_are_normalised(given: str, stored: str) -> None:
    assert build_rrule(given, MONDAY, PARIS) == stored
    assert build_rrule(stored, MONDAY, PARIS) == stored


@pytest.mark.parametrize(
    ("repeat", "message"),
    [
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never occurs"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "never occurs"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "never occurs"),
        ("FREQ=MINUTELY;INTERVAL=5", "5 minutes apart"),
        ("FREQ=SECONDLY", "1 second apart"),
        ("FREQ=HOURLY;BYMINUTE=0,10,30", "10 minutes apart"),
        ("FREQ=DAILY;BYHOUR=17,18;BYMINUTE=0,50", "10 minutes apart"),
        ("garbage", 'unknown repeat "garbage"'),
        ("yearly", 'unknown repeat "yearly"'),
        ("FREQ=DAILY;FOO=1", '"FOO" is not an RRULE part'),
        ("FREQ=DAILY;BYEASTER=0", '"BYEASTER" is not an RRULE part'),
        ("FREQ=DAILY;INTERVAL", '"INTERVAL" is not a NAME=VALUE part'),
        ("FREQ=FORTNIGHTLY", "FREQ is one of"),
        ("INTERVAL=2", "starts with FREQ"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ appears twice"),
        ("FREQ=DAILY;BYHOUR=25", "could not read the RRULE"),
        ("FREQ=WEEKLY;BYDAY=XX", "could not read the RRULE"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number"),
        ("FREQ=DAILY;INTERVAL=99999999999", "INTERVAL must be a whole number"),
        ("FREQ=DAILY;COUNT=0", "count must be from 1"),
        ("FREQ=DAILY;COUNT=5;UNTIL=20270101", "not both"),
        ("FREQ=DAILY;UNTIL=2027013", "UNTIL must look like"),
        ("FREQ=DAILY;UNTIL=20261206", "ends before its start"),
        ("DTSTART:20261207T170000\nRRULE:FREQ=DAILY", "only the RRULE line"),
        ("FREQ=WEEKLY;BYDAY=TU", "first one after it is 2026-12-08 17:00"),
        ("FREQ=MONTHLY;BYDAY=1TU", "not one of the RRULE's occurrences"),
        ("FREQ=YEARLY;BYMONTHDAY=" + ",".join(["1"] * 300), "too long"),
    ],
)
def test_bad_rrules_are_refused_with_a_reason(repeat: str, message: str) -> None:
    with pytest.raises(RecurrenceError, match=message) as caught:
        build_rrule(repeat, MONDAY, PARIS)
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    ("until", "count", "message"),
    [
        (None, 0, "count must be from 1 to 1000"),
        (None, 1001, "count must be from 1 to 1000"),
        (date(2026, 12, 6), None, "ends before its start"),
        (date(2027, 1, 1), 3, "until or count, not both"),
    ],
)
def test_bad_ends_are_refused(until: date | None, count: int | None, message: str) -> None:
    with pytest.raises(RecurrenceError, match=message):
        build_rrule("weekly", MONDAY, PARIS, until=until, count=count)


def test_ends_need_a_repeat_and_are_given_once() -> None:
    with pytest.raises(RecurrenceError, match="need a repeat"):
        build_rrule("none", MONDAY, PARIS, count=3)
    with pytest.raises(RecurrenceError, match="already ends"):
        build_rrule("FREQ=WEEKLY;COUNT=3", MONDAY, PARIS, until=date(2027, 1, 1))


@pytest.mark.parametrize(
    ("repeat", "text"),
    [
        ("none", "once"),
        ("daily", "every day"),
        ("weekly", "every week on Monday"),
        ("biweekly", "every 2 weeks on Monday"),
        ("monthly", "monthly on day 7"),
        ("monthly-nth", "first Monday of each month"),
        ("quarterly", "every 3 months on day 7"),
        ("FREQ=DAILY;INTERVAL=3", "every 3 days"),
        ("FREQ=WEEKLY;BYDAY=TH,MO", "every week on Monday and Thursday"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR", "every 2 weeks on Monday, Wednesday and Friday"),
        ("FREQ=MONTHLY;INTERVAL=2;BYDAY=+1MO", "first Monday of every 2 months"),
        ("FREQ=WEEKLY;COUNT=3", "every week on Monday"),
        ("FREQ=HOURLY;INTERVAL=2", "custom: FREQ=HOURLY;INTERVAL=2"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1", "custom: FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1"),
    ],
)
def test_describe(repeat: str, text: str) -> None:
    assert describe(build_rrule(repeat, MONDAY, PARIS), MONDAY) == text


def test_describe_last_weekday() -> None:
    assert describe("FREQ=MONTHLY;BYDAY=-1TU", datetime(2026, 12, 29, 17, 0)) == (
        "last Tuesday of each month"
    )


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        ("FREQ=DAILY", datetime(2024, 1, 1, 9, 0)),
        ("FREQ=DAILY;INTERVAL=3", datetime(2024, 1, 1, 9, 0)),
        ("FREQ=WEEKLY", datetime(2024, 1, 1, 9, 0)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", datetime(2024, 1, 1, 9, 0)),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,WE,FR;BYSETPOS=-1", datetime(2024, 1, 5, 9, 0)),
        (
            "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,TU,SA;BYSETPOS=1,3",
            datetime(2023, 12, 31, 9, 0),
        ),
        ("FREQ=MONTHLY", datetime(2024, 1, 1, 9, 0)),
        ("FREQ=MONTHLY;INTERVAL=5", datetime(2024, 1, 31, 9, 0)),
        ("FREQ=MONTHLY;BYDAY=1MO", datetime(2024, 1, 1, 9, 0)),
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", datetime(2024, 1, 31, 9, 0)),
        ("FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=9,17;BYMINUTE=0", datetime(2024, 1, 31, 9, 0)),
        ("FREQ=YEARLY", datetime(2024, 2, 29, 9, 0)),
        ("FREQ=YEARLY;INTERVAL=2;BYMONTH=3,9;BYDAY=-1SU", datetime(2024, 3, 31, 9, 0)),
        ("FREQ=YEARLY;BYWEEKNO=1,52;BYDAY=MO", datetime(2024, 1, 1, 9, 0)),
        ("FREQ=HOURLY;INTERVAL=5;BYHOUR=1,6,11,16,21", datetime(2024, 1, 1, 1, 0)),
        ("FREQ=HOURLY;INTERVAL=7", datetime(2024, 1, 1, 9, 0)),
        ("FREQ=MINUTELY;INTERVAL=45;BYHOUR=9,10,11,12", datetime(2024, 1, 1, 9, 0)),
        ("FREQ=SECONDLY;INTERVAL=3601", datetime(2024, 1, 1, 9, 0)),
    ],
)
def test_starting_late_gives_what_starting_early_gives(rule: str, start: datetime) -> None:
    """``after`` far past the start moves DTSTART forward; it must not change the series."""
    assert build_rrule(rule, start, SYDNEY) == rule
    truth = occurrences(start, SYDNEY, rule, after=LONG_AGO, before=utc(2027, 6, 1))
    probes = [truth[i].start for i in range(7, len(truth), max(1, len(truth) // 40))]
    probes += [p + delta for p in probes for delta in (timedelta(seconds=-1), timedelta(hours=5))]
    for after in probes:
        expected = [o for o in truth if o.start > after][:4]
        assert occurrences(start, SYDNEY, rule, after=after, limit=len(expected)) == expected


def test_far_after_the_start_dtstart_moves_close_to_after() -> None:
    start = datetime(1990, 1, 1, 17, 0)
    wall = datetime(2026, 12, 7, 12, 0)
    for rule, period in [
        ({"FREQ": "DAILY"}, timedelta(days=1)),
        ({"FREQ": "WEEKLY", "INTERVAL": "2"}, timedelta(weeks=2)),
        ({"FREQ": "MONTHLY", "BYDAY": "1MO"}, timedelta(days=31)),
        ({"FREQ": "YEARLY"}, timedelta(days=366)),
    ]:
        assert wall - period <= _rebased(rule, start, wall) <= wall
    found = occurrences(
        start, PARIS, "FREQ=DAILY", after=utc(2026, 12, 7), before=utc(2026, 12, 21)
    )
    assert len(found) == 14
    assert {f"{o.start.astimezone(PARIS):%H:%M}" for o in found} == {"17:00"}


def _calendar(
    start: datetime,
    tz: ZoneInfo,
    rule: str,
    exdates: tuple[datetime, ...],
    moves: dict[datetime, datetime],
) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    master = icalendar.Event()
    master.add("uid", "series@convene.test")
    master.add("dtstart", start.replace(tzinfo=tz))
    master.add("rrule", icalendar.vRecur.from_ical(rule))
    if exdates:
        master.add("exdate", [instant.astimezone(tz) for instant in exdates])
    calendar.add_component(master)
    for original, new in moves.items():
        override = icalendar.Event()
        override.add("uid", "series@convene.test")
        override.add("recurrence-id", original.astimezone(tz))
        override.add("dtstart", new.astimezone(tz))
        calendar.add_component(override)
    return calendar


@pytest.mark.parametrize(
    ("repeat", "start", "tz", "until"),
    [
        ("weekly", datetime(2026, 9, 2, 17, 0), PARIS, None),
        ("biweekly", datetime(2026, 9, 20, 9, 30), SYDNEY, None),
        ("monthly-nth", datetime(2026, 12, 29, 12, 0), NEW_YORK, None),
        ("monthly", datetime(2026, 8, 31, 1, 30), NEW_YORK, None),
        ("quarterly", datetime(2026, 10, 15, 18, 0), SYDNEY, date(2028, 6, 1)),
        ("daily", datetime(2026, 10, 20, 1, 30), NEW_YORK, date(2026, 11, 15)),
        (
            "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=8,20;BYMINUTE=15",
            datetime(2026, 10, 5, 8, 15),
            PARIS,
            None,
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            datetime(2026, 9, 30, 16, 0),
            SYDNEY,
            None,
        ),
    ],
)
def test_agrees_with_recurring_ical_events(
    repeat: str, start: datetime, tz: ZoneInfo, until: date | None
) -> None:
    rule = build_rrule(repeat, start, tz, until=until)
    assert rule is not None
    plain = occurrences(start, tz, rule, after=LONG_AGO, before=utc(2028, 12, 31))
    exdates = (plain[2].start, plain[5].start)
    moves = {plain[3].original_start: plain[3].start + timedelta(days=1, hours=2)}
    ours = occurrences(
        start, tz, rule, after=LONG_AGO, before=utc(2028, 12, 31), exdates=exdates, moves=moves
    )
    expanded = recurring_ical_events.of(_calendar(start, tz, rule, exdates, moves)).between(
        LONG_AGO, utc(2028, 12, 31)
    )
    theirs = sorted(
        Occurrence(
            event["DTSTART"].dt.astimezone(UTC),
            event["RECURRENCE-ID"].dt.astimezone(UTC),
        )
        for event in expanded
    )
    assert len(plain) > 6
    assert ours == theirs


LEAP = "FREQ=SECONDLY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=10;BYMINUTE=0;BYSECOND=0"


def test_a_rule_that_would_stall_dateutil_is_refused_before_it_runs() -> None:
    """Every 7 seconds on Monday 29 February: 86,400 steps a day for 28 years, minutes of CPU."""
    with pytest.raises(RecurrenceError, match="makes every day a search of 86,400 steps"):
        build_rrule(LEAP, datetime(2044, 2, 29, 10, 0), PARIS)
    assert first_of_rule("FREQ=DAILY;BYHOUR=10", datetime(2044, 2, 29, 10, 0)) is not None
    with pytest.raises(RecurrenceError, match="86,400 steps"):
        first_of_rule(LEAP, datetime(2044, 2, 29, 10, 0))


def test_a_rule_slower_than_its_budget_is_refused() -> None:
    """The budget is read between occurrences; this clock says each one took a second."""
    seconds = itertools.count()
    with pytest.raises(RecurrenceError, match="too slow to expand: finding its first five"):
        build_rrule("FREQ=WEEKLY", MONDAY, PARIS, clock=lambda: float(next(seconds)))
    assert build_rrule("FREQ=WEEKLY", MONDAY, PARIS, clock=lambda: 0.0) == "FREQ=WEEKLY"


def test_occurrences_a_year_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_PER_YEAR", 300)
    with pytest.raises(RecurrenceError, match="over 300 occurrences a year"):
        build_rrule("FREQ=DAILY", MONDAY, PARIS)
    assert build_rrule("FREQ=WEEKLY", MONDAY, PARIS) == "FREQ=WEEKLY"


def test_added_occurrences_join_the_rule_and_can_be_skipped_or_moved() -> None:
    start = datetime(2027, 1, 4, 17, 0)
    added = utc(2027, 1, 6, 9, 0)
    moved = utc(2027, 1, 20, 9, 0)
    found = occurrences(
        start,
        PARIS,
        "FREQ=WEEKLY;COUNT=3",
        after=LONG_AGO,
        limit=10,
        rdates=[added, moved, utc(2027, 1, 13, 9, 0), utc(2027, 1, 4, 16, 0)],
        exdates=[utc(2027, 1, 13, 9, 0)],
        moves={moved: utc(2027, 1, 21, 9, 0)},
    )
    assert [o.start for o in found] == [
        utc(2027, 1, 4, 16, 0),
        added,
        utc(2027, 1, 11, 16, 0),
        utc(2027, 1, 18, 16, 0),
        utc(2027, 1, 21, 9, 0),
    ], "an RDATE on a rule occurrence counts once; skipped and moved ones like any other"
