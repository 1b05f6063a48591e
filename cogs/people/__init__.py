"""People: who you are here, and linking your accounts across platforms."""

from bot.core.registry import Registry
from cogs.people import commands


def setup(registry: Registry) -> None:
    registry.add_module(commands)
