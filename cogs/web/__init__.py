"""The web pages' own part of chat and of the outbox: `web login`, with which mentors and
organizers open the pages (the login itself is the store's, `bot.web_login`), and the list of
messages a platform refused, with a retry (the outbox is `bot.delivery`'s)."""

from bot.core.cog import Cog, Setup
from bot.core.context import Role
from cogs.web import commands, deliveries, personal


def setup(house: Setup) -> None:
    house.commands(commands)
    house.personal_data(export=personal.export, forget=personal.forget, words=personal.WORDS)
    house.page(
        deliveries.PATH,
        deliveries.refused_page(house.runtime),
        role=Role.ORGANIZER,
        title="Refused messages",
        methods=("GET", "POST"),
    )


cog = Cog("web", setup, templates="cogs.web")
