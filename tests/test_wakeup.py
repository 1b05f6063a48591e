"""The timer loop every background task runs on: it works, sleeps until due, wakes on change,
and stops when cancelled."""

from __future__ import annotations

import asyncio

from bot.core.wakeup import WakeLoop


async def turns(n: int) -> None:
    """Let the event loop run *n* times, so that what is ready happens."""
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_wake_runs_the_step_again_before_its_delay() -> None:
    steps: list[int] = []

    async def step() -> float:
        steps.append(len(steps))
        return 3600.0

    loop = WakeLoop("test", step)
    task = asyncio.create_task(loop.run())
    await turns(3)
    loop.wake()
    await turns(3)
    assert steps == [0, 1]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_cancel_that_comes_with_a_wake_stops_the_loop() -> None:
    """As at shutdown, when a last change wakes the loop while the App cancels it."""

    async def step() -> float:
        return 3600.0

    loop = WakeLoop("test", step)
    task = asyncio.create_task(loop.run())
    await turns(3)
    loop.wake()
    task.cancel()
    await turns(5)
    assert task.cancelled()
