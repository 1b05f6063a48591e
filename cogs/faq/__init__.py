"""The contributor FAQ: ask in chat, get the entry, a "did you mean", or a recorded gap."""

from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.cog import Cog, Listens, Sees, Setup
from bot.core.context import Role
from bot.core.env import Env
from cogs.faq import asking, cli, commands, gap_pages, personal, public_pages
from cogs.faq.models import FaqEntry
from cogs.faq.settings import FaqSettings

STARTER = "examples/faq.toml"


async def first_step(session: AsyncSession, env: Env, now: datetime) -> str | None:
    """An empty FAQ answers every question "no answer yet"; the starter file is one command
    away, and loading it stays the organizer's choice."""
    if (await session.exec(select(FaqEntry.id).limit(1))).first() is not None:
        return None
    ask = env.audience("console").command("faq how do I run the tests?")
    return (
        f"The FAQ is empty: load the starter one with `convene faq import {STARTER}` "
        f"(from a checkout: .venv/bin/convene faq import {STARTER}), then ask {ask}"
    )


def setup(house: Setup) -> None:
    house.commands(commands)
    cache = asking.MatcherCache()
    house.commands(*commands.matcher_commands(cache))
    house.on_message("help", commands.auto_answerer(cache), limit=commands.AUTO_ANSWER_LIMIT)
    # `/faq` is a group on Discord, so asking is `faq ask`; typed lines may skip the `ask`.
    house.alias("faq", "faq ask")
    house.page("/faq", public_pages.FaqPage(house.runtime.sessions, cache), title="FAQ")
    house.first_step(first_step)
    house.personal_data(export=personal.export, forget=personal.forget, words=personal.WORDS)
    # A question asked later is due later than those kept already: nothing needs to wake it.
    house.timer("faq question retention", personal.QuestionRetention(house.runtime).step)
    house.page(
        gap_pages.PATH,
        gap_pages.gaps_page(house.runtime, cache),
        role=Role.ORGANIZER,
        title="FAQ gaps",
        methods=("GET", "POST"),
    )


cog = Cog(
    "faq",
    setup,
    settings=FaqSettings,
    purposes=("help",),
    listens=(Listens("help", Sees.MESSAGES, "FAQ auto-answer"),),
    cli=cli.COMMANDS,
    models="cogs.faq.models",
    templates="cogs.faq",
)
