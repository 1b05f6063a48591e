"""A settable clock for services, planners and the registry: tests move time by assigning; and
pauses that end when a test steps them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.support.eventually import eventually


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


class Pauses:
    """Stands in for `asyncio.sleep` in code that waits between tries: each pause lasts until
    the test calls `resume`, so what the code did not do by its n-th pause is proven by
    reaching that pause, not by sleeping."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._waiting: list[asyncio.Future[None]] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        resumed = asyncio.get_running_loop().create_future()
        self._waiting.append(resumed)
        await resumed

    async def reached(self, count: int) -> None:
        """Once the code waits in its *count*-th pause."""
        await eventually(lambda: len(self.asked) >= count, what=f"pause number {count}")

    def resume(self) -> None:
        """End the oldest pause still under way."""
        next(f for f in self._waiting if not f.done()).set_result(None)
