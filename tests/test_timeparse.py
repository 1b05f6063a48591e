from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cogs.events.timeparse import (
    TimeParseError,
    parse_date,
    parse_duration_minutes,
    parse_local_datetime,
    parse_offsets,
    parse_zone,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-07 17:00", datetime(2026, 12, 7, 17, 0)),
        ("2026-12-07T17:00", datetime(2026, 12, 7, 17, 0)),
        ("2026-12-07t17:00", datetime(2026, 12, 7, 17, 0)),
        ("  2026-12-07   17:00 ", datetime(2026, 12, 7, 17, 0)),
        ("2026-12-07 17:00:30", datetime(2026, 12, 7, 17, 0, 30)),
        ("2026-3-2 9:05", datetime(2026, 3, 2, 9, 5)),
        ("2028-02-29 00:00", datetime(2028, 2, 29, 0, 0)),
        ("2027-03-28 02:30", datetime(2027, 3, 28, 2, 30)),
    ],
)
def test_parse_local_datetime(text: str, expected: datetime) -> None:
    assert parse_local_datetime(text) == expected
    assert parse_local_datetime(text).tzinfo is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "2026-02-30 10:00",
            '"2026-02-30 10:00" is not a date (February has 28 days in 2026). '
            'Example: "2026-02-28 10:00"',
        ),
        (
            "2028-02-30 10:00",
            '"2028-02-30 10:00" is not a date (February has 29 days in 2028). '
            'Example: "2028-02-29 10:00"',
        ),
        ("2026-04-31 10:00", "(April has 30 days in 2026)"),
        ("2026-12-00 10:00", 'Example: "2026-12-01 10:00"'),
        ("2026-13-07 10:00", "there is no month 13"),
        ("2026-12-07", 'give a time too, e.g. "2026-12-07 17:00"'),
        ("2026-12-07 24:00", "the hour goes from 00 to 23"),
        ("2026-12-07 17:60", "minutes and seconds go from 00 to 59"),
        ("2026-12-07 17:00:61", "minutes and seconds go from 00 to 59"),
        ("2026-12-07 17:00+01:00", "leave out the UTC offset"),
        ("2026-12-07T17:00Z", "leave out the UTC offset"),
        ("2026-12-07 5pm", 'write YYYY-MM-DD HH:MM, 24-hour, e.g. "2026-12-07 17:00"'),
        ("07/12/2026 17:00", "is not a date and time"),
        ("2026-12-07 17h00", "is not a date and time"),
        ("tomorrow", "is not a date and time"),
        ("", "is not a date and time"),
    ],
)
def test_parse_local_datetime_errors(text: str, message: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_local_datetime(text)
    assert message in str(caught.value)
    assert len(str(caught.value)) < 160


def test_parse_date() -> None:
    assert parse_date(" 2026-12-07 ") == date(2026, 12, 7)
    assert parse_date("2026-2-3") == date(2026, 2, 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-12-07 17:00", 'give only the date, e.g. "2026-12-07"'),
        ("2026-02-29", '(February has 28 days in 2026). Example: "2026-02-28"'),
        ("2026-00-10", "there is no month 0"),
        ("7 Dec 2026", 'write YYYY-MM-DD, e.g. "2026-12-07"'),
        ("20261207", "is not a date"),
    ],
)
def test_parse_date_errors(text: str, message: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_date(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Europe/Paris", "Europe/Paris"),
        ("europe/paris", "Europe/Paris"),
        ("  AMERICA/NEW_YORK ", "America/New_York"),
        ("America/New York", "America/New_York"),
        ("australia/sydney", "Australia/Sydney"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
    ],
)
def test_parse_zone(text: str, zone: str) -> None:
    assert parse_zone(text) == ZoneInfo(zone)
    assert parse_zone(text).key == zone


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("Europe/Pariss", "Did you mean Europe/Paris"),
        ("paris", "Did you mean Europe/Paris"),
        ("new york", "America/New_York"),
        ("Amercia/Chicago", "America/Chicago"),
    ],
)
def test_parse_zone_suggests_close_names(text: str, suggested: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_zone(text)
    assert suggested in str(caught.value)
    assert 'e.g. "Europe/Paris"' in str(caught.value)


@pytest.mark.parametrize("text", ["xyzzy", "", "localtime", "Factory", "+01:00", "../etc/passwd"])
def test_parse_zone_refuses_what_is_not_a_place(text: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_zone(text)
    assert 'e.g. "Europe/Paris"' in str(caught.value)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("60", 60),
        ("90m", 90),
        ("1h", 60),
        ("1h30", 90),
        ("1h30m", 90),
        ("1H 30M", 90),
        ("2d", 2880),
        ("1d2h", 1560),
        ("1", 1),
        ("7d", 10080),
        ("168h", 10080),
    ],
)
def test_parse_duration_minutes(text: str, minutes: int) -> None:
    assert parse_duration_minutes(text) == minutes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "out of range: a duration is 1 minute to 31 days"),
        ("0h", "out of range"),
        ("31d1m", "out of range"),
        ("44641", "out of range"),
        ("99999999999999999999", "is not a duration"),
        ("", "is not a duration"),
        ("an hour", "is not a duration"),
        ("1.5h", "is not a duration"),
        ("2d30", "is not a duration"),
        ("30m1h", "is not a duration"),
        ("-5", 'e.g. "90m", "1h30" or "2h"'),
    ],
)
def test_parse_duration_minutes_errors(text: str, message: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_duration_minutes(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "offsets"),
    [
        ("24h,15m", [timedelta(hours=24), timedelta(minutes=15)]),
        ("1d, 2h", [timedelta(days=1), timedelta(hours=2)]),
        ("30m", [timedelta(minutes=30)]),
        ("15m,1h,15m", [timedelta(hours=1), timedelta(minutes=15)]),
        ("1d,24h", [timedelta(days=1)]),
        ("1h30m, 2h", [timedelta(hours=2), timedelta(minutes=90)]),
        ("1h30", [timedelta(minutes=90)]),
        ("30d", [timedelta(days=30)]),
        ("none", []),
        (" None ", []),
    ],
)
def test_parse_offsets(text: str, offsets: list[timedelta]) -> None:
    assert parse_offsets(text) == offsets


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30", '"30" is not a reminder time'),
        ("24h,", '"" is not a reminder time'),
        ("", "is not a reminder time"),
        ("0m", "out of range: a reminder is 1 minute to 30 days"),
        ("31d", "out of range"),
        ("1h,soon", '"soon" is not a reminder time; write e.g. "24h,15m"'),
        ("none,1h", "is not a reminder time"),
    ],
)
def test_parse_offsets_errors(text: str, message: str) -> None:
    with pytest.raises(TimeParseError) as caught:
        parse_offsets(text)
    assert message in str(caught.value)
