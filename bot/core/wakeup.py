"""The timer every background loop needs: work, then sleep until due, woken early on change.

Timers are derived from the store on every turn (the store is the truth), so a restart only has
to start the loop again; nothing is lost with the process. A loop may also be woken at the
moments of a cron-like schedule (an APScheduler trigger, e.g. Mondays 09:00 Paris): the
scheduler only wakes it, and the step reads from the store what is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

log = logging.getLogger(__name__)


class WakeLoop:
    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[float]],
        *,
        retry: float = 30.0,
        schedule: BaseTrigger | None = None,
    ):
        self.name = name
        self._step = step
        self._retry = retry
        self._woken = asyncio.Event()
        self.schedule = schedule
        self._stopping = False

    @property
    def stopping(self) -> bool:
        return self._stopping

    def wake(self) -> None:
        self._woken.set()

    def stop(self) -> None:
        """End the loop once the step under way is done: a stop never cuts a step short, so no
        transaction is left half-way; the app cancels only what does not finish in time."""
        self._stopping = True
        self._woken.set()

    async def _ring(self) -> None:
        """The scheduler's job: a coroutine, so APScheduler runs it on the loop, not a thread."""
        self.wake()

    async def run(self) -> None:
        """Run *step* until stopped; it returns how many seconds may pass before it must run
        again."""
        scheduler = None
        if self.schedule is not None:
            # One scheduler per loop and run, never a module global; it lives as long as the loop.
            scheduler = AsyncIOScheduler(timezone=UTC)
            scheduler.add_job(
                self._ring, self.schedule, name=self.name, coalesce=True, misfire_grace_time=None
            )
            scheduler.start()
        try:
            await self._turns()
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)

    async def _turns(self) -> None:
        while not self._stopping:
            self._woken.clear()
            try:
                delay = await self._step()
            except Exception:
                if self._stopping or _cancelling():
                    # The step failed because the process is stopping under it (a statement
                    # cut off mid-way); that is the stop, not a fault to retry.
                    log.debug("%s stopped during a step", self.name, exc_info=True)
                    if _cancelling():
                        raise asyncio.CancelledError from None
                    return
                log.exception("%s failed; retrying in %.0f s", self.name, self._retry)
                delay = self._retry
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancel that comes with a wake,
            # and the App then hangs on shutdown until the next turn.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, delay)):
                    await self._woken.wait()


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
