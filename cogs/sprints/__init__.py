"""Curated sprint issues: organizers list GitHub and GitLab issues, people claim them."""

from bot.core.cog import Cog, Setup
from cogs.sprints import commands


def setup(house: Setup) -> None:
    house.commands(commands)


cog = Cog("sprints", setup, models="cogs.sprints.models")
