"""Recurring meetings, sprints and docathons, with RSVPs and a calendar feed."""

from bot.core.registry import Registry
from cogs.events import commands, feed
from cogs.events.announce import Announcer
from cogs.events.reminders import PersonalReminders


def setup(registry: Registry) -> None:
    registry.add_module(commands)
    registry.add_page("/calendar.ics", feed.calendar_page)
    announcer = Announcer(registry)
    registry.add_task("event announcements", announcer.loop.run)
    registry.on_change("events", announcer.loop.wake)
    reminders = PersonalReminders(registry)
    registry.add_task("personal reminders", reminders.loop.run)
    registry.on_change("events", reminders.loop.wake)
    registry.on_change("rsvps", reminders.loop.wake)
