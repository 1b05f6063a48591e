"""Mentor requests: ask for one-to-one help, mentors claim, escalation when nobody does."""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.cog import Cog, Setup
from bot.core.context import Role
from bot.core.observe import StoreGauge
from cogs.mentoring import commands, pages, personal, service
from cogs.mentoring.announce import Escalator
from cogs.mentoring.settings import MentoringSettings
from cogs.mentoring.topics import MENTORING


def setup(house: Setup) -> None:
    house.commands(commands)
    escalator = Escalator(house.runtime)
    house.timer("mentor escalation", escalator.step, wake_on=[MENTORING])
    house.gauge(
        StoreGauge(
            "mentor_requests_open", "Mentor requests waiting for a mentor.", service.open_count
        )
    )
    env = house.runtime.env

    async def forget(session: AsyncSession, person_id: int, now: datetime) -> None:
        await personal.forget(session, env, person_id, now)

    house.personal_data(export=personal.export, forget=forget, words=personal.WORDS)
    house.page(
        "/mentoring/queue", pages.queue_page(house.runtime), role=Role.MENTOR, title="Mentor queue"
    )


cog = Cog(
    "mentoring",
    setup,
    settings=MentoringSettings,
    purposes=("mentors",),
    topics=(MENTORING,),
    models="cogs.mentoring.models",
    templates="cogs.mentoring",
)
