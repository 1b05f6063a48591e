"""A person's data is theirs: `me export` gives it all as a JSON file, `me forget` (after a
confirmation) leaves nothing that leads to them but counts, organizers do the same for someone
who asks by other means, and the words of FAQ questions outlive no retention; through the real
registry, planners and dispatcher on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.assembly import assemble
from bot.config import parse_settings
from bot.core import Role
from bot.core.markup import to_plain
from bot.core.router import Router
from bot.delivery import Delivery, decode
from bot.identity import FORGOTTEN, Account, Person
from cogs.events.models import PersonZone, Rsvp
from cogs.faq.models import FaqQuestion, FaqVote
from cogs.mentoring.models import MentorRequest
from cogs.sprints.models import SprintIssue
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser, Said
from tests.support.house import (
    build_announcer,
    build_bot,
    build_dispatcher,
    build_escalator,
    build_personal_reminders,
    build_question_retention,
)
from tests.support.link_code import code_in
from tests.support.recording_platform import matrix_and_discord

SETTINGS = parse_settings(
    {
        "rooms": [
            {
                "name": "community",
                "matrix_room_id": "!c:x",
                "discord_channel_id": 9,
                "purposes": ["announcements"],
            },
            {
                "name": "mentors",
                "matrix_room_id": "!m:x",
                "discord_channel_id": 7,
                "purposes": ["mentors"],
            },
            {"name": "lobby", "matrix_room_id": "!lobby:x", "purposes": ["welcome", "help"]},
        ],
        "faq": {"question_retention_days": 30},
    }
)
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
QUESTION = "how do I run the tests on my laptop?"
TOPIC = "windows toolchain"
DETAILS = "the C extensions fail to build with MSVC"


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def registry(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Router:
    return build_bot(sessions, SETTINGS, clock=clock)


@pytest.fixture
def omar(registry: Router) -> FakeUser:
    return FakePlatform(registry).person("@omar:x", Role.ORGANIZER, "Omar")


@pytest.fixture
def nina(registry: Router) -> FakeUser:
    user = FakePlatform(registry).person("@ninaq:x", name="Nina Quist")
    user.room_id = "!lobby:x"
    return user


@pytest.fixture
def nina_d(registry: Router) -> FakeUser:
    user = FakePlatform(registry, name="discord", style="slash").person("42", name="ninaq_d")
    user.room_id = "9"
    return user


@pytest.fixture
def maria(registry: Router) -> FakeUser:
    return FakePlatform(registry, name="discord", style="slash").person("11", Role.MENTOR, "maria")


async def ok(user: FakeUser, line: str) -> Said:
    said = await user.say(line)
    assert not said.reply.error, (line, said.text)
    return said


async def send_everything(registry: Router, clock: Clock) -> None:
    """Plan and send whatever is due, as the app's timers and dispatcher would."""
    await build_announcer(registry).plan()
    await build_personal_reminders(registry).plan()
    await build_escalator(registry).plan()
    await build_dispatcher(registry.runtime.sessions, matrix_and_discord(), clock).run_due()


async def busy_life(
    registry: Router,
    clock: Clock,
    omar: FakeUser,
    nina: FakeUser,
    nina_d: FakeUser,
    maria: FakeUser,
) -> None:
    """Nina does a bit of everything, on two platforms she links, and it is all sent."""
    await ok(omar, '!event create "Sprint" start="2026-11-28 10:00" tz=Europe/Paris repeat=weekly')
    await ok(omar, '!faq add run-tests "How do I run the tests?" "Run pytest." testing')
    await ok(omar, "!sprint issue add https://github.com/owner/repo/issues/123 contributors")
    await nina.join(("welcome",))
    await ok(nina, "!tz set Europe/Paris")
    await ok(nina, "!event rsvp 1 going remind=15m")
    asked = await ok(nina, f"!faq ask {QUESTION}")
    assert asked.reply.buttons[0].command == "faq vote 1 up", asked.text
    await ok(nina, "!faq vote 1 up")
    await ok(nina, f'!mentor request "{TOPIC}" {DETAILS}')
    await ok(nina, "!sprint claim 1")
    await ok(nina_d, f"!link {code_in((await ok(nina, '!link')).text)}")
    await ok(maria, "!mentor claim 1")
    await ok(maria, '!mentor done 1 "Nina Quist needed MSVC 2022"')
    clock.now = datetime(2026, 11, 28, 8, 50, tzinfo=UTC)
    await send_everything(registry, clock)
    clock.now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    await ok(nina, "!event rsvp 1 maybe")


