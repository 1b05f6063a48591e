"""The bot under test, assembled as the App assembles it, and its background planners.

Tests build these only through here, so that when the core's construction changes, this module is
the one place that changes with it.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.app import build_registry
from bot.config import Settings
from bot.core.context import Clock, utcnow
from bot.core.registry import Registry
from bot.delivery import Dispatcher, Sender
from cogs.events.announce import Announcer
from cogs.events.reminders import PersonalReminders
from cogs.mentoring.announce import Escalator


def build_bot(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings | None = None,
    *,
    clock: Clock = utcnow,
) -> Registry:
    """The registry with help and every cog, as `convene run` serves it."""
    return build_registry(Registry(sessions, settings, clock=clock))


def build_dispatcher(
    sessions: async_sessionmaker[AsyncSession], senders: Mapping[str, Sender], clock: Clock
) -> Dispatcher:
    """The outbox's sender, stepped by the test with `run_due()` instead of its timer."""
    return Dispatcher(sessions, senders, clock)


def build_announcer(bot: Registry) -> Announcer:
    """The events' announcement planner, stepped with `plan()`."""
    return Announcer(bot)


def build_personal_reminders(bot: Registry) -> PersonalReminders:
    """The planner of reminders by direct message, stepped with `plan()`."""
    return PersonalReminders(bot)


def build_escalator(bot: Registry) -> Escalator:
    """The mentor-request escalation planner, stepped with `plan()`."""
    return Escalator(bot)
