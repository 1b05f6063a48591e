"""Recurring meetings, sprints and docathons, with RSVPs, reminders and a calendar feed."""

from bot.core.cog import Cog, Setup
from cogs.events import cli, commands, feed, personal
from cogs.events.announce import Announcer
from cogs.events.reminders import PersonalReminders
from cogs.events.topics import EVENTS, RSVPS


def setup(house: Setup) -> None:
    house.commands(commands)
    house.page("/calendar.ics", feed.calendar_page)
    announcer = Announcer(house.runtime)
    house.timer("event announcements", announcer.step, wake_on=[EVENTS])
    reminders = PersonalReminders(house.runtime)
    house.timer("personal reminders", reminders.step, wake_on=[EVENTS, RSVPS])
    house.personal_data(export=personal.export, forget=personal.forget)


cog = Cog(
    "events",
    setup,
    purposes=("announcements",),
    topics=(EVENTS, RSVPS),
    cli=cli.COMMANDS,
    models="cogs.events.models",
)
