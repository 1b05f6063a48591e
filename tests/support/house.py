"""The bot under test, assembled as the App assembles it, and its background planners.

Tests build these only through here, so that when the core's construction changes, this module is
the one place that changes with it.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.assembly import Assembly, assemble
from bot.config import Settings
from bot.core.context import Clock, utcnow
from bot.core.observe import NOBODY, Observer
from bot.core.ports import Sender
from bot.core.router import Router
from bot.core.runtime import Runtime
from bot.delivery import Dispatcher
from bot.identity import resolve_person
from bot.web import Gate, make_web_app
from cogs.digest.planner import Digester
from cogs.events.announce import Announcer
from cogs.events.reminders import PersonalReminders
from cogs.faq.personal import QuestionRetention
from cogs.forge.nudges import ReviewNudges
from cogs.forge.poller import Poller
from cogs.forge.repos import Repositories
from cogs.forge.review_hour import ReviewHours
from cogs.forge.settings import ForgeSettings
from cogs.mentoring.announce import Escalator
from cogs.sprints.checks import SprintChecks


def build_bot(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings | None = None,
    *,
    clock: Clock = utcnow,
) -> Router:
    """The router with help and every cog, as `convene run` serves it."""
    return assemble(sessions, settings, clock=clock).router


def build_house(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings | None = None,
    *,
    clock: Clock = utcnow,
) -> Assembly:
    """Every cog's contributions too, for tests of what the web server serves."""
    return assemble(sessions, settings, clock=clock)


def build_web_app(house: Assembly, gate: Gate | None = None) -> web.Application:
    """The web server as `convene run` serves it, with every cog's pages; nobody logged in
    unless *gate* says who is."""
    contributed = house.contributions
    return make_web_app(
        house.runtime,
        house.router,
        contributed.pages,
        lambda: {"console": True},
        templates=contributed.templates,
        gate=gate,
    )


def build_router(sessions: async_sessionmaker[AsyncSession], observer: Observer = NOBODY) -> Router:
    """A router with no command at all, for tests of routing itself."""
    return Router(Runtime(sessions), resolve_person, observer)


def build_dispatcher(
    sessions: async_sessionmaker[AsyncSession],
    senders: Mapping[str, Sender],
    clock: Clock,
    observer: Observer = NOBODY,
) -> Dispatcher:
    """The outbox's sender, stepped by the test with `run_due()` instead of its timer."""
    return Dispatcher(sessions, senders, clock, observer)


def build_announcer(bot: Router) -> Announcer:
    """The events' announcement planner, stepped with `plan()`."""
    return Announcer(bot.runtime)


def build_personal_reminders(bot: Router) -> PersonalReminders:
    """The planner of reminders by direct message, stepped with `plan()`."""
    return PersonalReminders(bot.runtime)


def build_escalator(bot: Router) -> Escalator:
    """The mentor-request escalation planner, stepped with `plan()`."""
    return Escalator(bot.runtime)


def build_digester(bot: Router) -> Digester:
    """The weekly digest's planner, stepped with `plan()`."""
    return Digester(bot.runtime)


def build_question_retention(bot: Router) -> QuestionRetention:
    """The timer that removes the words of old FAQ questions, stepped with `step()`."""
    return QuestionRetention(bot.runtime)


def build_forge_poller(bot: Router) -> Poller:
    """The forges' poller, stepped with `poll(forge)` or `step()`."""
    settings = bot.runtime.env.section(ForgeSettings)
    return Poller(bot.runtime, Repositories(settings), settings.forges)


def build_review_hours(bot: Router) -> ReviewHours:
    """The review hours' planner, stepped with `plan()`."""
    return ReviewHours(bot.runtime)


def build_review_nudges(bot: Router) -> ReviewNudges:
    """The review nudges' planner, stepped with `plan()`."""
    return ReviewNudges(bot.runtime)


def build_sprint_checks(bot: Router) -> SprintChecks:
    """The hourly re-reading of listed sprint issues, stepped with `check()`, and the applying of
    what issue webhooks said, stepped with `reported()`."""
    return SprintChecks(bot.runtime)
