"""The newcomer funnel: where new contributors drop out, read from the other cogs' records."""

from bot.core.cog import Cog, Setup
from bot.core.context import Role
from cogs.funnel.pages import FunnelPage
from cogs.funnel.summary import Summary


def setup(house: Setup) -> None:
    summary = Summary(house.runtime)
    house.page(
        "/funnel",
        FunnelPage(summary, house.runtime.env),
        role=Role.ORGANIZER,
        title="Newcomer funnel",
    )
    house.timer("funnel figures", summary.step)


cog = Cog("funnel", setup, models="cogs.funnel.models", templates="cogs.funnel")
