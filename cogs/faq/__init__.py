"""The contributor FAQ: ask in chat, get the entry, a "did you mean", or a recorded gap."""

from bot.core.registry import Registry
from cogs.faq import asking, commands


def setup(registry: Registry) -> None:
    registry.add_module(commands)
    cache = asking.MatcherCache()
    for handler in commands.matcher_commands(cache):
        registry.add(handler)
    registry.add_listener("help", commands.auto_answerer(cache))
    # `/faq` is a group on Discord, so asking is `faq ask`; typed lines may skip the `ask`.
    registry.add_alias("faq", "faq ask")
