"""Finding the cogs this installation has, by the `convene.cogs` entry point.

So the core names no feature: a cog is a package that declares a `Cog` and an entry point to
it (see pyproject.toml), and the app, the settings schema and the migrations pick it up.
"""

from __future__ import annotations

import functools
import importlib
from importlib.metadata import entry_points

from bot.core.cog import Cog

GROUP = "convene.cogs"


@functools.cache
def discover() -> tuple[Cog, ...]:
    cogs = []
    for point in sorted(entry_points(group=GROUP), key=lambda point: point.name):
        cog = point.load()
        if not isinstance(cog, Cog) or cog.name != point.name:
            raise TypeError(f"entry point {point.name!r} in {GROUP} must name a Cog of that name")
        cogs.append(cog)
    return tuple(cogs)


def load_models() -> None:
    """Import every module that defines tables, so SQLModel.metadata is complete."""
    for module in (
        "bot.identity",
        "bot.state",
        "bot.delivery",
        "bot.rooms_store",
        "bot.limits",
        "bot.web_login",
    ):
        importlib.import_module(module)
    for cog in discover():
        if cog.models is not None:
            importlib.import_module(cog.models)
