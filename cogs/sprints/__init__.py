"""Curated sprint issues: organizers list GitHub, GitLab and Forgejo issues, people claim them;
the forges' webhooks and an hourly check keep them true."""

from bot.core.cog import Cog, Setup
from cogs.sprints import commands, pages, personal
from cogs.sprints.checks import WAKES, SprintChecks


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
    checks = SprintChecks(house.runtime)
    house.timer("sprint issue checks", checks.step)
    house.timer("sprint issue webhooks", checks.reported, wake_on=WAKES)


cog = Cog("sprints", setup, models="cogs.sprints.models", templates="cogs.sprints")
