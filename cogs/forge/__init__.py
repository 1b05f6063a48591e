"""Forges: the pull (merge) requests of the configured GitHub, GitLab and Forgejo repositories,
kept by webhook (and by polling), the review queue, review hours posted to rooms with purpose
`reviews`, and what issue webhooks say, for the sprints cog."""

from bot.core.cog import Cog, Setup
from cogs.forge import accounts, commands
from cogs.forge.nudges import ReviewNudges
from cogs.forge.poller import Poller
from cogs.forge.repos import Repositories
from cogs.forge.review_hour import PURPOSE, WAKES, ReviewHours
from cogs.forge.settings import ForgeSettings
from cogs.forge.topics import ISSUES
from cogs.forge.webhook import HOOKS, MAX_BODY


def setup(house: Setup) -> None:
    runtime = house.runtime
    settings = house.section(ForgeSettings)
    repositories = Repositories(settings)
    house.commands(commands)
    house.personal_data(export=accounts.export, forget=accounts.forget, words=accounts.WORDS)
    if settings.forges:
        # With no forge configured nobody has forge logins to show: nothing to look up.
        house.consequence("whoami", accounts.shown_in_whoami)
        house.consequence("mentor claim", accounts.shown_in_mentor_claim)
    house.timer("review hours", ReviewHours(runtime).step, wake_on=WAKES)
    house.timer("review nudges", ReviewNudges(runtime).step)
    if any(forge.polled for forge in settings.forges):
        house.timer("forge poll", Poller(runtime, repositories, settings.forges).step)
    for kind, kind_of_hook in HOOKS.items():
        hook = kind_of_hook(runtime, repositories, settings.forges)
        if hook.secrets:
            house.webhook(f"/forge/{kind}", hook, max_body=MAX_BODY)


cog = Cog(
    "forge",
    setup,
    settings=ForgeSettings,
    purposes=(PURPOSE,),
    models="cogs.forge.models",
    topics=(ISSUES,),
)
