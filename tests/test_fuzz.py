"""Every registered command, fuzzed from its spec on both paths and both stores.

Inputs come from `tests/support/hostile.py`, which reads them off each command's spec, so a new
command is fuzzed with no new code here. Properties: no internal error (no apology, nothing
logged at ERROR), a refusal changes nothing in the store, and no user markup or ping reaches a
reply or the outbox. `CONVENE_FUZZ=long` (`make fuzz`) runs many more examples than CI's fast
profile; `CONVENE_FUZZ=examples` runs only the regressions.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.context import Role
from bot.core.router import Router
from bot.core.spec import CommandSpec
from bot.db import make_engine, make_sessions
from bot.schema import upgrade
from tests.support.clock import Clock
from tests.support.hostile import NOW, Checker, caller, command_line, seed, slash_options
from tests.support.hostile import settings as bot_settings
from tests.support.house import (
    build_announcer,
    build_bot,
    build_escalator,
    build_personal_reminders,
)

_common = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}
settings.register_profile("fast", max_examples=150, derandomize=True, database=None, **_common)
settings.register_profile("long", max_examples=3000, **_common)
# Only the regressions below, e.g. to see them fail on code from before their fixes.
settings.register_profile("examples", phases=[Phase.explicit], **_common)
PROFILE = settings.get_profile(os.environ.get("CONVENE_FUZZ", "fast"))


@dataclass
class World:
    bot: Router = field(repr=False)
    checker: Checker = field(repr=False)


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    """The whole bot on a fresh store holding a few events, FAQ entries, requests and issues;
    one world for all examples of a test, so later inputs meet what earlier ones stored."""
    engine = make_engine(db_url)
    await upgrade(engine)
    bot = build_bot(make_sessions(engine), bot_settings(), clock=Clock(NOW))
    await seed(bot)
    planners = [
        build_announcer(bot).plan,
        build_personal_reminders(bot).plan,
        build_escalator(bot).plan,
    ]
    yield World(bot, Checker(bot, planners))
    await engine.dispose()


# The registry is read once, without a store, so that strategies and examples can name commands.
SPECS = {spec.name: spec for spec in build_bot(async_sessionmaker(class_=AsyncSession)).specs}


@st.composite
def _who(draw: st.DrawFn, spec: CommandSpec) -> Role:
    """Mostly someone allowed to run *spec*, sometimes anyone."""
    return draw(st.sampled_from([spec.role, spec.role, spec.role, *Role]))


@st.composite
def typed(draw: st.DrawFn) -> tuple[str, Role, str]:
    spec = SPECS[draw(st.sampled_from(sorted(SPECS)))]
    return spec.name, draw(_who(spec)), draw(command_line(spec))


@st.composite
def slash(draw: st.DrawFn) -> tuple[str, Role, dict[str, Any]]:
    spec = SPECS[draw(st.sampled_from(sorted(SPECS)))]
    return spec.name, draw(_who(spec)), draw(slash_options(spec))


ORGANIZER = Role.ORGANIZER
EVIL_LINK = "[zq](https://evil.example)"


@settings(PROFILE)
@given(case=typed())
# Defects the fuzzer found, kept as regressions: a refusal that quoted the start as it was typed
# (a live masked link); an event title, shown in the reply's title, as markup on Matrix.
@example(case=("event create", ORGANIZER, f"event create title={EVIL_LINK} start={EVIL_LINK}"))
@example(case=("event create", ORGANIZER, f'event create title={EVIL_LINK} start="2027-1-10 0:00"'))
# An unknown repeat quoted as typed; a role name that is a row of mass mentions.
@example(case=("event create", ORGANIZER, f'event create x "2027-01-10 10:00" repeat={EVIL_LINK}'))
@example(
    case=(
        "event create",
        ORGANIZER,
        'event create x "2027-12-07 17:00" mention="@everyone @here @room <@&123>"',
    )
)
# An unclosed "[" read as an IPv6 address: an internal error; a refusal quoting "@everyone".
@example(case=("sprint issue add", ORGANIZER, 'sprint issue add url="\x1b[31mred" newcomers'))
@example(case=("sprint issue add", ORGANIZER, "sprint issue add @everyone"))
# The refusal of an unbalanced ** in an answer said "a ** is never closed" and left a ** open.
@example(case=("faq add", ORGANIZER, 'faq add bold "Bold?" "An unbalanced ** bolds"'))
async def test_typed_commands(world: World, case: tuple[str, Role, str]) -> None:
    """Matrix and the console: a typed line through the one text parser."""
    _, role, line = case
    who = caller(role, "matrix")
    outcome = await world.checker.run(who, [line], lambda: world.bot.handle_text(who, line))
    event("refused" if outcome.refused else "accepted")
    assert not outcome.problems, (line, outcome.reply.text, outcome.problems)


@settings(PROFILE)
@given(case=slash())
@example(case=("event create", ORGANIZER, {"title": "*zq*", "start": "2027-01-05 09:00"}))
@example(case=("sprint issue add", ORGANIZER, {"url": "https://[github.com/o/r/issues/1"}))
# An FAQ question shown as markup when added and listed.
@example(case=("faq add", ORGANIZER, {"id": "zq", "question": EVIL_LINK, "answer": "Run make."}))
async def test_slash_commands(world: World, case: tuple[str, Role, dict[str, Any]]) -> None:
    """Discord: options as typed values through `Router.invoke`."""
    name, role, raw = case
    who = caller(role, "discord")
    said = [str(value) for value in raw.values()]
    outcome = await world.checker.run(who, said, lambda: world.bot.invoke(who, SPECS[name], raw))
    event("refused" if outcome.refused else "accepted")
    assert not outcome.problems, (raw, outcome.reply.text, outcome.problems)
