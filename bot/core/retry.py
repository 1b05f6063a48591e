"""The one policy for work the store failed for a moment: a command's transaction, a
platform's read of what it remembers. PostgreSQL restarting refuses connections for a second
or two, and a takeover after it ended every session meets a dead pooled connection first."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

# Seconds before each new try.
STORE_RETRIES = (0.1, 0.5, 1.5)


async def retried(
    work: Callable[[], Awaitable[T]], transient: Callable[[Exception], bool], what: str
) -> T:
    """*work*, a transaction, run again while it fails in a way *transient* says may pass;
    the last failure, or any other, is raised."""
    for pause in (*STORE_RETRIES, None):
        try:
            return await work()
        except Exception as exc:
            if pause is None or not transient(exc):
                raise
            log.warning(
                "the store failed for a moment (%s); running %s again in %.1f s",
                type(exc).__name__,
                what,
                pause,
            )
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")