def exported(said: Said) -> dict[str, Any]:
    assert said.reply.private and said.reply.attachment is not None
    assert said.reply.attachment.mime == "application/json"
    data: dict[str, Any] = json.loads(said.reply.attachment.content)
    return data


async def every_text(sessions: async_sessionmaker[AsyncSession]) -> str:
    """Every value in every table, as one text to search."""
    found: list[str] = []
    async with sessions() as session:
        for table in SQLModel.metadata.sorted_tables:
            rows = (await session.exec(sa_select(table))).all()
            found += [f"{table.name}: {tuple(row)!r}" for row in rows]
    return "\n".join(found)


async def test_export_holds_everything_kept_about_the_person(
    registry: Router,
    clock: Clock,
    omar: FakeUser,
    nina: FakeUser,
    nina_d: FakeUser,
    maria: FakeUser,
) -> None:
    await busy_life(registry, clock, omar, nina, nina_d, maria)
    said = await ok(nina_d, "!me export")
    assert said.text.startswith("Here is everything Convene keeps about you: ")
    data = exported(said)
    assert said.reply.attachment is not None
    assert said.reply.attachment.filename == f"convene-data-{data['person']['id']}-20261129.json"
    assert data["person"]["name"] == "Nina Quist"
    accounts = data["people"]["accounts"]
    assert [(a["platform"], a["user_id"]) for a in accounts] == [
        ("discord", "42"),
        ("matrix", "@ninaq:x"),
    ]
    assert len(data["people"]["link_codes"]) == 1
    rsvps = data["events"]["rsvps"]
    assert [(r["title"], r["status"]) for r in rsvps] == [("Sprint", "going"), ("Sprint", "maybe")]
    assert rsvps[0]["occurrence"] == "2026-11-28T09:00:00+00:00"
    assert data["events"]["time_zone"] == [{"zone": "Europe/Paris"}]
    assert [q["text"] for q in data["faq"]["questions"]] == [QUESTION]
    assert [v["up"] for v in data["faq"]["votes"]] == [True]
    (request,) = data["mentoring"]["requests"]
    assert (request["topic"], request["details"], request["status"]) == (TOPIC, DETAILS, "done")
    assert [c["url"] for c in data["sprints"]["claims"]] == [
        "https://github.com/owner/repo/issues/123"
    ]
    assert [w["room"] for w in data["welcome"]["welcomes"]] == ["lobby"]
    assert "requests_taken" not in data["mentoring"] or not data["mentoring"]["requests_taken"]
    other = exported(await ok(nina, "!me export"))
    assert {k: v for k, v in other.items() if k != "exported_at"} == {
        k: v for k, v in data.items() if k != "exported_at"
    }, "one person, whichever account asks"
    mentor = exported(await ok(maria, "!me export"))
    assert [r["note"] for r in mentor["mentoring"]["requests_taken"]] == [
        "Nina Quist needed MSVC 2022"
    ]


async def test_every_kind_of_record_reads_in_words_its_cog_gave(
    registry: Router,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    omar: FakeUser,
    nina: FakeUser,
    nina_d: FakeUser,
    maria: FakeUser,
) -> None:
    await busy_life(registry, clock, omar, nina, nina_d, maria)
    words = {k.name: k.words for k in assemble(sessions, SETTINGS).contributions.personal.keepers}
    for person in (nina, maria):
        data = exported(await ok(person, "!me export"))
        for cog, records in data.items():
            if cog in words:
                assert set(records) <= set(words[cog]), (cog, set(records) - set(words[cog]))


