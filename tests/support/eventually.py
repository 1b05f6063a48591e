"""Waiting for something another task or process will do: the one polling loop of the tests.

Use it only to wait for something to happen. Proving that something did *not* happen needs a
point at which it would have happened (a dispatcher run to completion, a later command answered),
never a wait.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")

TIMEOUT = 20.0
INTERVAL = 0.05


@overload
async def eventually(
    check: Callable[[], Awaitable[T]],
    *,
    what: str,
    timeout: float = TIMEOUT,  # noqa: ASYNC109
    interval: float = INTERVAL,
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T],
    *,
    what: str,
    timeout: float = TIMEOUT,  # noqa: ASYNC109
    interval: float = INTERVAL,
) -> T: ...


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    *,
    what: str,
    timeout: float = TIMEOUT,  # noqa: ASYNC109
    interval: float = INTERVAL,
) -> T:
    """Call *check* (plain or async) until it returns a truthy value, which is returned.

    An AssertionError from *check* counts as "not yet", so a check may assert. When *timeout*
    seconds pass first, TimeoutError names *what* was awaited and what the last try saw.
    """
    last = "no answer yet"
    failure: AssertionError | None = None
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            while True:
                try:
                    outcome = check()
                    result: T = await outcome if inspect.isawaitable(outcome) else outcome
                except AssertionError as exc:
                    last, failure = f"AssertionError: {exc}", exc
                else:
                    if result:
                        return result
                    last, failure = f"{result!r}", None
                await asyncio.sleep(interval)
    except TimeoutError:
        if not deadline.expired():
            raise
        raise TimeoutError(f"timed out after {timeout} s waiting for {what}; last: {last}") from (
            failure
        )
