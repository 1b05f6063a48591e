"""The timer loop every background task runs on: it works, sleeps until due, wakes on change,
and stops when cancelled."""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.core.wakeup import WakeLoop
from tests.support.eventually import eventually


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


async def test_a_schedule_wakes_the_loop_at_its_moments() -> None:
    """APScheduler's AsyncIOScheduler rings at each moment of the trigger (here every second);
    the step, not the scheduler, decides what is due."""
    steps: list[float] = []

    async def step() -> float:
        steps.append(asyncio.get_running_loop().time())
        return 3600.0

    loop = WakeLoop("test", step, schedule=CronTrigger(second="*", timezone=UTC))
    task = asyncio.create_task(loop.run())
    await eventually(lambda: len(steps) >= 3, what="two rings of the schedule")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


async def test_a_stop_lets_the_step_under_way_finish_then_ends_the_loop() -> None:
    """As the app stops: a planning pass or a batch of sends is not cut off half-way."""
    release = asyncio.Event()
    finished: list[int] = []

    async def step() -> float:
        await release.wait()
        finished.append(1)
        return 3600.0

    loop = WakeLoop("test", step)
    task = asyncio.create_task(loop.run())
    await turns(3)
    loop.stop()
    await turns(3)
    assert not task.done(), "the step under way goes on"
    release.set()
    await asyncio.wait_for(task, 1)
    assert finished == [1]


async def test_a_step_that_fails_because_it_is_cancelled_is_no_fault(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A driver cut off mid-statement may raise its own error instead of the cancel; that is
    the stop, so the loop ends without a traceback, and is not retried in 30 s."""

    async def step() -> float:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ConnectionResetError("connection closed mid-statement") from None
        return 3600.0

    loop = WakeLoop("test", step)
    task = asyncio.create_task(loop.run())
    await turns(3)
    task.cancel()
    await asyncio.wait({task}, timeout=1)
    assert task.cancelled()
    assert caplog.records == []