async def test_forget_asks_first_then_leaves_only_counts(
    registry: Router,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    omar: FakeUser,
    nina: FakeUser,
    nina_d: FakeUser,
    maria: FakeUser,
) -> None:
    await busy_life(registry, clock, omar, nina, nina_d, maria)
    code = await nina.send("!link", "$nina-link", resends=True)
    assert code is not None and code_in(code.text)
    before = await every_text(sessions)
    assert "Nina Quist" in before and "ninaq" in before and TOPIC in before
    assert code_in(code.text) in before, "the answer is kept with its event"
    asked = await ok(nina, "!me forget")
    assert asked.reply.private and asked.reply.title == "Forget? Nothing is removed yet"
    for line in (
        "- Discord: @ninaq_d",
        "- Matrix: @ninaq:x",
        "- 2 RSVPs",
        "- 1 FAQ question (its words go; that it was asked stays)",
        "- 1 mentor request (its words go; its times stay for the figures)",
        "To go ahead: !me forget confirm",
    ):
        assert line in asked.text.splitlines(), (line, asked.text)
    assert asked.reply.buttons[0].command == "me forget confirm"
    assert await every_text(sessions) == before, "asking changes nothing"
    wrong = await nina.say("!me forget yes")
    assert wrong.reply.error and "confirm must be one of: confirm" in wrong.text
    assert await every_text(sessions) == before

    done = await ok(nina, "!me forget confirm")
    assert done.text.startswith("Done: your accounts, names and words are removed here")
    await send_everything(registry, clock)
    after = await every_text(sessions)
    for trace in ("Nina", "ninaq", "@ninaq:x", "'42'", QUESTION, TOPIC, DETAILS, "MSVC"):
        assert trace not in after, trace
    assert code_in(code.text) not in after, "no kept answer outlives the forgetting"
    async with sessions() as session:
        person = await session.get(Person, 2)
        assert person is not None and person.display_name == FORGOTTEN
        emptied = (await session.exec(select(Account).where(Account.person_id == 2))).all()
        assert {(a.platform_user_id, a.display_name, a.dm_room_id) for a in emptied} == {
            (f"forgotten:{a.id}", FORGOTTEN, None) for a in emptied
        }, "the rows stay, so no newcomer gets their ids"
        assert (await session.exec(select(func.count()).select_from(FaqQuestion))).one() == 1
        assert (await session.exec(select(func.count()).select_from(FaqVote))).one() == 1
        request = (await session.exec(select(MentorRequest))).one()
        assert (request.created_at, request.first_claimed_at) == (T0, T0)
        assert (request.topic, request.details, request.done_note) == ("", None, None)
        rsvps = (await session.exec(select(Rsvp))).all()
        assert [(r.occurrence, r.remind_minutes) for r in rsvps] == [
            (datetime(2026, 11, 28, 9, 0, tzinfo=UTC), None)
        ], "the past attendance stays as a count, the future answer goes"
        assert not (await session.exec(select(PersonZone))).all()
        issue = (await session.exec(select(SprintIssue))).one()
        assert issue.claimed_by is None
    stats = await ok(maria, "!mentor stats")
    assert "maria" in stats.text
    again = await ok(nina, "!whoami")
    assert "- Matrix: @ninaq:x" in again.text and "Discord" not in again.text.split("Link")[0]
    assert exported(await ok(nina, "!me export"))["people"]["link_codes"] == []


