"""People: who you are here, and linking your accounts across platforms."""

from bot.core.cog import Cog, Setup
from cogs.people import commands


def setup(house: Setup) -> None:
    house.commands(commands)


cog = Cog("people", setup, models="cogs.people.models")
