"""Curated sprint issues: organizers list GitHub and GitLab issues, people claim them."""

from bot.core.cog import Cog, Setup
from cogs.sprints import commands, pages, personal
from cogs.sprints.checks import SprintChecks


def setup(house: Setup) -> None:
    house.commands(commands)
    for ending in ("event cancel", "event delete"):
        house.consequence(ending, commands.opened_by_ending)
    house.personal_data(export=personal.export, forget=personal.forget, words=personal.WORDS)
    house.page(
        "/sprints",
        pages.IssuesPage(house.runtime.sessions, house.runtime.env),
        title="Sprint issues",
    )
    house.timer("sprint issue checks", SprintChecks(house.runtime).step)


cog = Cog("sprints", setup, models="cogs.sprints.models", templates="cogs.sprints")
