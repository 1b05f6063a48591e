"""Mentor requests: ask for one-to-one help, mentors claim, escalation when nobody does."""

from bot.core.registry import Registry
from cogs.mentoring import commands
from cogs.mentoring.announce import Escalator


def setup(registry: Registry) -> None:
    registry.add_module(commands)
    escalator = Escalator(registry)
    registry.add_task("mentor escalation", escalator.loop.run)
    registry.on_change("mentoring", escalator.loop.wake)
