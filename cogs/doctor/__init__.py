"""`doctor`: organizers ask the running bot whether it is set up as it needs, and get each
problem with its fix. The platforms and the app answer through `bot.core.diagnose`."""

from bot.core.cog import Cog, Setup
from cogs.doctor.commands import doctor_command


def setup(house: Setup) -> None:
    house.commands(doctor_command(house.runtime.doctors))


cog = Cog("doctor", setup)
