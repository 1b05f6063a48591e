"""FAQ auto-answer in help rooms: only clear questions, only strong matches, one per room per
two minutes, never outside help rooms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Role
from bot.core.router import Router
from cogs.faq.tomlfile import import_toml
from tests.support.clock import Clock
from tests.support.eventually import eventually
from tests.support.fake_platform import FakePlatform
from tests.support.house import build_bot

FAQ = Path(__file__).parents[1] / "examples" / "faq.toml"


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
async def registry(sqlite_sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Router:
    async with sqlite_sessions() as session:
        await import_toml(session, FAQ.read_text(), str(FAQ), clock())
        await session.commit()
    return build_bot(sqlite_sessions, clock=clock)


async def test_answers_a_clear_question_once_per_room_every_two_minutes(
    registry: Router, clock: Clock
) -> None:
    nina = FakePlatform(registry).person("@nina:x")
    said = await nina.post("how do I run the tests?")
    assert said is not None and said.reply.title == "How do I run the test suite?"
    assert [b.label for b in said.reply.buttons] == ["👍", "👎"]
    assert await nina.post("how do I set up my development environment?") is None
    other_room = FakePlatform(registry).person("@omar:x")
    other_room.room_id = "elsewhere"
    assert await other_room.post("how do I set up my development environment?") is not None
    clock.now += timedelta(minutes=2)
    assert await nina.post("how do I set up my development environment?") is not None


async def test_stays_quiet_unless_sure(registry: Router) -> None:
    nina = FakePlatform(registry).person("@nina:x")
    assert await nina.post("I ran the tests and they pass, thanks all") is None
    assert await nina.post("what is the weather in Paris tomorrow?") is None
    assert await nina.post("how do I run the tests?", purposes=("announcements",)) is None
    assert await nina.post("x" * 5000 + "?") is None


async def test_the_previous_index_answers_while_the_new_one_builds(registry: Router) -> None:
    """Auto-answering never waits for an index: right after an edit it answers from the one it
    had, and the new entry is answered once the new index is built, off the event loop."""
    nina = FakePlatform(registry).person("@nina:x")
    omar = FakePlatform(registry).person("@omar:x", Role.ORGANIZER)
    assert await nina.post("who feeds the office cat?") is None, "not in the FAQ yet"
    added = await omar.say(
        '!faq add office-cat "Who feeds the office cat?" "Whoever opens the office first."'
    )
    assert not added.reply.error, added.text
    assert await nina.post("who feeds the office cat?") is None, "the previous index"

    async def answered() -> bool:
        said = await nina.post("who feeds the office cat?")
        return said is not None and said.reply.title == "Who feeds the office cat?"

    await eventually(answered, what="the new index")
    removed = await omar.say("!faq remove office-cat")
    assert not removed.reply.error, removed.text
    nina.room_id = "another room"
    assert await nina.post("who feeds the office cat?") is None, "a removed entry is never named"
