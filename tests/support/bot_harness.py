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


def settings_for(store_url: str, **sections: Any) -> Settings:
    """Settings with console and web off unless given, for a bot under test."""
    data: dict[str, Any] = {
        "store": {"url": store_url},
        "console": {"enabled": False},
        "web": {"enabled": False},
    }
    data.update(sections)
    return parse_settings(data, "test settings")


async def wait_for(condition: Any, timeout: float = 20.0, what: str = "condition") -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


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
        app.registry.add(handler)
    task = asyncio.create_task(app.run())
    try:
        await wait_for(
            lambda: task.done() or (app.platforms and all(app.health().values())),
            what="platforms to connect",
        )
        if task.done():
            task.result()
        yield app
    finally:
        app.stop()
        await asyncio.wait_for(task, 15)
