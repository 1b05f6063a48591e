"""A settable clock for services, planners and the registry: tests move time by assigning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class ShiftedClock:
    """Real time, moved by `set` to any moment; it keeps running from there."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def set(self, moment: datetime) -> None:
        self.shift = moment - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift
