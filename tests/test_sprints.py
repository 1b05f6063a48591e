"""Curated sprint issues through the real registry and store, on SQLite and PostgreSQL: links,
tiers, the wait for a newcomers sprint, two issues per person, and claims that race."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import parse_settings
from bot.core import Role
from bot.core.router import Router
from bot.db import make_engine, make_sessions
from cogs.sprints.api import completions_since
from cogs.sprints.models import SprintIssue
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser
from tests.support.house import build_bot

SETTINGS = parse_settings({})
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SPRINT = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
NEWCOMER_SPRINT = (
    '!event create "Newcomer sprint" start="2026-11-28 10:00" tz=Europe/Paris kind=sprint '
    "tier=newcomers"
)


def gh(n: int, repo: str = "python/cpython") -> str:
    return f"https://github.com/{repo}/issues/{n}"


def shown(n: int, repo: str = "python/cpython") -> str:
    """An issue as the plain rendering shows its linked `owner/repo#n`."""
    return f"{repo}#{n} ({gh(n, repo)})"


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
def omar(matrix: FakePlatform) -> FakeUser:
    return matrix.person("@omar:x", Role.ORGANIZER, "Omar")


@pytest.fixture
def nina(matrix: FakePlatform) -> FakeUser:
    return matrix.person("@nina:x", name="Nina")


@pytest.fixture
def ben(matrix: FakePlatform) -> FakeUser:
    return matrix.person("@ben:x", name="Ben")


async def ok(user: FakeUser, line: str) -> str:
    said = await user.say(line)
    assert not said.reply.error, said.text
    return said.text


async def refused(user: FakeUser, line: str) -> str:
    said = await user.say(line)
    assert said.reply.error, said.text
    return said.text


async def snapshot(registry: Router) -> list[tuple[object, ...]]:
    async with registry.runtime.sessions() as session:
        rows = (await session.exec(select(SprintIssue).order_by(col(SprintIssue.id)))).all()
    return [
        (r.url, r.listed_url, r.tier, r.event_id, r.claimed_by, r.claimed_at, r.removed_at)
        for r in rows
    ]


async def test_list_claim_and_give_back(omar: FakeUser, nina: FakeUser, ben: FakeUser) -> None:
    assert await ok(nina, "!sprint issues") == "No sprint issues are listed."
    assert await ok(omar, "!sprint issues") == (
        "No sprint issues are listed. Add one with !sprint issue add <url>."
    )
    assert await ok(omar, f"!sprint issue add {gh(12)}") == f"Listed #1 {shown(12)} for everyone."
    assert (await ok(nina, "!sprint issues")).splitlines() == [
        "Sprint issues",
        f"#1 {shown(12)} · everyone · free",
        "Take a free one with !sprint claim 1.",
    ]
    assert await ok(nina, "!sprint claim 1") == (
        f"You have #1 {shown(12)}. Say on the issue that you are working on it; "
        "if you stop, give it back with !sprint unclaim 1."
    )
    assert (await ok(ben, "!sprint issues")).splitlines() == [
        "Sprint issues",
        f"#1 {shown(12)} · everyone · held by Nina",
    ]
    assert await refused(ben, "!sprint claim 1") == "#1 is held by Nina."
    assert await refused(nina, "!sprint claim 1") == "You already hold #1."
    assert await ok(nina, "!sprint unclaim 1") == f"You gave back #1 {shown(12)}; it is free again."
    assert f"#1 {shown(12)} · everyone · free" in await ok(ben, "!sprint issues")
    assert await ok(ben, "!sprint claim 1") == (
        f"You have #1 {shown(12)}. Say on the issue that you are working on it; "
        "if you stop, give it back with !sprint unclaim 1."
    )


@pytest.mark.parametrize(
    ("given", "label"),
    [
        (gh(7), shown(7)),
        ("HTTPS://GitHub.com/Python/CPython/issues/7/", shown(7, "Python/CPython")),
        ("http://www.github.com/python/cpython/issues/7?q=1#issuecomment-5", shown(7)),
        ("github.com/python/cpython/issues/007", shown(7)),
        (
            "https://gitlab.com/gnome/sub.group/my-app/-/issues/45#note_1",
            "gnome/sub.group/my-app#45 (https://gitlab.com/gnome/sub.group/my-app/-/issues/45)",
        ),
        (
            "https://GITLAB.com/inkscape/inkscape/-/issues/3/",
            "inkscape/inkscape#3 (https://gitlab.com/inkscape/inkscape/-/issues/3)",
        ),
    ],
)
async def test_links_are_normalised(omar: FakeUser, given: str, label: str) -> None:
    assert await ok(omar, f"!sprint issue add {given}") == f"Listed #1 {label} for everyone."


async def test_duplicates_are_refused_until_removed(omar: FakeUser, registry: Router) -> None:
    await ok(omar, f"!sprint issue add {gh(7)}")
    before = await snapshot(registry)
    for again in (
        gh(7),
        "https://GitHub.com/PYTHON/cpython/issues/7/",
        "https://github.com/python/cpython/issues/7?utm=x",
        "http://www.github.com/python/cpython/issues/7#top",
    ):
        assert await refused(omar, f"!sprint issue add {again}") == (
            "That issue is already listed as #1."
        )
    assert await snapshot(registry) == before
    await ok(omar, f"!sprint issue add {gh(7, 'python/peps')}")
    await ok(omar, "!sprint issue remove 1")
    assert await ok(omar, f"!sprint issue add {gh(7)} core") == f"Listed #3 {shown(7)} for core."


@pytest.mark.parametrize(
    "bad",
    [
        "https://github.com/python/cpython/pull/7",
        "https://github.com/python/issues/7",
        "https://github.com/python/cpython/issues/",
        "https://github.com/python/cpython/issues/abc",
        "https://github.com/python/cpython/issues/0",
        "https://gitlab.com/inkscape/inkscape/issues/3",
        "https://gitlab.com/inkscape/-/issues/3",
        "https://gitlab.example.org/inkscape/inkscape/-/issues/3",
        "https://bitbucket.org/owner/repo/issues/1",
        "https://github.com:8443/python/cpython/issues/7",
        "https://me@github.com/python/cpython/issues/7",
        "https://github.com:x/python/cpython/issues/7",
        "ftp://github.com/python/cpython/issues/7",
        "javascript:alert(1)",
        "cpython#7",
    ],
)
async def test_only_github_and_gitlab_issue_links(
    omar: FakeUser, registry: Router, bad: str
) -> None:
    text = await refused(omar, f"!sprint issue add {bad}")
    assert text.splitlines() == [
        "That is not a GitHub or GitLab issue link. Give one like "
        "https://github.com/owner/repo/issues/123 or https://gitlab.com/group/project/-/issues/45.",
        "Usage: !sprint issue add <url> [everyone|newcomers|contributors|core] [event]",
        "Example: !sprint issue add https://github.com/owner/repo/issues/123 newcomers 3",
    ]
    assert await snapshot(registry) == []


async def test_newcomers_issue_waits_for_its_sprint(
    omar: FakeUser, nina: FakeUser, registry: Router, clock: Clock
) -> None:
    await ok(omar, NEWCOMER_SPRINT)
    assert (await ok(omar, f"!sprint issue add {gh(1)} newcomers 1")).splitlines() == [
        f"Listed #1 {shown(1)} for newcomers.",
        "Sprint: event #1 Newcomer sprint, Sat 28 Nov 2026 10:00 CET (09:00 UTC).",
        "Newcomers can claim it once that sprint starts.",
    ]
    await ok(omar, f"!sprint issue add {gh(2)} contributors 1")
    await ok(omar, f"!sprint issue add {gh(3)} newcomers")
    sprint = "event #1 Newcomer sprint, Sat 28 Nov 2026 10:00 CET (09:00 UTC)"
    assert (await ok(nina, "!sprint issues")).splitlines()[1:4] == [
        f"#1 {shown(1)} · newcomers · {sprint} · free from the sprint's start",
        f"#2 {shown(2)} · contributors · {sprint} · free",
        f"#3 {shown(3)} · newcomers · free",
    ]
    before = await snapshot(registry)
    assert await refused(nina, "!sprint claim 1") == (
        f"#1 {shown(1)} is kept for newcomers until event #1 Newcomer sprint starts: "
        "Sat 28 Nov 2026 10:00 CET (09:00 UTC)."
    )
    await ok(nina, "!tz set America/New_York")
    assert (await refused(nina, "!sprint claim 1")).endswith(
        "starts: Sat 28 Nov 2026 10:00 CET (09:00 UTC), Sat 04:00 your time."
    )
    discord = FakePlatform(nina.platform.registry, name="discord", style="slash")
    assert (await refused(discord.person("21", name="dana"), "!sprint claim 1")).endswith(
        "starts: <t:1795856400:F> (<t:1795856400:R>)."
    )
    assert await snapshot(registry) == before
    await ok(nina, "!sprint claim 2")
    await ok(nina, "!sprint unclaim 2")
    await ok(nina, "!sprint claim 3")
    clock.now = SPRINT - timedelta(seconds=1)
    await refused(nina, "!sprint claim 1")
    clock.now = SPRINT
    assert (await ok(nina, "!sprint claim 1")).startswith(f"You have #1 {shown(1)}.")
    clock.now = SPRINT + timedelta(days=30)
    await ok(nina, "!sprint unclaim 1")
    await ok(discord.person("21", name="dana"), "!sprint claim 1")


async def test_a_series_sprint_is_the_first_occurrence_after_listing(
    omar: FakeUser, nina: FakeUser, clock: Clock
) -> None:
    await ok(
        omar,
        '!event create "Weekly sprint" start="2026-11-23 18:00" tz=UTC repeat=weekly kind=sprint',
    )
    clock.now = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)
    text = await ok(omar, f"!sprint issue add {gh(1)} newcomers 1")
    assert "Sprint: event #1 Weekly sprint, Mon 30 Nov 2026 18:00 UTC (18:00 UTC)." in text
    clock.now = datetime(2026, 11, 30, 17, 59, tzinfo=UTC)
    assert (await refused(nina, "!sprint claim 1")).endswith(
        "starts: Mon 30 Nov 2026 18:00 UTC (18:00 UTC)."
    )
    await ok(omar, "!event skip 1 2026-11-30")
    assert "Mon 7 Dec 2026" in await refused(nina, "!sprint claim 1")
    clock.now = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    await ok(nina, "!sprint claim 1")


async def test_the_event_must_be_known_and_ahead(
    omar: FakeUser, nina: FakeUser, registry: Router, clock: Clock
) -> None:
    await ok(omar, NEWCOMER_SPRINT)
    await ok(omar, '!event create "Gone" start="2026-11-25 10:00" tz=UTC kind=sprint')
    await ok(omar, "!event cancel 2")
    for line, message in (
        (f"{gh(1)} newcomers 9", "There is no event #9. See the upcoming ones with !event list."),
        (f"{gh(1)} newcomers 2", "Event #2 is cancelled; choose one that will take place."),
        (f"{gh(1)} newcomers event=0", "event must be at least 1."),
    ):
        text = await refused(omar, f"!sprint issue add {line}")
        assert text.splitlines()[0] == message
        assert "Example: !sprint issue add" in text
    clock.now = SPRINT + timedelta(minutes=30)
    text = await ok(omar, f"!sprint issue add {gh(1)} newcomers 1")
    assert "Sprint: event #1 Newcomer sprint, Sat 28 Nov 2026 10:00 CET" in text
    assert "once that sprint starts" not in text
    await ok(nina, "!sprint claim 1")
    clock.now = SPRINT + timedelta(minutes=60)
    assert (await refused(omar, f"!sprint issue add {gh(2)} newcomers 1")).startswith(
        "Event #1 has no occurrence ahead; choose an upcoming one."
    )
    assert len(await snapshot(registry)) == 1


async def test_a_deleted_or_cancelled_event_no_longer_holds_issues_back(
    omar: FakeUser, nina: FakeUser
) -> None:
    await ok(omar, NEWCOMER_SPRINT)
    await ok(omar, '!event create "Later" start="2026-12-05 10:00" tz=UTC kind=sprint')
    await ok(omar, f"!sprint issue add {gh(1)} newcomers 1")
    await ok(omar, f"!sprint issue add {gh(2)} newcomers 2")
    await ok(omar, f"!sprint issue add {gh(3)} newcomers 2")
    assert (await ok(omar, "!event delete 1")).splitlines() == [
        "Deleted #1 Newcomer sprint.",
        "Sprint issue #1 was kept for newcomers until this sprint; anyone can claim it now. "
        "To take one off the list: !sprint issue remove 1.",
    ]
    assert (await ok(omar, "!event cancel 2")).splitlines()[1] == (
        "Sprint issue #2, #3 were kept for newcomers until this sprint; anyone can claim them "
        "now. To take one off the list: !sprint issue remove 2."
    )
    listing = await ok(nina, "!sprint issues")
    assert f"#1 {shown(1)} · newcomers · free" in listing
    assert f"#2 {shown(2)} · newcomers · event #2 Later (cancelled) · free" in listing
    await ok(nina, "!sprint claim 1")
    await ok(nina, "!sprint claim 2")


async def test_nobody_holds_more_than_two(
    omar: FakeUser, nina: FakeUser, ben: FakeUser, registry: Router
) -> None:
    for n in range(1, 5):
        await ok(omar, f"!sprint issue add {gh(n)}")
    await ok(nina, "!sprint claim 1")
    await ok(nina, "!sprint claim 3")
    before = await snapshot(registry)
    assert await refused(nina, "!sprint claim 2") == (
        f"You already hold 2 sprint issues (#1 {shown(1)}, #3 {shown(3)}); that is the most "
        "at once. Give one back first, e.g. !sprint unclaim 1."
    )
    assert await snapshot(registry) == before
    await ok(ben, "!sprint claim 2")
    await ok(nina, "!sprint unclaim 1")
    await ok(nina, "!sprint claim 4")
    await ok(omar, "!sprint issue remove 3")
    await ok(nina, "!sprint claim 1")
    discord = FakePlatform(nina.platform.registry, name="discord", style="slash")
    dana = discord.person("21", name="dana")
    await ok(omar, "!sprint issue add https://github.com/a/b/issues/1")
    await ok(omar, "!sprint issue add https://github.com/a/b/issues/2")
    await ok(omar, "!sprint issue add https://github.com/a/b/issues/3")
    await ok(dana, "!sprint claim 5")
    await ok(dana, "!sprint claim 6")
    assert (await refused(dana, "!sprint claim 7")).endswith(
        "Give one back first, e.g. /sprint unclaim number:5."
    )


async def test_giving_back(omar: FakeUser, nina: FakeUser, ben: FakeUser) -> None:
    await ok(omar, f"!sprint issue add {gh(1)}")
    assert await refused(nina, "!sprint unclaim 1") == (
        "Nobody holds #1; there is nothing to give back."
    )
    await ok(nina, "!sprint claim 1")
    assert await refused(ben, "!sprint unclaim 1") == (
        "#1 is held by Nina, not you; only they or an organizer can give it back."
    )
    assert await ok(omar, "!sprint unclaim 1") == (
        f"Gave back #1 {shown(1)} for Nina; it is free again."
    )
    await ok(ben, "!sprint claim 1")


async def test_removing_is_soft(
    omar: FakeUser, nina: FakeUser, ben: FakeUser, registry: Router
) -> None:
    await ok(omar, f"!sprint issue add {gh(1)}")
    await ok(omar, f"!sprint issue add {gh(2)}")
    await ok(nina, "!sprint claim 1")
    assert await ok(omar, "!sprint issue remove 1") == (
        f"Removed #1 {shown(1)} from the list. Nina held it."
    )
    assert await ok(omar, "!sprint issue remove 2") == f"Removed #2 {shown(2)} from the list."
    assert await ok(nina, "!sprint issues") == "No sprint issues are listed."
    before = await snapshot(registry)
    for user, line in (
        (ben, "!sprint claim 1"),
        (nina, "!sprint unclaim 1"),
        (omar, "!sprint issue remove 1"),
    ):
        assert (await refused(user, line)).splitlines()[0] == (
            "Sprint issue #1 was removed from the list."
        )
    assert await snapshot(registry) == before
    async with registry.runtime.sessions() as session:
        kept = await session.get(SprintIssue, 1)
    assert kept is not None and kept.removed_at == T0 and kept.listed_url is None
    assert kept.claimed_by is not None


async def test_only_organizers_curate(nina: FakeUser, registry: Router) -> None:
    assert await refused(nina, f"!sprint issue add {gh(1)}") == (
        "Only organizers can use !sprint issue add."
    )
    assert await refused(nina, "!sprint issue remove 1") == (
        "Only organizers can use !sprint issue remove."
    )
    assert await snapshot(registry) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("!sprint claim 9", "There is no sprint issue #9.\nUsage: !sprint claim <number>"),
        ("!sprint unclaim 9", "There is no sprint issue #9.\nUsage: !sprint unclaim <number>"),
        ("!sprint issue remove 9", "There is no sprint issue #9.\nUsage: !sprint issue remove"),
        ("!sprint claim", "Missing number.\nUsage: !sprint claim <number>"),
        ("!sprint claim one", "number must be a whole number, e.g. 7 (got 'one')."),
        ("!sprint claim 0", "number must be at least 1."),
        ("!sprint issues beginners", "tier must be one of: everyone, newcomers, contributors"),
        (
            f"!sprint issue add {gh(5)} experts",
            "tier must be one of: everyone, newcomers, contributors, core.",
        ),
        ("!sprint issue add", "Missing url.\nUsage: !sprint issue add <url>"),
        (
            "!sprint issue add @everyone",
            "Please remove '@everyone': sprint issues never ping a whole room. Give the issue's",
        ),
        (
            f"!sprint issue add {gh(5)}@here",
            "Please remove '@here': sprint issues never ping a whole room.",
        ),
        (f"!sprint issue add {gh(5)} newcomers 1 extra", "Too many arguments: 'extra'."),
        ("!sprint issue", "!sprint issue needs a subcommand: !sprint issue add, !sprint issue"),
    ],
)
async def test_bad_input_changes_nothing(
    omar: FakeUser, registry: Router, line: str, expected: str
) -> None:
    await ok(omar, f"!sprint issue add {gh(1)}")
    before = await snapshot(registry)
    assert expected in await refused(omar, line)
    assert await snapshot(registry) == before


async def test_the_list_filters_by_tier_and_shows_free_ones_first(
    omar: FakeUser, nina: FakeUser, ben: FakeUser
) -> None:
    for n, tier in ((1, "newcomers"), (2, "core"), (3, "newcomers"), (4, "everyone")):
        await ok(omar, f"!sprint issue add {gh(n)} {tier}")
    await ok(nina, "!sprint claim 1")
    assert (await ok(ben, "!sprint issues")).splitlines() == [
        "Sprint issues",
        f"#2 {shown(2)} · core · free",
        f"#3 {shown(3)} · newcomers · free",
        f"#4 {shown(4)} · everyone · free",
        f"#1 {shown(1)} · newcomers · held by Nina",
        "Take a free one with !sprint claim 2.",
    ]
    assert (await ok(ben, "!sprint issues newcomers")).splitlines() == [
        "Sprint issues for newcomers",
        f"#3 {shown(3)} · newcomers · free",
        f"#1 {shown(1)} · newcomers · held by Nina",
        "Take a free one with !sprint claim 3.",
    ]
    assert await ok(ben, "!sprint issues contributors") == (
        "No sprint issues for contributors are listed."
    )


async def test_a_long_list_says_how_many_more(omar: FakeUser, nina: FakeUser) -> None:
    for n in range(1, 28):
        await ok(omar, f"!sprint issue add {gh(n)}")
    lines = (await ok(nina, "!sprint issues")).splitlines()
    assert lines[1].startswith("#1 ") and lines[25].startswith("#25 ")
    assert lines[26] == "… and 2 more."


async def test_names_and_links_are_escaped(matrix: FakePlatform, omar: FakeUser) -> None:
    await ok(omar, "!sprint issue add https://github.com/my-org/some_repo/issues/1")
    odd = matrix.person("@odd:x", name="*odd* [x](https://evil.example)")
    await ok(odd, "!sprint claim 1")
    said = await omar.say("!sprint issues")
    assert "[my\\-org/some\\_repo\\#1](https://github.com/my-org/some_repo/issues/1)" in (
        said.reply.body()
    )
    assert "held by \\*odd\\* \\[x\\]\\(https://evil.example\\)" in said.reply.body()


async def test_slash_style_on_discord(registry: Router, omar: FakeUser) -> None:
    await ok(omar, NEWCOMER_SPRINT)
    await ok(omar, f"!sprint issue add {gh(1)} newcomers 1")
    await ok(omar, f"!sprint issue add {gh(2)} contributors 1")
    dana = FakePlatform(registry, name="discord", style="slash").person("21", name="dana")
    assert (await ok(dana, "!sprint issues")).splitlines()[1:] == [
        f"#1 {shown(1)} · newcomers · event #1 Newcomer sprint, <t:1795856400:F> "
        "(<t:1795856400:R>) · free from the sprint's start",
        f"#2 {shown(2)} · contributors · event #1 Newcomer sprint, <t:1795856400:F> "
        "(<t:1795856400:R>) · free",
        "Take a free one with /sprint claim number:2.",
    ]


async def test_twenty_claims_one_winner_across_two_instances(
    omar: FakeUser, registry: Router, db_url: str, clock: Clock
) -> None:
    """Ten people reach one instance and ten another (its own engine and pool, as a second
    process would have); exactly one UPDATE matches."""
    await ok(omar, f"!sprint issue add {gh(1)}")
    engine = make_engine(db_url)
    try:
        other = build_bot(make_sessions(engine), SETTINGS, clock=clock)
        platforms = [FakePlatform(registry), FakePlatform(other)]
        people = [platforms[n % 2].person(f"@p{n}:x", name=f"P{n}") for n in range(20)]
        said = await asyncio.gather(*(p.say("!sprint claim 1") for p in people))
    finally:
        await engine.dispose()
    winners = [p for p, s in zip(people, said, strict=True) if not s.reply.error]
    assert len(winners) == 1, [s.text for s in said]
    assert [s.text for s in said if s.reply.error] == [f"#1 is held by {winners[0].name}."] * 19
    listing = await ok(omar, "!sprint issues")
    assert f"held by {winners[0].name}" in listing


async def test_one_person_racing_for_five_issues_gets_two(
    omar: FakeUser, registry: Router, db_url: str, clock: Clock
) -> None:
    for n in range(1, 6):
        await ok(omar, f"!sprint issue add {gh(n)}")
    engine = make_engine(db_url)
    try:
        other = build_bot(make_sessions(engine), SETTINGS, clock=clock)
        nina = [FakePlatform(r).person("@nina:x", name="Nina") for r in (registry, other)]
        await ok(nina[0], "!sprint issues")
        said = await asyncio.gather(*(nina[n % 2].say(f"!sprint claim {n}") for n in range(1, 6)))
    finally:
        await engine.dispose()
    assert sum(not s.reply.error for s in said) == 2, [s.text for s in said]
    assert all("You already hold 2 sprint issues" in s.text for s in said if s.reply.error)
    assert sum(row[4] is not None for row in await snapshot(registry)) == 2


async def test_racing_to_list_one_issue_lists_it_once(
    registry: Router, db_url: str, clock: Clock
) -> None:
    engine = make_engine(db_url)
    try:
        other = build_bot(make_sessions(engine), SETTINGS, clock=clock)
        platforms = [FakePlatform(registry), FakePlatform(other)]
        organizers = [
            platforms[n % 2].person(f"@o{n}:x", Role.ORGANIZER, f"O{n}") for n in range(8)
        ]
        said = await asyncio.gather(*(o.say(f"!sprint issue add {gh(1)}") for o in organizers))
    finally:
        await engine.dispose()
    assert sum(not s.reply.error for s in said) == 1, [s.text for s in said]
    for s in said:
        if s.reply.error:
            assert s.text in (
                "That issue is already listed as #1.",
                "That issue was listed a moment ago; see the list of sprint issues.",
            )
    assert len(await snapshot(registry)) == 1


async def test_help_shows_the_sprint_commands(nina: FakeUser, omar: FakeUser) -> None:
    listed = await ok(nina, "!help sprint")
    assert "!sprint claim <number>" in listed and "!sprint issues [" in listed
    assert "sprint issue add" not in listed
    group = await ok(omar, "!help sprint issue")
    assert "!sprint issue add <url> […] — List a GitHub, GitLab or Forgejo issue" in group
    assert "!sprint issue remove <number>" in group and "!sprint claim" not in group
    detail = await omar.say("!help sprint issue add")
    assert detail.reply.title == (
        "!sprint issue add <url> [everyone|newcomers|contributors|core] [event]"
    )


async def test_the_holder_or_an_organizer_says_an_issue_is_done(
    omar: FakeUser, nina: FakeUser, ben: FakeUser, registry: Router, clock: Clock
) -> None:
    for n in (1, 2, 3):
        await ok(omar, f"!sprint issue add {gh(n)}")
    before = await snapshot(registry)
    for user, line, message in (
        (
            nina,
            "!sprint issue done 1",
            "Nobody holds #1: an issue is done by whoever took it. "
            "Take it first, e.g. !sprint claim 1.",
        ),
        (nina, "!sprint issue done 9", "There is no sprint issue #9."),
        (nina, "!sprint issue done x", "number must be a whole number"),
    ):
        assert (await refused(user, line)).startswith(message), line
    assert "Example: !sprint issue done 3" in await refused(nina, "!sprint issue done 0")
    assert await snapshot(registry) == before
    await ok(nina, "!sprint claim 1")
    await ok(nina, "!sprint claim 2")
    assert await refused(ben, "!sprint issue done 1") == (
        "#1 is held by Nina, not you; only they or an organizer can say it is done."
    )
    clock.now = T0 + timedelta(days=3)
    assert await ok(nina, "!sprint issue done 1") == (
        f"Well done: #1 {shown(1)} is done, and off the list."
    )
    assert await ok(omar, "!sprint issue done 2") == (
        f"Recorded #2 {shown(2)} as done by Nina; it is off the list."
    )
    assert "No sprint issues" not in await ok(ben, "!sprint issues")
    assert "#1" not in await ok(ben, "!sprint issues")
    for user, line in (
        (nina, "!sprint unclaim 1"),
        (omar, "!sprint issue remove 1"),
        (ben, "!sprint claim 1"),
    ):
        assert (await refused(user, line)).startswith("Sprint issue #1 was removed"), line
    assert await refused(nina, "!sprint issue done 1") == "#1 is already done, by Nina."
    await ok(nina, "!sprint claim 3")
    async with registry.runtime.sessions() as session:
        done = await completions_since(session, T0)
        rows = {i.id: i for i in (await session.exec(select(SprintIssue))).all()}
    assert done == [T0 + timedelta(days=3)] * 2
    assert rows[1].completed_by == rows[1].claimed_by == rows[2].completed_by
    assert rows[3].completed_at is None


async def test_me_export_and_forget_keep_a_completed_issue_as_history(
    omar: FakeUser, nina: FakeUser, registry: Router
) -> None:
    await ok(omar, f"!sprint issue add {gh(1)}")
    await ok(omar, f"!sprint issue add {gh(2)}")
    await ok(nina, "!sprint claim 1")
    await ok(nina, "!sprint claim 2")
    await ok(nina, "!sprint issue done 1")
    exported = (await nina.say("!me export")).reply.attachment
    assert exported is not None
    claims = json.loads(exported.content)["sprints"]["claims"]
    assert [(c["issue"], c["listed"], c["completed_at"]) for c in claims] == [
        (1, False, T0.isoformat()),
        (2, True, None),
    ]
    await nina.say("!me forget")
    said = await nina.say("!me forget confirm")
    assert not said.reply.error, said.text
    async with registry.runtime.sessions() as session:
        rows = {i.id: i for i in (await session.exec(select(SprintIssue))).all()}
    assert rows[1].completed_at == T0 and rows[1].completed_by is not None, "history stays"
    assert rows[2].claimed_by is None, "a listed issue is given back"
