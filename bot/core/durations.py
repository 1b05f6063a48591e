"""Durations as people say them, the same way in every message."""

from __future__ import annotations

from datetime import timedelta


def span(length: timedelta, *, units: int = 3) -> str:
    """ "1 d", "15 min", "2 h 30 min": at most *units* units, from the largest that is not 0."""
    minutes = max(1, round(length.total_seconds() / 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (mins, "min")]
    first = next(i for i, (n, _) in enumerate(parts) if n)
    return " ".join(f"{n} {unit}" for n, unit in parts[first : first + units] if n)
