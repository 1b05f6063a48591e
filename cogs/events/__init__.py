"""Recurring meetings, sprints and docathons, with RSVPs, reminders and a calendar feed."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.audience import Named
from bot.core.cog import Cog, Setup
from bot.core.context import Role
from bot.core.env import Env
from cogs.events import cli, commands, feed, manage, pages, personal
from cogs.events.announce import Announcer
from cogs.events.models import Event
from cogs.events.reminders import PersonalReminders
from cogs.events.topics import EVENTS, RSVPS


async def first_step(session: AsyncSession, env: Env, now: datetime) -> str | None:
    """With no event yet, a `event create` that works as typed: a week from today, 17:00 in
    the bot's zone."""
    if (await session.exec(select(Event.id).limit(1))).first() is not None:
        return None
    day = (now.astimezone(ZoneInfo(env.timezone)) + timedelta(days=7)).date()
    console = env.audience("console")
    start = Named(f"{day:%Y-%m-%d} 17:00")
    create = console.command("event create", title="Community call", start=start)
    return f"Create a first event: {create}, then {console.command('event list')}"


def setup(house: Setup) -> None:
    house.commands(commands)
    house.page("/calendar.ics", feed.Feed(house.runtime.sessions))
    views = pages.Calendar(house.runtime.sessions, house.runtime.env)
    house.page("/events", views.upcoming, title="Events")
    house.page("/events/week", views.week)
    house.page("/events/month", views.month)
    endings = ("event cancel", "event delete")
    organizers = manage.Manage(house.runtime, {c: house.consequences(c) for c in endings})
    base, organizer = manage.BASE, Role.ORGANIZER
    house.page(base, organizers.index, role=organizer, title="Manage events")
    house.page(f"{base}/new", organizers.create, role=organizer, methods=("POST",))
    house.page(base + "/{id}", organizers.event, role=organizer, title="Event")
    for action in (
        organizers.edit,
        organizers.skip,
        organizers.move,
        organizers.cancel,
        organizers.delete,
    ):
        path = base + "/{id}/" + action.__name__
        house.page(path, action, role=organizer, methods=("POST",))
    announcer = Announcer(house.runtime)
    house.timer("event announcements", announcer.step, wake_on=[EVENTS])
    reminders = PersonalReminders(house.runtime)
    house.timer("personal reminders", reminders.step, wake_on=[EVENTS, RSVPS])
    house.first_step(first_step)
    house.personal_data(export=personal.export, forget=personal.forget, words=personal.WORDS)


cog = Cog(
    "events",
    setup,
    purposes=("announcements",),
    topics=(EVENTS, RSVPS),
    cli=cli.COMMANDS,
    models="cogs.events.models",
    templates="cogs.events",
)
