"""The newcomer funnel: its pure figures, and what it reads of the other cogs' records on
SQLite and PostgreSQL, and the page an organizer sees."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings, parse_settings
from bot.core import Role
from bot.core.durations import span
from bot.core.env import Env
from bot.core.pages import PageRequest, View, Viewer
from bot.identity import Person
from cogs.faq.models import FaqQuestion
from cogs.forge.models import ForgeAccount, PullRequest
from cogs.funnel import figures, reading
from cogs.funnel.models import FunnelSummary
from cogs.funnel.pages import FunnelPage, wait
from cogs.funnel.summary import CLAIM, NAME, REFRESH, WATCHED, Summary
from cogs.mentoring.api import rank_offset
from cogs.mentoring.models import MentorRequest
from cogs.sprints.models import SprintIssue
from cogs.welcome.models import Welcome
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform
from tests.support.house import build_house, build_web_app
from tests.support.let_in import LetIn

NOW = datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
DEC = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
ORGANIZER = Viewer(5, "P5", Role.ORGANIZER)


def test_nearest_rank_percentiles() -> None:
    assert [rank_offset(10, p) for p in (50, 90, 100)] == [4, 8, 9]
    assert [rank_offset(1, p) for p in (50, 90)] == [0, 0]
    minutes = [timedelta(minutes=m) for m in (5, 1, 4, 2, 3)]
    assert figures.percentile(minutes, 50) == timedelta(minutes=3)
    assert figures.percentile(minutes, 90) == timedelta(minutes=5)
    assert figures.percentile([], 50) is None


def test_months_and_cohorts() -> None:
    shown = figures.months(NOW, 3)
    assert shown == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    first = {1: NOV, 2: NOV, 3: DEC, 4: datetime(2025, 1, 1, tzinfo=UTC)}
    reached = {"asked": {1, 3, 4}, "mentored": {1}, "claimed": {2}}
    rows = figures.cohorts(first, reached, shown)
    stages = ("welcomed", "asked", "mentored", "claimed")
    assert [(c.month.month, *(c.stage(s) for s in stages)) for c in rows] == [
        (10, 0, 0, 0, 0),
        (11, 2, 1, 1, 1),
        (12, 1, 1, 0, 0),
    ]
    assert rows[1].share("asked") == 0.5 and rows[0].share("asked") is None


def test_bar_chart_scales_to_the_largest_value() -> None:
    chart = figures.bar_chart(
        [("Nov", [("a", 2.0, "2"), ("b", 1.0, "1")]), ("Dec", [("a", 0.0, "0"), ("b", 4.0, "4")])]
    )
    heights = [bar.height for bar in chart.bars]
    assert heights == [85.0, 42.5, 0.0, 170.0]
    assert all(bar.y + bar.height == figures.BASELINE for bar in chart.bars)
    assert [label for _, label in chart.ticks] == ["Nov", "Dec"]


def test_the_funnel_says_a_wait_as_the_chat_says_it() -> None:
    """`mentor stats` gives the same figures in chat: one helper, two units, whatever page."""
    for length in (timedelta(days=1, hours=2, minutes=3), timedelta(hours=3), timedelta(0)):
        assert wait(length) == span(length, units=2)
    assert wait(timedelta(days=1, hours=2, minutes=3)) == "1 d 2 h"
    assert wait(timedelta(hours=3)) == "3 h"
    assert wait(timedelta(seconds=20)) == "1 min"
    assert wait(None) == "—"


async def seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        for n in range(1, 6):
            session.add(Person(id=n, display_name=f"P{n}", created_at=NOV))
        await session.flush()
        for person, at in ((1, NOV), (2, NOV), (3, DEC), (4, DEC)):
            session.add(
                Welcome(
                    person_id=person,
                    platform="matrix",
                    room="hall",
                    key=f"w{person}",
                    welcomed_at=at,
                )
            )
        for person, verdict, at in (
            (1, "answer", NOV),
            (5, "none", NOV),
            (3, "answer", DEC),
            (3, "suggest", DEC),
        ):
            session.add(
                FaqQuestion(
                    text="q",
                    person_id=person,
                    platform="matrix",
                    verdict=verdict,
                    score=0.5,
                    created_at=at,
                )
            )
        for person, wait in ((2, timedelta(minutes=30)), (5, timedelta(hours=3)), (5, None)):
            claimed = None if wait is None else NOV + wait
            session.add(
                MentorRequest(
                    person_id=person,
                    topic="t",
                    status="claimed" if claimed else "open",
                    origin_platform="matrix",
                    origin_room="help",
                    created_at=NOV,
                    opened_at=NOV,
                    first_claimed_at=claimed,
                    claimed_at=claimed,
                    claimed_by=5 if claimed else None,
                    last_activity_at=NOV,
                )
            )
        session.add(
            SprintIssue(
                url="https://github.com/o/r/issues/1",
                listed_url="https://github.com/o/r/issues/1",
                project="o/r",
                number=1,
                tier="newcomers",
                added_by=5,
                added_at=DEC - timedelta(hours=2),
                claimed_by=4,
                claimed_at=DEC,
            )
        )
        await session.commit()


async def test_reading_the_other_cogs(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(sessions)
    funnel = await reading.read(sessions, NOW, forges=False)
    assert funnel.stages == ("welcomed", "asked", "mentored", "claimed")
    cohorts = {c.month.month: c for c in funnel.cohorts if c.welcomed}
    assert [cohorts[11].stage(s) for s in funnel.stages] == [2, 2, 1, 0]
    assert [cohorts[12].stage(s) for s in funnel.stages] == [2, 1, 0, 1]
    months = {m.month.month: m for m in funnel.months}
    nov, dec = months[11], months[12]
    assert (nov.mentor.asked, nov.mentor.answered) == (3, 2)
    assert (nov.mentor.median, nov.mentor.p90) == (timedelta(minutes=30), timedelta(hours=3))
    assert (nov.questions, nov.answered, dec.questions, dec.answered) == (2, 1, 2, 1)
    assert (dec.claims, dec.claim_median) == (1, timedelta(hours=2))
    assert months[10].mentor.median is None and months[10].answer_rate is None


async def test_the_page_draws_svg_charts_with_a_table_beside(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    house = build_house(sessions, parse_settings({}), clock=Clock(NOW))
    page = FunnelPage(Summary(house.runtime), house.runtime.env)
    view = await page(PageRequest({}, NOW, viewer=Viewer(5, "P5", Role.ORGANIZER)))
    assert isinstance(view, View) and view.template == "funnel/funnel.html"
    chart = view.context["stage_chart"]
    assert isinstance(chart, figures.Chart)
    assert len(chart.bars) == 4 * reading.MONTHS


async def test_an_organizer_reads_the_funnel_without_scripts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    house = build_house(sessions, parse_settings({}), clock=Clock(NOW))
    organizer = Viewer(5, "P5", Role.ORGANIZER)
    async with TestClient(TestServer(build_web_app(house, LetIn(organizer)))) as client:
        response = await client.get("/funnel")
        text = await response.text()
    assert response.status == 200
    assert '<title id="stages-title">Newcomers per stage, by month first welcomed</title>' in text
    assert '<desc id="waits-desc">' in text
    nov = text.split('<th scope="row">Nov 2026</th>')[2].split("</tr>")[0]
    assert "<td>3 (2)</td><td>30 min</td><td>3 h</td>" in nov
    assert "<td>2</td><td>50%</td>" in nov
    assert "<td>0 (0)</td><td>—</td><td>—</td>" in text, "a month without requests"
    assert "<script" not in text.split("<main>")[1].split("</main>")[0]
    assert "Pull requests opened and merged appear here once a forge is configured." in text
    assert (
        "says so in chat with <code>!sprint issue done &lt;number&gt;</code> "
        "(Discord: <code>/sprint issue done number:…</code>)."
    ) in text
    assert ">2026-12-15 12:00 UTC</time>; they are computed again every 10 min." in text


async def test_the_funnel_is_for_organizers(sessions: async_sessionmaker[AsyncSession]) -> None:
    house = build_house(sessions, parse_settings({}), clock=Clock(NOW))
    async with TestClient(TestServer(build_web_app(house))) as client:
        assert (await client.get("/funnel")).status == 401


FORGED = parse_settings(
    {
        "forge": {
            "forges": [{"kind": "github", "web_url": "https://github.com", "repositories": ["o/r"]}]
        }
    }
)


def summary_of(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, settings: Settings | None = None
) -> Summary:
    """The funnel's kept figures as an instance assembled with *settings* keeps them."""
    return Summary(build_house(sessions, settings or parse_settings({}), clock=clock).runtime)


