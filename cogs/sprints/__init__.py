"""Curated sprint issues: organizers list GitHub and GitLab issues, people claim them."""

from bot.core.cog import Cog, Setup
from cogs.sprints import commands, personal
from cogs.sprints.checks import SprintChecks


def setup(house: Setup) -> None:
    house.commands(commands)
    for ending in ("event cancel", "event delete"):
        house.consequence(ending, commands.opened_by_ending)
    house.personal_data(export=personal.export, forget=personal.forget)
    house.timer("sprint issue checks", SprintChecks(house.runtime).step)


cog = Cog("sprints", setup, models="cogs.sprints.models")
