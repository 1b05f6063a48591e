"""Mentor requests through the real registry and store, on SQLite and PostgreSQL: the queue,
claims (twenty at once, one winner), closing, refusals, figures and escalation exactly once."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import parse_settings
from bot.core import Role
from bot.core.markup import to_plain
from bot.core.router import Router
from bot.db import make_engine, make_sessions
from bot.delivery import Delivery, decode
from bot.identity import Person
from cogs.mentoring.models import MentorRequest
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser
from tests.support.house import build_bot, build_dispatcher, build_escalator
from tests.support.recording_platform import matrix_and_discord

SETTINGS = parse_settings(
    {
        "rooms": [
            {"name": "community", "matrix_room_id": "!c:x", "purposes": ["announcements"]},
            {
                "name": "mentors",
                "matrix_room_id": "!m:x",
                "discord_channel_id": 7,
                "purposes": ["mentors"],
            },
        ]
    }
)
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
ASK = '!mentor request "dev setup" the C extensions fail to build on Windows'


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def registry(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Router:
    return build_bot(sessions, SETTINGS, clock=clock)


@pytest.fixture
def matrix(registry: Router) -> FakePlatform:
    return FakePlatform(registry)


@pytest.fixture
def discord(registry: Router) -> FakePlatform:
    return FakePlatform(registry, name="discord", style="slash")


@pytest.fixture
def nina(matrix: FakePlatform) -> FakeUser:
    user = matrix.person("@nina:x", name="Nina")
    user.room_id = "!lobby:x"
    return user


@pytest.fixture
def maria(discord: FakePlatform) -> FakeUser:
    return discord.person("11", Role.MENTOR, "maria")


@pytest.fixture
def omar(matrix: FakePlatform) -> FakeUser:
    return matrix.person("@omar:x", Role.ORGANIZER, "Omar")


def mentor(platform: FakePlatform, n: int) -> FakeUser:
    return platform.person(f"@mentor{n}:x", Role.MENTOR, f"Mentor{n}")


async def deliveries(registry: Router) -> dict[tuple[str, str], str]:
    """(key, platform) -> plain text of what is planned there."""
    async with registry.runtime.sessions() as session:
        rows = (await session.exec(select(Delivery).order_by(col(Delivery.id)))).all()
    return {(r.key, f"{r.platform} {r.room}"): to_plain(decode(r.body).body()) for r in rows}


async def snapshot(registry: Router) -> tuple[list[tuple[object, ...]], int]:
    async with registry.runtime.sessions() as session:
        found = (await session.exec(select(MentorRequest).order_by(col(MentorRequest.id)))).all()
        planned = (await session.exec(select(func.count()).select_from(Delivery))).one()
    return [(r.status, r.claimed_by, r.round, r.done_at) for r in found], planned


async def test_request_is_queued_and_posted_to_mentor_rooms(
    nina: FakeUser, registry: Router, clock: Clock
) -> None:
    said = await nina.say(ASK)
    assert not said.reply.error
    assert said.text == (
        "Request #1 “dev setup” is in the queue (position 1).\n"
        "A mentor will contact you here when they take it.\n"
        "Only mentors and organizers see your details."
    )
    planned = await deliveries(registry)
    assert set(planned) == {
        ("mentor:1:posted", "matrix mentors"),
        ("mentor:1:posted", "discord mentors"),
    }
    post = planned[("mentor:1:posted", "matrix mentors")]
    assert post == (
        "#1 dev setup\nFrom Nina (Matrix), first request\nthe C extensions fail to build on Windows"
    )
    # On Discord the details stay out of the channel: a Details button shows them privately.
    assert planned[("mentor:1:posted", "discord mentors")] == (
        "#1 dev setup\nFrom Nina (Matrix), first request"
    )
    # Sent once through the dispatcher: a Claim button on Discord, a typed line on Matrix.
    platforms = matrix_and_discord()
    dispatcher = build_dispatcher(registry.runtime.sessions, platforms, clock)
    assert await dispatcher.run_due() == 2
    assert await dispatcher.run_due() == 0
    async with registry.runtime.sessions() as session:
        row = (await session.exec(select(Delivery).where(Delivery.platform == "discord"))).one()
    assert row.status == "sent" and row.target == "7"
    assert [(b.label, b.command) for b in decode(row.body).buttons] == [
        ("Claim", "mentor claim 1"),
        ("Details", "mentor details 1"),
    ]
    again = await nina.say('!mentor request "other thing"')
    assert again.reply.error
    assert "You already have request #1 “dev setup” (open)" in again.text


async def test_mentors_see_the_details_privately(
    nina: FakeUser, maria: FakeUser, matrix: FakePlatform
) -> None:
    await nina.say(ASK)
    await matrix.person("@sam:x", name="Sam").say('!mentor request "packaging"')
    shown = await maria.say("!mentor details 1")
    assert shown.reply.private and not shown.reply.error
    assert shown.reply.title == "#1 “dev setup”"
    assert shown.reply.text.splitlines() == [
        "From Nina (Matrix), open.",
        "the C extensions fail to build on Windows",
    ]
    assert (await maria.say("!mentor details 2")).reply.text.splitlines()[1] == "No details given."
    missing = await maria.say("!mentor details 9")
    assert missing.reply.error and missing.text == "There is no mentor request #9."
    refused = await nina.say("!mentor details 1")
    assert refused.reply.error and refused.text == "Only mentors can use !mentor details."


async def test_claim_tells_everyone_the_right_thing(
    nina: FakeUser, maria: FakeUser, matrix: FakePlatform, registry: Router
) -> None:
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", (await maria.say("!link")).text)
    assert code
    await matrix.person("@maria:x", Role.MENTOR, "Maria").say(f"!link {code.group(0)}")
    await nina.say(ASK)
    platforms = matrix_and_discord()
    dispatcher = build_dispatcher(registry.runtime.sessions, platforms, registry.runtime.clock)
    assert await dispatcher.run_due() == 2
    claimed = await maria.say("!mentor claim 1")
    assert claimed.reply.private and not claimed.reply.error
    assert claimed.reply.title == "You have #1 “dev setup”"
    assert claimed.text.splitlines()[1:] == [
        "From Nina (@nina:x).",
        "the C extensions fail to build on Windows",
        "Reach out to them; /mentor done id:1 when finished, /mentor release id:1 to hand it back.",
    ]
    second = await mentor(matrix, 2).say("!mentor claim 1")
    assert second.reply.error and second.text == "maria already has #1."
    planned = await deliveries(registry)
    (told,) = [where for key, where in planned if key == "mentor:1:claimed"]
    assert told.startswith("matrix dm:")
    assert planned[("mentor:1:claimed", told)] == (
        "maria (Discord: @maria, Matrix: @maria:x) has taken your mentor request #1 "
        "“dev setup” and will contact you. You can also write to them first."
    )
    assert planned[("mentor:1:posted:claimed", "discord mentors")] == (
        "#1 dev setup\n✅ Claimed by maria · from Nina (Matrix)"
    )
    # Sent: the request's posts are edited in place, the requester gets a direct message.
    assert await dispatcher.run_due() == 3
    assert [t for t, _ in platforms["matrix"].posted.values()] == ["!m:x", "user:@nina:x"]
    assert [(t, text) for t, text in platforms["discord"].edited.values()] == [
        ("7", "✅ Claimed by maria · from Nina (Matrix)")
    ]
    listed = (await maria.say("!mentor list all")).text
    assert "#1 “dev setup” — claimed by maria · Nina, first request · 1 min ago" in listed


async def test_release_done_cancel(
    nina: FakeUser, maria: FakeUser, omar: FakeUser, matrix: FakePlatform, registry: Router
) -> None:
    await nina.say(ASK)
    await maria.say("!mentor claim 1")
    other = mentor(matrix, 2)
    refused = await other.say("!mentor release 1")
    assert refused.reply.error and "is maria's" in refused.text
    released = await maria.say("!mentor release 1")
    assert released.text == "Released #1 “dev setup”: it is back in the queue and announced again."
    post = (await deliveries(registry))[("mentor:1:posted:1", "matrix mentors")]
    assert post.startswith("#1 dev setup\n↩️ Back in the queue")
    assert not (await other.say("!mentor claim 1")).reply.error
    done = await other.say('!mentor done 1 "built with MSVC 2022"')
    assert done.text == "Closed #1 “dev setup”. Thank you!"
    twice = await other.say("!mentor done 1")
    assert twice.reply.error and "already done" in twice.text
    assert "already done" in (await nina.say("!mentor cancel 1")).text
    await nina.say('!mentor request "packaging"')
    stranger = await matrix.person("@sam:x", name="Sam").say("!mentor cancel 2")
    assert stranger.reply.error and "not yours" in stranger.text
    assert (await nina.say("!mentor cancel 2")).text == "Cancelled #2 “packaging”."
    await nina.say('!mentor request "docs"')
    assert (await omar.say("!mentor cancel 3")).text == "Cancelled #3 “docs”."
    planned = await deliveries(registry)
    assert planned[("mentor:1:posted:1:done", "matrix mentors")] == (
        "#1 dev setup\n☑️ Done with Mentor2 · from Nina (Matrix)"
    )
    assert planned[("mentor:2:posted:cancelled", "discord mentors")] == (
        "#2 packaging\n❌ Withdrawn · from Nina (Matrix)"
    )


async def test_queue_puts_first_timers_first_then_oldest(
    nina: FakeUser, maria: FakeUser, matrix: FakePlatform, clock: Clock
) -> None:
    ben = matrix.person("@ben:x", name="Ben")
    await ben.say('!mentor request "first"')
    await maria.say("!mentor claim 1")
    clock.now += timedelta(hours=3)
    await maria.say("!mentor done 1")
    await ben.say('!mentor request "second"')
    clock.now += timedelta(minutes=5)
    said = await nina.say('!mentor request "dev setup"')
    assert said.text.startswith(
        "Request #3 “dev setup” is in the queue (position 1).\n"
        "Mentors usually pick one up within 1 min."
    )
    zoe = matrix.person("@zoe:x", name="Zoe")
    clock.now += timedelta(minutes=5)
    assert "(position 2)" in (await zoe.say('!mentor request "ci"')).text
    listed = (await maria.say("!mentor list")).text.splitlines()
    assert listed[0] == "Open mentor requests"
    assert [line.split(" — ")[0] for line in listed[1:]] == [
        "#3 “dev setup”",
        "#4 “ci”",
        "#2 “second”",
    ]
    assert "Nina, first request" in listed[1] and "· Ben ·" in listed[3]
    own = (await nina.say("!mentor list all")).text.splitlines()
    assert own[0] == "All mentor requests" and len(own) == 2 and own[1].startswith("#3")


async def test_list_all_goes_by_status_then_first_timers_then_age(
    maria: FakeUser, matrix: FakePlatform, clock: Clock
) -> None:
    ben = matrix.person("@ben:x", name="Ben")
    await ben.say('!mentor request "b1"')
    await maria.say("!mentor claim 1")
    await maria.say("!mentor done 1")
    for n, who in enumerate(("ben", "nina", "zoe", "sam"), 2):
        clock.now += timedelta(minutes=1)
        await matrix.person(f"@{who}:x", name=who.title()).say(f'!mentor request "t{n}"')
    await maria.say("!mentor claim 4")
    await matrix.person("@sam:x").say("!mentor cancel 5")
    listed = (await maria.say("!mentor list all")).text.splitlines()
    assert listed[0] == "All mentor requests"
    assert [line.split(" — ")[0] for line in listed[1:]] == [
        "#3 “t3”",
        "#2 “t2”",
        "#4 “t4”",
        "#1 “b1”",
        "#5 “t5”",
    ]
    assert "claimed by maria · Zoe, first request" in listed[3]
    assert "done · Ben ·" in listed[4] and "cancelled · Sam, first request" in listed[5]


async def test_a_long_list_says_how_many_more(maria: FakeUser, matrix: FakePlatform) -> None:
    for n in range(1, 28):
        await matrix.person(f"@asker{n}:x", name=f"Asker{n}").say(f'!mentor request "t{n}"')
    listed = (await maria.say("!mentor list")).text.splitlines()
    assert len(listed) == 1 + 25 + 1
    assert listed[1].startswith("#1 ") and listed[25].startswith("#25 ")
    assert listed[-1] == "… and 2 more."
    assert (await maria.say("!mentor list all")).text.splitlines()[-1] == "… and 2 more."


async def test_capacity_and_availability(
    maria: FakeUser, matrix: FakePlatform, registry: Router
) -> None:
    for n in range(1, 5):
        await matrix.person(f"@asker{n}:x", name=f"Asker{n}").say(f'!mentor request "topic {n}"')
    off = await maria.say("!mentor available off")
    assert off.text == (
        "You are marked unavailable; claiming is refused until /mentor available state:on."
    )
    refused = await maria.say("!mentor claim 1")
    assert refused.reply.error and "unavailable" in refused.text
    assert "Say /mentor available state:on first." in refused.text
    await maria.say("!mentor available on")
    for n in (1, 2, 3):
        assert not (await maria.say(f"!mentor claim {n}")).reply.error
    before = await snapshot(registry)
    full = await maria.say("!mentor claim 4")
    assert full.reply.error and "You already hold 3 requests (the limit is 3)" in full.text
    assert await snapshot(registry) == before


async def test_only_mentors_claim_and_see_the_queue(
    nina: FakeUser, matrix: FakePlatform, registry: Router
) -> None:
    await matrix.person("@ben:x", name="Ben").say('!mentor request "other"')
    await nina.say(ASK)
    before = await snapshot(registry)
    said = await nina.say("!mentor claim 1")
    assert said.text == "Only mentors can use !mentor claim."
    assert (await nina.say("!mentor stats")).text == "Only mentors can use !mentor stats."
    assert await snapshot(registry) == before
    listed = (await nina.say("!mentor list open")).text.splitlines()
    assert listed[0] == "Open mentor requests" and len(listed) == 2 and "#2" in listed[1]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("!mentor claim 9", "There is no mentor request #9."),
        ("!mentor claim 3", "Request #3 is cancelled; there is nothing to claim."),
        ("!mentor claim 2", "Mentor2 already has #2."),
        ("!mentor done 3", "Request #3 is already cancelled"),
        ("!mentor done 1", "Request #1 is still open"),
        ("!mentor release 1", "Request #1 is still open"),
        ('!mentor request "' + "x" * 201 + '"', "topic is too long (201 characters; at most 200)"),
        ('!mentor request "t" ' + "y" * 2001, "details is too long (2,001 characters"),
        ('!mentor request "help @everyone"', "Please remove '@everyone' from the topic"),
        ('!mentor request "t" ping @Room now', "Please remove '@Room' from the details"),
        ('!mentor done 2 "thanks @here"', "Please remove '@here' from the note"),
        ("!mentor claim x", "id must be a whole number"),
        ("!mentor available maybe", "state must be one of: on, off"),
    ],
)
async def test_bad_input_changes_nothing(
    matrix: FakePlatform, registry: Router, line: str, expected: str
) -> None:
    for n in (1, 2, 3):
        await matrix.person(f"@asker{n}:x", name=f"Asker{n}").say(f'!mentor request "t{n}"')
    await mentor(matrix, 2).say("!mentor claim 2")
    await matrix.person("@asker3:x").say("!mentor cancel 3")
    caller = mentor(matrix, 2) if "done 2" in line else matrix.person("@m:x", Role.MENTOR, "M")
    if "request" in line:
        caller = matrix.person("@new:x", name="New")
    before = await snapshot(registry)
    said = await caller.say(line)
    assert said.reply.error, said.text
    assert expected in said.text
    assert await snapshot(registry) == before


async def test_twenty_mentors_one_winner_across_two_instances(
    nina: FakeUser, registry: Router, db_url: str, clock: Clock
) -> None:
    """Ten mentors reach one instance and ten another (its own engine and pool, as a second
    process would have); exactly one UPDATE matches."""
    await nina.say(ASK)
    engine = make_engine(db_url)
    try:
        other = build_bot(make_sessions(engine), SETTINGS, clock=clock)
        platforms = [FakePlatform(registry), FakePlatform(other)]
        mentors = [mentor(platforms[n % 2], n) for n in range(20)]
        said = await asyncio.gather(*(m.say("!mentor claim 1") for m in mentors))
    finally:
        await engine.dispose()
    winners = [m for m, s in zip(mentors, said, strict=True) if not s.reply.error]
    assert len(winners) == 1, [s.text for s in said]
    losers = [s.text for s in said if s.reply.error]
    assert losers == [f"{winners[0].name} already has #1."] * 19
    async with registry.runtime.sessions() as session:
        request = (await session.exec(select(MentorRequest))).one()
        keys = (await session.exec(select(Delivery.key))).all()
        holder = await session.get(Person, request.claimed_by)
    assert request.status == "claimed" and holder and holder.display_name == winners[0].name
    assert sorted(keys).count("mentor:1:claimed") == 1


async def test_stats(nina: FakeUser, maria: FakeUser, matrix: FakePlatform, clock: Clock) -> None:
    empty = (await maria.say("!mentor stats")).text
    assert "Median time to claim (30 d): no data yet" in empty
    await nina.say(ASK)
    ben = matrix.person("@ben:x", name="Ben")
    await ben.say('!mentor request "ci"')
    clock.now += timedelta(hours=2)
    await maria.say("!mentor claim 1")
    clock.now += timedelta(hours=4)
    await maria.say("!mentor done 1")
    await ben.say("!mentor cancel 2")
    await matrix.person("@zoe:x", name="Zoe").say('!mentor request "docs"')
    text = (await maria.say("!mentor stats")).text
    assert text.splitlines()[1:] == [
        "Open now: 1",
        "Median time to claim (30 d): 2 h",
        "Median time to done (30 d): 6 h",
        "Never claimed, of requests made in the last 30 d: 2 of 3 (66 %)",
        "Per mentor, claimed / done (30 d; 90 d), busiest first:",
        "- maria: 1 / 1; 1 / 1",
    ]
    clock.now += timedelta(days=40)
    later = (await maria.say("!mentor stats")).text
    assert "- maria: 0 / 0; 1 / 1" in later
    assert "Median time to claim (30 d): no data yet" in later


async def test_stats_show_the_busiest_mentors_within_one_message(
    matrix: FakePlatform, maria: FakeUser
) -> None:
    for n in range(1, 23):
        await matrix.person(f"@asker{n}:x", name=f"Asker{n}").say(f'!mentor request "topic {n}"')
        await mentor(matrix, n).say(f"!mentor claim {n}")
    await mentor(matrix, 1).say("!mentor done 1")
    lines = (await maria.say("!mentor stats")).text.splitlines()
    shown = [line for line in lines if line.startswith("- ")]
    assert len(shown) == 20 and shown[0] == "- Mentor1: 1 / 1; 1 / 1"
    assert lines[-1] == "… and 2 more mentors."


async def test_escalation_happens_once_each(
    nina: FakeUser, maria: FakeUser, registry: Router, clock: Clock
) -> None:
    await nina.say(ASK)
    first = build_escalator(registry)

    async def keys() -> list[str]:
        return sorted({key for key, _ in await deliveries(registry)})

    clock.now = T0 + timedelta(hours=23)
    assert await first.plan() == T0 + timedelta(hours=24)
    assert await keys() == ["mentor:1:posted"]
    clock.now = T0 + timedelta(hours=24)
    await first.plan()
    await first.plan()
    await build_escalator(registry).plan()
    assert await keys() == ["mentor:1:escalated", "mentor:1:posted"]
    reposted = (await deliveries(registry))[("mentor:1:escalated", "matrix mentors")]
    assert reposted.startswith("#1 dev setup\n⏳ Still waiting after 1 d: can someone take it?")
    clock.now = T0 + timedelta(hours=72)
    await first.plan()
    await build_escalator(registry).plan()
    planned = await deliveries(registry)
    assert len([k for k in planned if k[0] == "mentor:1:organizers"]) == 2
    assert planned[("mentor:1:organizers", "matrix mentors")].startswith(
        "📣 Organizers: request #1 “dev setup” from Nina has waited 3 d"
    )
    await maria.say("!mentor claim 1")
    clock.now += timedelta(days=14)
    await first.plan()
    await build_escalator(registry).plan()
    await first.plan()
    planned = await deliveries(registry)
    assert len(planned) == len(set(planned))
    assert planned[("mentor:1:nudge", "discord mentors")] == (
        "Request #1 “dev setup” has had no news for 14 d. Is it done? "
        "/mentor done id:1 closes it; /mentor release id:1 hands it back."
    )
    assert planned[("mentor:1:nudge", "matrix mentors")] == (
        "maria: Request #1 “dev setup” has had no news for 14 d. Is it done? "
        "!mentor done 1 closes it; !mentor release 1 hands it back."
    )
    async with registry.runtime.sessions() as session:
        nudges = (
            await session.exec(select(Delivery).where(Delivery.key == "mentor:1:nudge"))
        ).all()
        count = (await session.exec(select(func.count()).select_from(Delivery))).one()
    assert {r.platform: decode(r.body).mentions for r in nudges} == {
        "discord": ["11"],
        "matrix": [],
    }
    # posted, escalated, organizers and their "claimed" edits, nudge: each in 2 rooms; one DM.
    assert count == 2 * 7 + 1
