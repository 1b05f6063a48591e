"""The weekly digest, with a settable clock: posted once at its time (Mondays 09:00 Paris by
default), never twice after a restart or with two instances, late once within 24 hours, skipped
and logged beyond; and what organizers read in it."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import ConfigError, Settings, parse_settings
from bot.core import Role
from bot.core.markup import to_plain
from cogs.digest.planner import Digester
from cogs.forge.models import PullRequest
from cogs.forge.settings import ForgeSettings
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform
from tests.support.house import build_bot, build_digester, build_dispatcher
from tests.support.recording_platform import RecordingPlatform, matrix_and_discord

ROOMS = [
    {
        "name": "organizers",
        "matrix_room_id": "!o:x",
        "discord_channel_id": 7,
        "purposes": ["digest"],
    }
]
SETTINGS = parse_settings({"digest": {"timezone": "Europe/Paris"}, "rooms": ROOMS})
# Monday 7 December 2026, 09:00 in Paris.
MONDAY = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


class Instance:
    """One running bot: its planner and dispatcher, over the shared store and clock."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        platforms: dict[str, RecordingPlatform],
        settings: Settings = SETTINGS,
    ) -> None:
        self.bot = build_bot(sessions, settings, clock=clock)
        self.digester = build_digester(self.bot)
        self.dispatcher = build_dispatcher(sessions, platforms, clock)


class World:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.clock = Clock(MONDAY - timedelta(days=2))
        self.platforms = matrix_and_discord()
        self.instance = self.start()

    def start(self) -> Instance:
        """A (re)start: everything built anew; only the store remains."""
        return Instance(self.sessions, self.clock, self.platforms)

    def posts(self, platform: str = "matrix") -> list[str]:
        return [to_plain(reply.body()) for reply in self.platforms[platform].replies.values()]

    async def at(self, when: datetime, *instances: Instance) -> list[str]:
        """Move the clock, let each instance plan and send; what Matrix received then."""
        self.clock.now = when
        before = len(self.posts())
        for instance in instances or (self.instance,):
            await instance.digester.plan()
            await instance.dispatcher.run_due()
        return self.posts()[before:]


@pytest.fixture
def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    return World(sessions)


async def busy_week(world: World) -> None:
    """On the Saturday before: an event for Tuesday, a mentor request, an FAQ gap, two people."""
    fake = FakePlatform(world.instance.bot)
    omar = fake.person("@omar:x", Role.ORGANIZER)
    nina = fake.person("@nina:x")
    said = await omar.say('!event create "Core meeting" start="2026-12-08 17:00" tz=Europe/Paris')
    assert not said.reply.error, said.text
    world.clock.now += timedelta(hours=10)
    said = await nina.say('!mentor request "dev setup" the build fails')
    assert not said.reply.error, said.text
    await nina.say("!faq ask how do I fly to the moon")


async def test_posted_once_at_its_time_with_what_organizers_need(world: World) -> None:
    await busy_week(world)
    assert await world.at(MONDAY - timedelta(minutes=1)) == []

    [digest] = await world.at(MONDAY)
    assert digest == (
        "Weekly digest · Mon 7 Dec 2026\n"
        "Events in the next 7 days\n"
        "- #1 Core meeting: Tue 8 Dec 2026 17:00 CET (16:00 UTC)\n"
        "\n"
        "Mentor requests\n"
        "1 waiting for a mentor; it, #1, has waited 1 d 14 h.\n"
        "\n"
        "FAQ gaps this week\n"
        "- 'how do I fly to the moon', once\n"
        "\n"
        "New people this week\n"
        "2: omar, nina."
    )
    [on_discord] = world.posts("discord")
    assert "- #1 Core meeting: <t:1796745600:F>" in on_discord

    assert await world.at(MONDAY + timedelta(hours=1)) == []
    world.instance = world.start()
    assert await world.at(MONDAY + timedelta(hours=2)) == [], "a restart posts nothing again"


async def test_two_instances_post_one_digest(world: World) -> None:
    second = world.start()
    world.clock.now = MONDAY
    await asyncio.gather(world.instance.digester.plan(), second.digester.plan())
    await asyncio.gather(world.instance.dispatcher.run_due(), second.dispatcher.run_due())
    assert len(world.posts()) == 1
    assert len(world.posts("discord")) == 1


async def test_a_first_start_posts_nothing_late(world: World) -> None:
    assert await world.at(MONDAY + timedelta(hours=3)) == []
    world.instance = world.start()
    assert await world.at(MONDAY + timedelta(hours=4)) == []
    [next_week] = await world.at(MONDAY + timedelta(days=7))
    assert next_week.startswith("Weekly digest · Mon 14 Dec 2026\nEvents")


async def test_a_digest_missed_while_down_is_sent_late_once(world: World) -> None:
    assert await world.at(MONDAY - timedelta(days=1)) == [], "the bot ran on Sunday"
    world.instance = world.start()
    [late] = await world.at(MONDAY + timedelta(hours=11))
    assert late.startswith("Weekly digest · Mon 7 Dec 2026\n(Sent late: the bot was unavailable.)")
    assert "Nothing planned." in late and "None waiting for a mentor." in late
    assert "Nobody new." in late
    world.instance = world.start()
    assert await world.at(MONDAY + timedelta(hours=12)) == []


