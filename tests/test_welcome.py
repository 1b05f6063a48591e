"""Welcomes through the real registry and store, on SQLite and PostgreSQL: once per person ever
(rejoin, restart, linked accounts), the template, the next newcomers event, the rate limit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings, parse_settings
from bot.core import Role
from bot.core.markup import to_plain
from bot.core.router import Router
from bot.delivery import Delivery, decode
from cogs.welcome.models import Welcome
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser
from tests.support.house import build_bot, build_dispatcher
from tests.support.link_code import code_in
from tests.support.recording_platform import RecordingPlatform

ROOMS: list[dict[str, Any]] = [
    {
        "name": "lobby",
        "matrix_room_id": "!lobby:x",
        "discord_channel_id": 5,
        "purposes": ["welcome"],
    },
    {"name": "community", "matrix_room_id": "!c:x", "purposes": ["announcements"]},
]
SETTINGS = parse_settings(
    {
        "rooms": ROOMS,
        "welcome": {"contributor_guide": "https://example.org/contributing", "per_minute": 3},
    }
)
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


def make_registry(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings = SETTINGS
) -> Router:
    return build_bot(sessions, settings, clock=clock)


@pytest.fixture
def registry(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Router:
    return make_registry(sessions, clock)


def on_matrix(registry: Router, user_id: str, name: str, role: Role = Role.CONTRIBUTOR) -> FakeUser:
    user = FakePlatform(registry).person(user_id, role, name)
    user.room_id = "!lobby:x"
    return user


def on_discord(registry: Router, user_id: str, name: str) -> FakeUser:
    user = FakePlatform(registry, name="discord", style="slash").person(user_id, name=name)
    user.room_id = "5"
    return user


async def planned(registry: Router) -> list[tuple[str, str, str, datetime]]:
    """(key, "platform room", plain text, due) of every welcome planned, in order."""
    async with registry.runtime.sessions() as session:
        query = select(Delivery).where(col(Delivery.key).startswith("welcome:"))
        rows = (await session.exec(query.order_by(col(Delivery.id)))).all()
    return [
        (r.key, f"{r.platform} {r.room}", to_plain(decode(r.body).body()), r.due_at) for r in rows
    ]


async def marks(registry: Router) -> list[tuple[int, str, str]]:
    async with registry.runtime.sessions() as session:
        rows = (await session.exec(select(Welcome).order_by(col(Welcome.id)))).all()
    return [(r.person_id, r.platform, r.key) for r in rows]


async def test_a_newcomer_is_welcomed_once_where_they_joined(
    registry: Router, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    nina = on_matrix(registry, "@nina:x", "Nina")
    await nina.join()
    assert [row[:3] for row in await planned(registry)] == [
        (
            "welcome:1",
            "matrix lobby",
            "Welcome, Nina! 👋\n"
            "New here? The contributor guide is the place to start: "
            "https://example.org/contributing\n"
            "Want one-to-one help getting set up? Ask a mentor with !mentor request <topic>",
        )
    ]
    matrix = RecordingPlatform("matrix")
    assert await build_dispatcher(sessions, {"matrix": matrix}, clock).run_due() == 1
    assert [target for target, _ in matrix.posted.values()] == ["!lobby:x"]

    clock.now += timedelta(days=3)
    await nina.join()
    nina.room_id = "!c:x"
    await nina.join(("announcements", "welcome"))
    assert len(await planned(registry)) == 1, "a rejoin, or a join elsewhere, is not welcomed"
    restarted = build_dispatcher(sessions, {"matrix": matrix}, clock)
    assert await restarted.run_due() == 0
    assert len(matrix.posted) == 1
    assert await marks(registry) == [(1, "matrix", "welcome:1")]


async def test_discord_gets_the_slash_command_and_the_next_newcomers_event(
    registry: Router,
) -> None:
    omar = on_matrix(registry, "@omar:x", "Omar", Role.ORGANIZER)
    await omar.say('!event create "Core sync" start="2026-11-30 10:00" tz=Europe/Paris')
    await omar.say(
        '!event create "First-timers sprint" start="2026-12-05 10:00" tz=Europe/Paris '
        "kind=sprint tier=newcomers"
    )
    await omar.say(
        '!event create "Later newcomers hour" start="2026-12-20 10:00" tz=Europe/Paris '
        "tier=newcomers"
    )
    await on_discord(registry, "77", "casey").join()
    await on_matrix(registry, "@nina:x", "Nina").join()
    stamp = int(datetime(2026, 12, 5, 9, 0, tzinfo=UTC).timestamp())
    discord_text, matrix_text = [text for _, _, text, _ in await planned(registry)]
    assert discord_text.splitlines()[2:] == [
        f"Next event for newcomers: First-timers sprint, <t:{stamp}:F> (<t:{stamp}:R>)",
        "Want one-to-one help getting set up? Ask a mentor with /mentor request topic:…",
    ]
    assert matrix_text.splitlines()[2] == (
        "Next event for newcomers: First-timers sprint, Sat 5 Dec 2026 10:00 CET (09:00 UTC)"
    )
    assert [room for _, room, _, _ in await planned(registry)] == ["discord lobby", "matrix lobby"]


async def test_linked_accounts_are_not_welcomed_again(registry: Router) -> None:
    nina = on_matrix(registry, "@nina:x", "Nina")
    await nina.join()
    nina_d = on_discord(registry, "42", "nina_d")
    code = code_in((await nina_d.say("!link")).text)
    assert "Linked." in (await nina.say(f"!link {code}")).text
    await nina_d.join()
    assert [key for key, *_ in await planned(registry)] == ["welcome:1"]


async def test_people_welcomed_on_both_sides_can_still_link(registry: Router) -> None:
    nina = on_matrix(registry, "@nina:x", "Nina")
    nina_d = on_discord(registry, "42", "nina_d")
    await nina.join()
    await nina_d.join()
    code = code_in((await nina_d.say("!link")).text)
    assert "Linked." in (await nina.say(f"!link {code}")).text
    assert await marks(registry) == [(1, "matrix", "welcome:1"), (1, "discord", "welcome:2")]
    nina.room_id = nina_d.room_id = "elsewhere"
    await nina.join()
    assert len(await planned(registry)) == 2
    await on_discord(registry, "43", "zoe").join()
    zoe = (await planned(registry))[-1]
    assert (zoe[1], zoe[2].splitlines()[0]) == ("discord lobby", "Welcome, zoe! 👋"), (
        "keyed by account: SQLite gives a merged-away person's id to the next person"
    )


async def test_a_raid_is_welcomed_in_one_combined_message(registry: Router, clock: Clock) -> None:
    for n in range(15):
        await on_matrix(registry, f"@raider{n}:x", f"R{n}").join()
        clock.now += timedelta(seconds=1)
    found = await planned(registry)
    assert [key for key, *_ in found] == [
        "welcome:1",
        "welcome:2",
        "welcome:3",
        "welcome:group:4",
    ]
    key, room, text, due = found[-1]
    assert room == "matrix lobby"
    assert due == T0 + timedelta(seconds=3 + 60), "a minute after the first who overflowed"
    assert text.splitlines()[0] == (
        "Welcome, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12 and 2 others! 👋"
    )
    assert [k for _, _, k in await marks(registry)] == [found[i][0] for i in (0, 1, 2)] + [key] * 12

    clock.now = due + timedelta(seconds=1)
    await on_matrix(registry, "@late:x", "Late").join()
    assert (await planned(registry))[-1][:2] == ("welcome:16", "matrix lobby")
    assert len(await marks(registry)) == 16, "everyone is marked welcomed once"


async def test_two_raiders_make_a_short_list(registry: Router) -> None:
    for n in range(5):
        await on_matrix(registry, f"@r{n}:x", f"R{n}").join()
    assert (await planned(registry))[-1][2].startswith("Welcome, R3 and R4! 👋")


async def test_template_names_and_missing_values(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    settings = parse_settings(
        {
            "rooms": ROOMS,
            "welcome": {
                "template": "Hi {name}, glad you're here.\nRead {guide} first.\nAsk: {mentor}",
            },
        }
    )
    registry = make_registry(sessions, clock, settings)
    await on_matrix(registry, "@zed:x", "**Zed** [x](https://evil.example)").join()
    async with registry.runtime.sessions() as session:
        row = (await session.exec(select(Delivery))).one()
    body = decode(row.body).text
    assert body == (
        r"Hi \*\*Zed\*\* \[x\]\(https://evil.example\), glad you're here."
        "\nAsk: `!mentor request <topic>`"
    ), "no guide set: its line is left out; the name is literal text, never markup"


async def test_off_by_default(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, registry: Router
) -> None:
    plain = make_registry(sessions, clock, parse_settings({"rooms": ROOMS[1:]}))
    user = on_matrix(plain, "@nina:x", "Nina")
    await user.join(("welcome",))
    user.room_id = "!c:x"
    await user.join(("announcements",))
    assert await planned(plain) == []
    assert not registry.wants_joins(["announcements", "help", "mentors"])
    assert registry.wants_joins(["welcome"])


async def test_joins_arriving_together_are_each_welcomed_once(registry: Router) -> None:
    people = [on_matrix(registry, f"@p{n}:x", f"P{n}") for n in range(3)]
    await asyncio.gather(*(person.join() for person in people * 3))
    assert sorted(key for _, _, key in await marks(registry)) == [
        "welcome:1",
        "welcome:2",
        "welcome:3",
    ]
    assert len(await planned(registry)) == 3


async def test_organizers_preview_the_welcome(registry: Router) -> None:
    omar = on_matrix(registry, "@omar:x", "Omar", Role.ORGANIZER)
    said = await omar.say("!welcome preview")
    assert said.text.splitlines()[:2] == [
        "Welcome preview (posted in: lobby)",
        "Welcome, Omar! 👋",
    ]
    refused = await on_matrix(registry, "@nina:x", "Nina").say("!welcome preview")
    assert refused.reply.error and "Only organizers can use" in refused.text
    assert await marks(registry) == [] and await planned(registry) == []
