"""People: who you are here, linking your accounts across platforms, and your data: yours to
take or have erased."""

from bot.core.cog import Cog, Setup
from cogs.people import commands, personal


def setup(house: Setup) -> None:
    house.commands(commands)
    house.commands(*commands.rights_commands(house.personal))
    house.personal_data(export=personal.export, forget=personal.forget, words=personal.WORDS)


cog = Cog("people", setup, models="cogs.people.models")
