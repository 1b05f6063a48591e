"""Per-person limits on commands that write or could be guessed at, on SQLite and PostgreSQL:
past a limit a person is told when to try again and nothing happens; the count is kept in the
store, so two routers on one store (two instances) share it, even when racing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import parse_settings
from bot.core import Role
from bot.core.router import Router
from bot.db import make_engine, make_sessions
from bot.delivery import Delivery
from bot.identity import Account
from cogs.faq.models import FaqQuestion
from cogs.mentoring.models import MentorRequest
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser
from tests.support.house import build_bot
from tests.support.link_code import code_in

SETTINGS = parse_settings(
    {
        "rooms": [
            {"name": "mentors", "matrix_room_id": "!m:x", "purposes": ["mentors"]},
            {"name": "help", "matrix_room_id": "!help:x", "purposes": ["help"]},
        ]
    }
)
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
FAQ = '!faq add run-tests "How do I run the tests?" "Run pytest from the repository root." testing'


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def registry(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Router:
    return build_bot(sessions, SETTINGS, clock=clock)


@pytest.fixture
def nina(registry: Router) -> FakeUser:
    return FakePlatform(registry).person("@nina:x", name="Nina")


async def count(sessions: async_sessionmaker[AsyncSession], table: type) -> int:
    async with sessions() as session:
        return (await session.exec(select(func.count()).select_from(table))).one()


async def test_link_codes_cannot_be_guessed_at(
    registry: Router, sessions: async_sessionmaker[AsyncSession], clock: Clock, nina: FakeUser
) -> None:
    dana = FakePlatform(registry, name="discord", style="slash").person("55", name="dana")
    for guess in range(10):
        said = await nina.say(f"!link AAAA-AAA{guess % 8 + 2}")
        assert "That code doesn't exist" in said.text
    clock.now += timedelta(minutes=6)
    code = code_in((await dana.say("!link")).text)
    limited = await nina.say(f"!link {code}")
    assert limited.reply.error and limited.reply.private
    assert limited.text == (
        "You have used !link 10 times in 10 min, the most allowed. Try again in 4 min."
    )
    async with sessions() as session:
        linked = (await session.exec(select(Account.person_id).distinct())).all()
    assert len(linked) == 2, "the right code, past the limit, links nothing"
    clock.now += timedelta(minutes=4)
    assert "Linked." in (await nina.say(f"!link {code}")).text


async def test_a_limited_mentor_request_writes_and_posts_nothing(
    registry: Router, sessions: async_sessionmaker[AsyncSession], clock: Clock, nina: FakeUser
) -> None:
    for number in range(1, 6):
        assert not (await nina.say(f'!mentor request "topic {number}"')).reply.error
        assert not (await nina.say(f"!mentor cancel {number}")).reply.error
    posts = await count(sessions, Delivery)
    said = await nina.say('!mentor request "one more"')
    assert said.reply.error
    assert said.text == (
        "You have used !mentor request 5 times in 1 h, the most allowed. Try again in 1 h."
    )
    assert await count(sessions, MentorRequest) == 5
    assert await count(sessions, Delivery) == posts
    clock.now += timedelta(minutes=59)
    assert "Try again in 1 min." in (await nina.say('!mentor request "one more"')).text
    clock.now += timedelta(minutes=1)
    assert not (await nina.say('!mentor request "one more"')).reply.error


async def test_the_limit_is_the_persons_on_every_platform_and_in_its_terms(
    registry: Router, sessions: async_sessionmaker[AsyncSession], nina: FakeUser
) -> None:
    on_discord = FakePlatform(registry, name="discord", style="slash").person("42", name="nina")
    await on_discord.say(f"!link {code_in((await nina.say('!link')).text)}")
    for _ in range(10):
        await nina.say("!faq ask how do I run the tests?")
    for _ in range(10):
        await on_discord.say("!faq ask how do I run the tests?")
    asked = await count(sessions, FaqQuestion)
    said = await on_discord.say("!faq ask how do I run the tests?")
    assert said.text == (
        "You have used /faq ask 20 times in 10 min, the most allowed. Try again in 10 min."
    )
    assert (await nina.say("!faq how do I run the tests?")).text.startswith(
        "You have used !faq ask 20 times"
    ), "the typed alias counts as the command"
    assert await count(sessions, FaqQuestion) == asked
    other = FakePlatform(registry).person("@omar:x", name="Omar")
    assert not (await other.say("!faq ask how do I run the tests?")).reply.error, "per person"


async def test_auto_answers_past_the_limit_are_silent_and_keep_nothing(
    registry: Router, sessions: async_sessionmaker[AsyncSession], clock: Clock, nina: FakeUser
) -> None:
    await FakePlatform(registry).person("@omar:x", Role.ORGANIZER).say(FAQ)
    nina.room_id = "!help:x"
    for _ in range(10):
        assert await nina.post("how do I run the tests?") is not None
        clock.now += timedelta(minutes=3)
    assert await nina.post("how do I run the tests?") is None
    assert await count(sessions, FaqQuestion) == 10
    clock.now = T0 + timedelta(hours=1)
    assert await nina.post("how do I run the tests?") is not None


async def test_two_instances_on_one_store_share_a_limit_even_racing(
    db_url: str, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    other_engine = make_engine(db_url)
    try:
        first = build_bot(sessions, SETTINGS, clock=clock)
        second = build_bot(make_sessions(other_engine), SETTINGS, clock=clock)
        on_first = FakePlatform(first).person("@nina:x", name="Nina")
        on_second = FakePlatform(second).person("@nina:x", name="Nina")
        await on_first.say("!whoami")
        said = await asyncio.gather(
            *[(on_first, on_second)[n % 2].say(f"!link AAAA-AAA{n % 8 + 2}") for n in range(16)]
        )
        guessed = [s for s in said if "doesn't exist" in s.text]
        limited = [s for s in said if s.text.startswith("You have used !link 10 times")]
        assert (len(guessed), len(limited)) == (10, 6), [s.text for s in said]
        assert (await on_second.say("!link AAAA-AAAA")).text.startswith("You have used")
        assert (await on_first.say("!link AAAA-AAAA")).text.startswith("You have used")
    finally:
        await other_engine.dispose()
