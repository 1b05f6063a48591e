"""The newcomer funnel: where new contributors drop out, read from the other cogs' records."""

from bot.core.cog import Cog, Setup
from bot.core.context import Role
from cogs.funnel.pages import FunnelPage


def setup(house: Setup) -> None:
    page = FunnelPage(house.runtime.sessions)
    house.page("/funnel", page, role=Role.ORGANIZER, title="Newcomer funnel")


cog = Cog("funnel", setup, templates="cogs.funnel")
