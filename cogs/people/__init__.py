"""People: who you are here, linking your accounts across platforms, and your data: yours to
take or have erased."""

from bot.core.cog import Cog, Setup
from bot.core.context import Role
from cogs.people import commands, pages, personal


def setup(house: Setup) -> None:
    house.commands(commands)
    house.commands(*commands.rights_commands(house.personal))
    house.personal_data(export=personal.export, forget=personal.forget, words=personal.WORDS)
    house.page(pages.PATH, pages.people_page(house.runtime), role=Role.ORGANIZER, title="People")


cog = Cog("people", setup, models="cogs.people.models", templates="cogs.people")
