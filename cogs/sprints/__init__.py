"""Curated sprint issues: organizers list GitHub and GitLab issues, people claim them."""

from bot.core.registry import Registry
from cogs.sprints import commands


def setup(registry: Registry) -> None:
    registry.add_module(commands)
