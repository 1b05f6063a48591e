"""whoami and link through the real registry and store, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Role
from bot.core.router import Router
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform
from tests.support.house import build_bot
from tests.support.link_code import code_in


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))


@pytest.fixture
def registry(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Router:
    return build_bot(sessions, clock=clock)


async def test_whoami_on_first_contact(registry: Router) -> None:
    said = await FakePlatform(registry).person("@nina:x", Role.MENTOR, "Nina").say("!whoami")
    assert said.reply.title == "You are Nina — mentor here"
    assert "- Matrix: @nina:x" in said.text
    assert "Link another platform with !link." in said.text


async def test_link_across_platforms(registry: Router) -> None:
    matrix = FakePlatform(registry, name="matrix").person("@nina:x", name="Nina")
    discord = FakePlatform(registry, name="discord", style="slash").person("42", name="nina_d")
    issued = await discord.say("!link")
    assert issued.reply.private
    code = code_in(issued.text)
    assert "/link code:" in issued.text
    linked = await matrix.say(f"!link {code.lower()}")
    assert "Linked." in linked.text
    for user in (matrix, discord):
        text = (await user.say("!whoami")).text
        assert "- Discord: @nina_d" in text and "- Matrix: @nina:x" in text
    reused = await matrix.say(f"!link {code}")
    assert reused.reply.error and "already been used" in reused.text
    assert "ask for a new one with !link." in reused.text
    assert "ask for a new one with /link." in (await discord.say(f"!link {code}")).text


async def test_expired_code(registry: Router, clock: Clock) -> None:
    console = FakePlatform(registry, name="console").person("you")
    code = code_in((await console.say("!link")).text)
    clock.now += timedelta(minutes=10, seconds=1)
    said = await FakePlatform(registry).person("@nina:x").say(f"!link {code}")
    assert "has expired (codes last 10 min); make a new one with !link." in said.text


async def test_bad_codes(registry: Router) -> None:
    nina = FakePlatform(registry).person("@nina:x")
    said = await nina.say("!link NOPE-NOPE")
    assert "doesn't exist" in said.text and "Usage: !link [code]" in said.text
    own = code_in((await nina.say("!link")).text)
    assert "That code is yours already" in (await nina.say(f"!link {own}")).text


async def test_two_accounts_on_one_platform_are_refused(registry: Router) -> None:
    nina = FakePlatform(registry).person("@nina:x")
    other = FakePlatform(registry).person("@nina2:x")
    code = code_in((await nina.say("!link")).text)
    said = await other.say(f"!link {code}")
    assert "one person can have one account per platform" in said.text
    assert "- Matrix: @nina2:x" in (await other.say("!whoami")).text
