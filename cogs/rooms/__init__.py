"""Rooms from chat: organizers bind the channel they are in as a named room with purposes,
link it to its other platform's channel, list and remove rooms, all without a restart."""

from bot.core.cog import Cog, Setup
from cogs.rooms import commands


def setup(house: Setup) -> None:
    house.commands(commands)


cog = Cog("rooms", setup)