async def seed_forge(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Person 1 (November) had a pull request merged, person 3 (December) has one open; person
    2's login is not proven, and person 1's login on another forge is someone else."""
    async with sessions() as session:
        for person, login, proven in ((1, "p-one", NOV), (3, "p3", DEC), (2, "p2", None)):
            session.add(
                ForgeAccount(
                    person_id=person,
                    forge="https://github.com",
                    login=login,
                    asked_at=NOV,
                    proven_at=proven,
                )
            )
        for n, (repo, author, state) in enumerate(
            (
                ("https://github.com/o/r", "P-One", "merged"),
                ("https://github.com/o/r", "p3", "open"),
                ("https://github.com/o/r", "p2", "merged"),
                ("https://gitlab.com/o/r", "p3", "merged"),
            ),
            start=1,
        ):
            session.add(
                PullRequest(
                    repo=repo,
                    number=n,
                    title="t",
                    url=f"{repo}/pull/{n}",
                    state=state,
                    author=author,
                    waiting_since=DEC,
                    updated_at=DEC,
                )
            )
        issue = (await session.exec(select(SprintIssue))).one()
        issue.completed_by, issue.completed_at = issue.claimed_by, DEC + timedelta(days=1)
        session.add(issue)
        await session.commit()


async def test_pull_requests_opened_and_merged_are_stages_once_a_forge_is_configured(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    await seed_forge(sessions)
    funnel = await reading.read(sessions, NOW, forges=True)
    plain = await reading.read(sessions, NOW, forges=False)
    assert funnel.stages == ("welcomed", "asked", "mentored", "claimed", "opened", "merged")
    cohorts = {c.month.month: c for c in funnel.cohorts if c.welcomed}
    assert [cohorts[11].stage(s) for s in funnel.stages] == [2, 2, 1, 0, 1, 1]
    assert [cohorts[12].stage(s) for s in funnel.stages] == [2, 1, 0, 1, 1, 0]
    assert "opened" not in plain.stages
    assert [m.completed for m in funnel.months if m.completed] == [1]
    assert {m.month.month: m.completed for m in funnel.months}[12] == 1

    house = build_house(sessions, FORGED, clock=Clock(NOW))
    async with TestClient(TestServer(build_web_app(house, LetIn(ORGANIZER)))) as client:
        text = await (await client.get("/funnel")).text()
    assert "<strong>merged</strong>: one of those was merged" in text
    assert "appear here once a forge is configured" not in text
    head = text.split("<caption>Newcomers per stage")[1].split("</thead>")[0]
    assert '<th scope="col">opened</th><th scope="col">merged</th>' in head
    dec = text.split('<th scope="row">Dec 2026</th>')[2].split("</tr>")[0]
    assert "<td>1</td><td>2 h</td><td>2 h</td><td>1</td>" in dec
    assert '<title id="done-title">Sprint issues completed</title>' in text


async def test_the_figures_are_kept_and_computed_again_by_the_timer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    clock = Clock(NOW)
    summary = summary_of(sessions, clock)
    assert await summary.kept() is None, "a new store has none"
    await summary.latest()  # a view: the timer keeps the figures up to date from now on
    assert await summary.step() == REFRESH.total_seconds()
    first = await summary.kept()
    assert first is not None and first.computed_at == NOW
    async with sessions() as session:
        session.add(Welcome(person_id=5, platform="matrix", room="hall", key="w5", welcomed_at=DEC))
        await session.commit()
    clock.now = NOW + timedelta(minutes=4)
    assert await summary.step() == (REFRESH - timedelta(minutes=4)).total_seconds()
    assert await summary.latest() == first, "kept: the page reads one row"
    clock.now = NOW + REFRESH
    await summary.step()
    later = await summary.latest()
    assert later.computed_at == NOW + REFRESH
    assert {c.month.month: c.welcomed for c in later.cohorts}[12] == 3

    forged = summary_of(sessions, clock, FORGED)
    assert await forged.kept() is None, "kept without the forge's stages"
    assert "merged" in (await forged.latest()).stages
    clock.now += 2 * REFRESH
    assert await forged.kept() is None, "too old: the timers stopped"


async def stored(sessions: async_sessionmaker[AsyncSession]) -> FunnelSummary | None:
    async with sessions() as session:
        return await session.get(FunnelSummary, NAME)


async def test_the_timer_computes_nothing_while_nobody_looks(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    clock = Clock(NOW)
    summary = summary_of(sessions, clock)
    page = FunnelPage(summary, Env())
    assert await summary.step() == REFRESH.total_seconds()
    assert (row := await stored(sessions)) and row.computed_at == NOW, "ready for a first view"
    clock.now = NOW + REFRESH
    await summary.step()
    assert (row := await stored(sessions)) and row.computed_at == NOW, "nobody has looked yet"

    await page(PageRequest({}, clock.now, viewer=ORGANIZER))
    clock.now = NOW + REFRESH + WATCHED - timedelta(minutes=1)
    await summary.step()
    refreshed = clock.now
    assert (row := await stored(sessions)) and row.computed_at == refreshed, "viewed a day ago"

    clock.now = refreshed + REFRESH
    assert await summary.step() == REFRESH.total_seconds()
    assert (row := await stored(sessions)) and row.computed_at == refreshed, "nobody looked"

    view = await page(PageRequest({}, clock.now, viewer=ORGANIZER))
    assert isinstance(view, View) and isinstance(shown := view.context["funnel"], reading.Funnel)
    assert shown.computed_at == refreshed, "shown as kept, and the view noted"
    await summary.step()
    assert (row := await stored(sessions)) and row.computed_at == clock.now, "looked again"


async def test_a_view_of_old_figures_computes_them_and_the_timer_keeps_them(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed(sessions)
    clock = Clock(NOW)
    summary = summary_of(sessions, clock)
    await summary.latest()
    clock.now = NOW + 2 * WATCHED
    await summary.step()
    assert (row := await stored(sessions)) and row.computed_at == NOW
    async with sessions() as session:
        session.add(Welcome(person_id=5, platform="matrix", room="hall", key="w5", welcomed_at=DEC))
        await session.commit()
    viewed = clock.now
    assert (await summary.latest()).computed_at == viewed, "too old to show: computed then"
    clock.now += REFRESH
    await summary.step()
    later = await summary.latest()
    assert later.computed_at == clock.now
    assert {c.month.month: c.welcomed for c in later.cohorts}[12] == 3


async def test_two_instances_do_not_compute_the_same_figures_at_once(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(sessions)
    clock = Clock(NOW)
    one, two = (summary_of(sessions, clock) for _ in range(2))
    await one.latest()
    computed: list[datetime] = []
    read = reading.read

    async def counted(*args: object, **kwargs: bool) -> reading.Funnel:
        funnel = await read(*args, **kwargs)  # type: ignore[arg-type]
        computed.append(funnel.computed_at)
        return funnel

    monkeypatch.setattr(reading, "read", counted)
    clock.now = NOW + REFRESH
    await asyncio.gather(one.step(), two.step())
    assert computed == [clock.now]
    assert (row := await stored(sessions)) and row.claimed_until is None

    # An instance that stopped while computing holds its claim until it lapses.
    clock.now += REFRESH
    async with sessions() as session:
        claim = update(FunnelSummary).values(claimed_until=clock.now + CLAIM)
        await session.exec(claim)
        await session.commit()
    await two.step()
    assert len(computed) == 1
    clock.now += CLAIM
    await two.step()
    assert computed[1:] == [clock.now]


async def test_the_loop_and_the_store_are_given_back_while_the_figures_are_computed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """On SQLite the store runs on the loop's thread: a read in one piece would let nothing
    else run, and answer no command, until it is done."""
    house = build_house(sessions, parse_settings({}), clock=Clock(NOW))
    summary = Summary(house.runtime)
    computing = asyncio.create_task(summary.refresh())
    turns = 0
    while not computing.done():
        turns += 1
        await asyncio.sleep(0)
    await computing
    assert turns >= reading.MONTHS, "the loop given back between each month's pieces at least"

    nina = FakePlatform(house.router).person("@nina:example.org", Role.CONTRIBUTOR, "Nina")
    computing = asyncio.create_task(summary.refresh())
    answered = 0
    while not computing.done():
        said = await nina.say("!event list")
        assert not said.reply.error, said.text
        answered += 1
        await asyncio.sleep(0)
    await computing
    assert answered >= reading.MONTHS, "a command between each month's pieces at least"
