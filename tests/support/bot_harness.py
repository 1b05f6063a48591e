"""Running the real App in-process for end-to-end tests, as `convene run` would."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

from bot.app import App
from bot.config import Settings, parse_settings
from bot.core.spec import Handler
from tests.support.eventually import eventually


def settings_for(store_url: str, **sections: Any) -> Settings:
    """Settings with console and web off unless given, for a bot under test."""
    data: dict[str, Any] = {
        "store": {"url": store_url},
        "console": {"enabled": False},
        "web": {"enabled": False},
    }
    data.update(sections)
    return parse_settings(data, "test settings")


@contextlib.asynccontextmanager
async def running(
    settings: Settings, *, extra: Sequence[Handler] = (), **kwargs: Any
) -> AsyncIterator[App]:
    """The App serving until the block ends; waits until every platform is connected.

    *extra* commands join the registry before the platforms start, as a cog's would.
    """
    kwargs.setdefault("stdout", io.StringIO())
    app = App(settings, **kwargs)
    for handler in extra:
        app.router.add(handler)
    task = asyncio.create_task(app.run())
    try:
        await eventually(
            lambda: task.done() or (app.platforms and all(app.health().values())),
            what="platforms to connect",
        )
        if task.done():
            task.result()
        yield app
    finally:
        app.stop()
        await asyncio.wait_for(task, 15)


async def outbox_drained(app: App) -> None:
    """Send what is due at the app's clock and wait for the sends in flight, so that a test can
    then assert what was posted, and what was not, without waiting for a timer.

    Runs the App's own dispatcher beside its timer, as a second instance would: claims keep
    every row to one sender."""
    await app.dispatcher.run_due()

    async def drained() -> bool:
        due = await app.dispatcher.next_due()
        return due is None or due > app.dispatcher.clock()

    await eventually(drained, what="the outbox to send what is due")
