"""Recurring meetings, sprints and docathons, with RSVPs and a calendar feed."""

from bot.core.registry import Registry
from cogs.events import commands, feed


def setup(registry: Registry) -> None:
    registry.add_module(commands)
    registry.add_page("/calendar.ics", feed.calendar_page)
