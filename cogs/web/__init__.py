"""`web login`: mentors and organizers open the web pages from chat, with a one-time link
the bot sends only to them. The login itself is the store's (`bot.web_login`)."""

from bot.core.cog import Cog, Setup
from cogs.web import commands


def setup(house: Setup) -> None:
    house.commands(commands)


cog = Cog("web", setup)
