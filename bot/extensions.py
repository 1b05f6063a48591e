"""The cogs this build ships, loaded by name so the core never imports a feature directly."""

from __future__ import annotations

import importlib
import importlib.util

from bot.core.registry import Registry

COGS = (
    "cogs.people",
    "cogs.events",
    "cogs.faq",
    "cogs.mentoring",
    "cogs.welcome",
    "cogs.sprints",
)


def load_models() -> None:
    """Import every module that defines tables, so SQLModel.metadata is complete."""
    importlib.import_module("bot.identity")
    importlib.import_module("bot.state")
    importlib.import_module("bot.delivery")
    for cog in COGS:
        if importlib.util.find_spec(f"{cog}.models") is not None:
            importlib.import_module(f"{cog}.models")


def setup_cogs(registry: Registry) -> None:
    for cog in COGS:
        importlib.import_module(cog).setup(registry)
