"""The weekly digest: rooms with purpose `digest` get the week ahead and behind at a set time."""

from bot.core.cog import Cog, Setup
from cogs.digest.planner import PURPOSE, Digester
from cogs.digest.settings import DigestSettings


def setup(house: Setup) -> None:
    if not house.runtime.env.rooms.with_purpose(PURPOSE):
        return
    digester = Digester(house.runtime)
    house.timer("weekly digest", digester.step, schedule=digester.trigger)


cog = Cog("digest", setup, settings=DigestSettings, purposes=(PURPOSE,))
