"""The timer every background loop needs: work, then sleep until due, woken early on change.

Timers are derived from the store on every turn (the store is the truth), so a restart only has
to start the loop again; nothing is lost with the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class WakeLoop:
    def __init__(self, name: str, step: Callable[[], Awaitable[float]], *, retry: float = 30.0):
        self.name = name
        self._step = step
        self._retry = retry
        self._woken = asyncio.Event()

    def wake(self) -> None:
        self._woken.set()

    async def run(self) -> None:
        """Run *step* forever; it returns how many seconds may pass before it must run again."""
        while True:
            self._woken.clear()
            try:
                delay = await self._step()
            except Exception:
                log.exception("%s failed; retrying in %.0f s", self.name, self._retry)
                delay = self._retry
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancel that comes with a wake,
            # and the App then hangs on shutdown until the next turn.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, delay)):
                    await self._woken.wait()
