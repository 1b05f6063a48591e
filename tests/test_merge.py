"""Linking two accounts whose people both chose things, on SQLite and PostgreSQL: rows that would
collide on a unique key keep the kept person's choice, the rest move, and the link succeeds."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import parse_settings
from bot.core import Role
from bot.core.router import Router
from bot.identity import Person
from cogs.events.models import Rsvp
from cogs.faq import tomlfile
from cogs.faq.models import FaqVote
from cogs.mentoring.models import MentorAvailability
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform
from tests.support.house import build_bot

SETTINGS = parse_settings(
    {
        "rooms": [
            {"name": "community", "matrix_room_id": "!c:x", "purposes": ["announcements"]},
            {"name": "mentors", "matrix_room_id": "!m:x", "purposes": ["mentors"]},
        ]
    }
)
FAQ = """\
[[entry]]
id = "run-tests"
question = "How do I run the test suite?"
answer = "Run pytest from the repository root."
tags = ["tests", "pytest"]
"""


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))


@pytest.fixture
async def registry(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Router:
    async with sessions() as session:
        await tomlfile.import_toml(session, FAQ, "faq.toml", clock())
        await session.commit()
    return build_bot(sessions, SETTINGS, clock=clock)


async def rows(registry: Router, model: type[object]) -> int:
    async with registry.runtime.sessions() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_link_keeps_the_kept_persons_choices_and_moves_the_rest(registry: Router) -> None:
    nina = FakePlatform(registry).person("@nina:x", Role.MENTOR, "Nina")
    nina_d = FakePlatform(registry, name="discord", style="slash").person("42", Role.MENTOR, "nd")
    omar = FakePlatform(registry).person("@omar:x", Role.ORGANIZER, "Omar")
    # Nina on Matrix came first, so hers is the person kept.
    await nina.say("!mentor available off")
    await nina_d.say("!mentor available on")
    await omar.say('!event create "Weekly sync" start="2026-12-07 17:00" repeat=weekly')
    await nina.say("!event rsvp 1 going")
    await nina_d.say("!event rsvp 1 maybe")
    await nina_d.say("!event rsvp 1 going 2026-12-14")
    await nina.say("!faq how do I run the tests?")
    await nina.say("!faq vote 1 up")
    await nina_d.say("!faq vote 1 down")
    await nina_d.say("!faq ask running pytest locally")
    await nina_d.say("!faq vote 2 down")
    before = [await rows(registry, m) for m in (MentorAvailability, Rsvp, FaqVote, Person)]
    assert before == [2, 3, 3, 3]

    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", (await nina_d.say("!link")).text)
    assert code
    linked = await nina.say(f"!link {code.group(0)}")
    assert not linked.reply.error and "Linked." in linked.text

    after = [await rows(registry, m) for m in (MentorAvailability, Rsvp, FaqVote, Person)]
    assert after == [1, 2, 2, 2]
    shown = (await omar.say("!event show 1")).text.splitlines()
    assert next(line for line in shown if "7 Dec 2026" in line).endswith(" — 1 going")
    assert next(line for line in shown if "14 Dec 2026" in line).endswith(" — 1 going")
    again = await nina_d.say("!faq vote 1 up")
    assert again.text == "You had already voted 👍 on that answer."
    moved = await nina.say("!faq vote 2 down")
    assert moved.text == "You had already voted 👎 on that answer."
    await FakePlatform(registry).person("@ben:x", name="Ben").say('!mentor request "ci"')
    refused = await nina_d.say("!mentor claim 1")
    assert refused.reply.error and "You are marked unavailable" in refused.text
