"""The contributor FAQ: ask in chat, get the entry, a "did you mean", or a recorded gap."""

from bot.core.cog import Cog, Setup
from cogs.faq import asking, cli, commands, personal
from cogs.faq.settings import FaqSettings


def setup(house: Setup) -> None:
    house.commands(commands)
    cache = asking.MatcherCache()
    house.commands(*commands.matcher_commands(cache))
    house.on_message("help", commands.auto_answerer(cache), limit=commands.AUTO_ANSWER_LIMIT)
    # `/faq` is a group on Discord, so asking is `faq ask`; typed lines may skip the `ask`.
    house.alias("faq", "faq ask")
    house.personal_data(export=personal.export, forget=personal.forget)
    # A question asked later is due later than those kept already: nothing needs to wake it.
    house.timer("faq question retention", personal.QuestionRetention(house.runtime).step)


cog = Cog(
    "faq",
    setup,
    settings=FaqSettings,
    purposes=("help",),
    cli=cli.COMMANDS,
    models="cogs.faq.models",
)