async def test_organizers_export_and_forget_someone_who_asks(
    registry: Router,
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    omar: FakeUser,
    nina: FakeUser,
    nina_d: FakeUser,
    maria: FakeUser,
) -> None:
    await busy_life(registry, clock, omar, nina, nina_d, maria)
    refused = await nina.say("!person export @omar:x")
    assert refused.reply.error and "Only organizers can use" in refused.text
    said = await ok(omar, "!person export @ninaq:x")
    assert said.text.startswith("Here is everything Convene keeps about '@ninaq:x': ")
    assert exported(said)["person"]["name"] == "Nina Quist"
    by_mention = exported(await ok(omar, "!person export <@42>"))
    assert by_mention["person"]["id"] == exported(said)["person"]["id"]
    unknown = await omar.say("!person export @nobody:x")
    assert unknown.reply.error and "Nobody here goes by '@nobody:x'" in unknown.text
    self_forget = await omar.say("!person forget @omar:x")
    assert self_forget.reply.error and "That is you: use !me forget." in self_forget.text
    before = await every_text(sessions)
    asked = await ok(omar, "!person forget @ninaq_d")
    assert "To go ahead: !person forget @ninaq_d confirm" in asked.text
    assert asked.reply.buttons[0].command == "person forget @ninaq_d confirm"
    assert await every_text(sessions) == before
    done = await ok(omar, "!person forget @ninaq_d confirm")
    assert done.text == "Done: '@ninaq_d' is forgotten here; only counts stay."
    after = await every_text(sessions)
    assert "ninaq" not in after and "Nina" not in after
    gone = await omar.say("!person export @ninaq:x")
    assert gone.reply.error and "Nobody here goes by" in gone.text


async def test_no_question_keeps_its_words_past_the_retention(
    registry: Router, sessions: async_sessionmaker[AsyncSession], clock: Clock, nina: FakeUser
) -> None:
    keep = timedelta(days=30)
    for days in (0, 3, 3, 11, 40):
        clock.now = T0 + timedelta(days=days, hours=days)
        await ok(nina, f"!faq ask question number {days} about the build")
    retention = build_question_retention(registry)
    clock.now = T0 + timedelta(days=12)
    while clock.now < T0 + timedelta(days=60):
        delay = await retention.step()
        async with sessions() as session:
            rows = (await session.exec(select(FaqQuestion).order_by(col(FaqQuestion.id)))).all()
        for row in rows:
            if row.created_at + keep <= clock.now:
                assert row.text == "", (row.created_at, clock.now)
            elif row.text:
                assert row.created_at + keep >= clock.now + timedelta(seconds=delay), (
                    "the timer would sleep past this question's end"
                )
        clock.now += timedelta(seconds=delay)
    async with sessions() as session:
        texts = (await session.exec(select(FaqQuestion.text).order_by(col(FaqQuestion.id)))).all()
    assert texts == ["", "", "", "", "question number 40 about the build"]


async def test_a_welcome_of_several_waiting_to_be_sent_loses_only_their_name(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    settings = parse_settings(
        {
            "rooms": [{"name": "lobby", "matrix_room_id": "!lobby:x", "purposes": ["welcome"]}],
            "welcome": {"per_minute": 1},
        }
    )
    registry = build_bot(sessions, settings, clock=clock)
    matrix = FakePlatform(registry)
    people = [matrix.person(f"@{n.lower()}:x", name=n) for n in ("Ann", "Nina Quist", "Bob")]
    for person in people:
        person.room_id = "!lobby:x"
        await person.join(("welcome",))

    async def waiting() -> list[str]:
        """The first line of the group welcome waiting to be sent, if any."""
        async with sessions() as session:
            query = select(Delivery).where(
                Delivery.status == "pending", col(Delivery.key).startswith("welcome:group:")
            )
            rows = (await session.exec(query)).all()
        return [to_plain(decode(row.body).text).splitlines()[0] for row in rows]

    assert await waiting() == ["Welcome, Nina Quist and Bob! 👋"]
    await ok(people[1], "!me forget confirm")
    assert await waiting() == ["Welcome, Bob! 👋"]
    await ok(people[2], "!me forget confirm")
    assert await waiting() == []
    assert "Nina" not in await every_text(sessions)