async def test_a_digest_more_than_a_day_late_is_skipped_and_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "cogs.digest")
    assert await world.at(MONDAY - timedelta(days=1)) == [], "the bot ran on Sunday"
    world.instance = world.start()
    assert await world.at(MONDAY + timedelta(hours=24)) == []
    assert await world.at(MONDAY + timedelta(hours=30)) == []
    skipped = [r.getMessage() for r in caplog.records if "was not sent" in r.getMessage()]
    assert skipped == [
        "the digest due 2026-12-07 09:00 CET was not sent: the bot was not running then, "
        "and a digest more than 24 h late is skipped"
    ]
    [next_week] = await world.at(MONDAY + timedelta(days=7))
    assert next_week.startswith("Weekly digest · Mon 14 Dec 2026")


async def test_its_time_and_zone_come_from_settings(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = parse_settings(
        {
            "bot": {"timezone": "America/New_York"},
            "digest": {"day_of_week": "fri", "hour": 17, "minute": 30},
            "rooms": ROOMS,
        }
    )
    digester: Digester = build_digester(build_bot(sessions, settings))
    friday = datetime(2026, 12, 11, 22, 30, tzinfo=UTC)  # 17:30 in New York
    assert digester.latest(friday) == friday
    assert digester.latest(friday - timedelta(seconds=1)) == friday - timedelta(days=7)
    paris = build_digester(build_bot(sessions, SETTINGS))
    summer = datetime(2027, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 in Paris, summer time
    assert paris.latest(summer + timedelta(hours=1)) == summer

    with pytest.raises(ConfigError, match=r"\[digest\] day_of_week: .*unknown days 'someday'"):
        parse_settings({"digest": {"day_of_week": "someday"}})
    with pytest.raises(ConfigError, match=r"\[digest\] timezone: .*unknown time zone"):
        parse_settings({"digest": {"timezone": "Mars/Olympus"}})
    with pytest.raises(ConfigError, match=r"\[digest\] hour"):
        parse_settings({"digest": {"hour": 24}})


async def test_a_crowded_week_fits_one_message(world: World) -> None:
    """Discord cuts an embed at 4,096 characters: lists stop before, and say there is more."""
    fake = FakePlatform(world.instance.bot)
    omar = fake.person("@omar:x", Role.ORGANIZER, name="Omar " + "o" * 60)
    title = ("Weekly planning of the long-titled working group " * 4)[:200].strip()
    said = await omar.say(f'!event create "{title}" start="2026-12-07 18:00" repeat=daily')
    assert not said.reply.error, said.text
    for n in range(11):
        await fake.person(f"@p{n}:x", name=f"Person {n} " + "x" * 60).say("!whoami")
    world.clock.now = MONDAY - timedelta(minutes=1)
    await world.instance.digester.plan()

    [digest] = await world.at(MONDAY)
    assert len(digest) < 3500
    assert digest.count(title) == 6, "of its 7 days"
    assert "…and more: !event list" in digest
    first, second = ("Omar " + "o" * 60)[:39], ("Person 0 " + "x" * 60)[:39]
    assert f"12: {first}…, {second}…, Person 1" in digest, "names of 40 characters at most"
    assert digest.endswith(" and 2 more.")
    [on_discord] = world.platforms["discord"].replies.values()
    assert "…and more: `/event list`" in on_discord.text


def pull(number: int, waiting: datetime, **fields: Any) -> PullRequest:
    given: dict[str, Any] = {"state": "open", "author": "someone", **fields}
    return PullRequest(
        repo="https://github.com/scikit-learn/scikit-learn",
        number=number,
        title=f"Fix {number}",
        url=f"https://github.com/scikit-learn/scikit-learn/pull/{number}",
        waiting_since=waiting,
        updated_at=waiting,
        **given,
    )


async def test_the_review_backlog_is_told_once_a_forge_is_configured(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    world = World(sessions)
    async with sessions() as session:
        session.add(pull(1, MONDAY - timedelta(days=9)))
        session.add(pull(2, MONDAY - timedelta(hours=5)))
        session.add(pull(3, MONDAY - timedelta(days=2, hours=3)))
        session.add(pull(4, MONDAY - timedelta(days=20), draft=True))
        session.add(pull(5, MONDAY - timedelta(days=30), approvals=2))
        session.add(pull(6, MONDAY - timedelta(days=40), state="merged"))
        session.add(pull(7, MONDAY - timedelta(hours=1)))
        await session.commit()
    [without] = await world.at(MONDAY)
    assert "Review backlog" not in without, "no forge configured: nothing to say"

    forged = {
        "forges": [
            {
                "kind": "github",
                "web_url": "https://github.com",
                "repositories": ["scikit-learn/scikit-learn"],
            }
        ]
    }
    settings = SETTINGS.model_copy(update={"forge": ForgeSettings.model_validate(forged)})
    world.instance = Instance(sessions, world.clock, world.platforms, settings)
    [digest] = await world.at(MONDAY + timedelta(days=7))
    backlog = digest.split("Review backlog\n")[1].split("\n\n")[0]
    assert backlog == (
        "4 pull requests wait for a review; the longest:\n"
        "- scikit-learn/scikit-learn#1 (https://github.com/scikit-learn/scikit-learn/pull/1), "
        "16 d\n"
        "- scikit-learn/scikit-learn#3 (https://github.com/scikit-learn/scikit-learn/pull/3), "
        "9 d 3 h\n"
        "- scikit-learn/scikit-learn#2 (https://github.com/scikit-learn/scikit-learn/pull/2), "
        "7 d 5 h\n"
        "…and more: !review queue"
    )
    assert digest.index("Mentor requests") < digest.index("Review backlog")
    assert digest.index("Review backlog") < digest.index("FAQ gaps")
