"""The contributor FAQ: ask in chat, get the entry, a "did you mean", or a recorded gap."""

from bot.core.cog import Cog, Setup
from cogs.faq import asking, cli, commands


def setup(house: Setup) -> None:
    house.commands(commands)
    cache = asking.MatcherCache()
    house.commands(*commands.matcher_commands(cache))
    house.on_message("help", commands.auto_answerer(cache))
    # `/faq` is a group on Discord, so asking is `faq ask`; typed lines may skip the `ask`.
    house.alias("faq", "faq ask")


cog = Cog("faq", setup, purposes=("help",), cli=cli.COMMANDS, models="cogs.faq.models")
