"""Forges: GitHub's pull requests kept by signed webhooks and by polling (against the fake
GitHub in tests/support), the review queue people read, and review hours posted once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import ConfigError, Settings, parse_settings
from bot.core import Role
from bot.core.markup import to_plain
from bot.web import make_web_app
from cogs.forge.api import ISSUES
from cogs.forge.models import ForgeAccount, ForgeEtag, IssueReport, PullRequest, WebhookDelivery
from cogs.forge.settings import ForgeSettings
from cogs.forge.shapes import from_github, from_gitlab_api, trim
from cogs.sprints.api import completions_since
from cogs.sprints.models import SprintIssue
from tests.support.clock import Clock
from tests.support.fake_github import (
    FakeGitHub,
    event_payload,
    forgejo_issue,
    forgejo_issue_event,
    forgejo_pull_request,
    forgejo_webhook,
    gitlab_issue,
    gitlab_issue_event,
    gitlab_listed,
    gitlab_merge_request,
    gitlab_webhook,
    issue,
    issue_event,
    pull_request,
    review,
    serving,
    signed,
    webhook,
)
from tests.support.fake_platform import FakePlatform
from tests.support.house import (
    build_dispatcher,
    build_forge_poller,
    build_house,
    build_review_hours,
    build_review_nudges,
    build_sprint_checks,
)
from tests.support.recording_platform import matrix_and_discord

REPO = "scikit-learn/scikit-learn"
SECRET = "its-a-secret-to-everybody"
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
ROOMS = [{"name": "reviewers", "matrix_room_id": "!r:x", "purposes": ["reviews"]}]


def settings(base_url: str = "https://api.github.com", **forge: Any) -> Settings:
    return parse_settings(
        {
            "forge": {
                "forges": [
                    {
                        "kind": "github",
                        "base_url": base_url,
                        "web_url": "https://github.com",
                        "repositories": [REPO, "numpy/numpy"],
                        "webhook_secret_env": "TEST_GITHUB_SECRET",
                        **forge,
                    }
                ]
            },
            "rooms": ROOMS,
        }
    )


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GITHUB_SECRET", SECRET)


def without_links(text: str) -> str:
    return re.sub(r" ?\(https://github\.com/[^)]*\)", "", text)


class World:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], config: Settings) -> None:
        self.sessions = sessions
        self.clock = Clock(NOW)
        self.house = build_house(sessions, config, clock=self.clock)
        self.bot = self.house.router
        self.platform = FakePlatform(self.bot)
        self.ana = self.platform.person("@ana:x", Role.ORGANIZER)

    async def queue(self, line: str = "!review queue") -> str:
        """The answer as read, without the pull requests' addresses."""
        return without_links((await self.ana.say(line)).text)

    async def stored(self) -> list[PullRequest]:
        async with self.sessions() as session:
            return list(
                (await session.exec(select(PullRequest).order_by(PullRequest.number))).all()
            )


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    return World(sessions, settings())


@pytest.fixture
async def client(world: World) -> AsyncIterator[TestClient]:
    app = make_web_app(
        world.bot.runtime, world.bot, {}, lambda: {}, webhooks=world.house.contributions.webhooks
    )
    async with TestClient(TestServer(app)) as client:
        yield client


async def deliver(
    client: TestClient, event: str, payload: dict[str, Any], delivery: str, secret: str = SECRET
) -> tuple[int, str]:
    headers, body = webhook(event, payload, secret, delivery)
    async with client.post("/forge/github", data=body, headers=headers) as response:
        return response.status, await response.text()


def opened(number: int, created: datetime, **fields: Any) -> dict[str, Any]:
    return event_payload(
        "pull_request/opened",
        REPO,
        action="opened",
        pull_request=pull_request(REPO, number, created=created, **fields),
    )


async def test_a_signed_webhook_puts_a_new_pull_request_in_the_queue(
    world: World, client: TestClient
) -> None:
    payload = opened(
        7,
        NOW - timedelta(days=3),
        title="Faster sparse PCA",
        author="mira",
        association="FIRST_TIME_CONTRIBUTOR",
    )
    assert await deliver(client, "pull_request", payload, "d-1") == (200, "ok\n")

    text = await world.queue()
    assert "Review queue: 1 waiting" in text
    assert (
        "scikit-learn/scikit-learn#7 'Faster sparse PCA' by mira · waiting 3 d · first-time contributor"
        in text
    )


async def test_a_forged_signature_is_refused_and_nothing_is_stored(
    world: World, client: TestClient
) -> None:
    payload = opened(7, NOW)
    status, text = await deliver(client, "pull_request", payload, "d-1", secret="guessed")
    assert (status, text) == (401, "the signature does not match\n")
    headers, body = webhook("pull_request", payload, SECRET, "d-2")
    del headers["X-Hub-Signature-256"]
    async with client.post("/forge/github", data=body, headers=headers) as response:
        assert response.status == 401
    assert await world.stored() == []
    async with world.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(WebhookDelivery))).one() == 0


async def test_a_replayed_delivery_changes_nothing(world: World, client: TestClient) -> None:
    assert (await deliver(client, "pull_request", opened(7, NOW, title="First"), "d-1"))[0] == 200
    later = opened(7, NOW, title="Replayed", updated=NOW + timedelta(hours=1))
    assert await deliver(client, "pull_request", later, "d-1") == (200, "already handled\n")
    [pull] = await world.stored()
    assert pull.title == "First"


async def test_bad_deliveries_get_a_4xx_and_store_nothing(world: World, client: TestClient) -> None:
    body = b"this is not json"
    headers, _ = webhook("pull_request", {}, SECRET, "d-1")
    headers["X-Hub-Signature-256"] = signed(body, SECRET)
    async with client.post("/forge/github", data=body, headers=headers) as response:
        assert response.status == 400
    elsewhere = event_payload(
        "pull_request/opened",
        "someone/else",
        action="opened",
        pull_request=pull_request("someone/else", 1, created=NOW),
    )
    status, text = await deliver(client, "pull_request", elsewhere, "d-2")
    assert status == 422 and "not configured" in text
    huge = opened(8, NOW, title="x")
    huge["padding"] = "x" * 600_000
    assert (await deliver(client, "pull_request", huge, "d-3"))[0] == 413
    assert await world.stored() == []


async def test_review_events_and_ci_give_the_flags(world: World, client: TestClient) -> None:
    created = NOW - timedelta(days=2)
    pr = pull_request(REPO, 9, created=created, requested=("ana",), head_sha="abc123")
    await deliver(
        client,
        "pull_request",
        event_payload("pull_request/opened", REPO, action="opened", pull_request=pr),
        "d-1",
    )
    reviewed = event_payload(
        "pull_request_review/submitted",
        REPO,
        action="submitted",
        pull_request=pr,
        review=review("bob", "approved", NOW),
    )
    await deliver(client, "pull_request_review", reviewed, "d-2")
    suite = event_payload("check_suite/completed", REPO, action="completed")
    suite["check_suite"]["head_sha"] = "abc123"
    suite["check_suite"]["conclusion"] = "failure"
    await deliver(client, "check_suite", suite, "d-3")
    person = await person_of(world)
    async with world.sessions() as session:
        session.add(
            ForgeAccount(
                person_id=person,
                forge="https://github.com",
                login="ana",
                asked_at=NOW,
                proven_at=NOW,
            )
        )
        await session.commit()

    text = await world.queue()
    assert (
        "#9 'Fix the docs' by octocat · waiting 2 d · review requested from you · one approval, needs a second · CI failing"
        in text
    )

    second = event_payload(
        "pull_request_review/submitted",
        REPO,
        action="submitted",
        pull_request=pr,
        review=review("cy", "approved", NOW),
    )
    await deliver(client, "pull_request_review", second, "d-4")
    assert "No pull request is waiting for a review." in await world.queue()


async def person_of(world: World) -> int:
    said = await world.ana.say("!whoami")
    assert not said.reply.error
    from bot.identity import Account

    async with world.sessions() as session:
        account = (
            await session.exec(select(Account).where(Account.platform_user_id == "@ana:x"))
        ).one()
        return account.person_id


async def test_the_queue_is_longest_wait_first_without_drafts(
    world: World, client: TestClient
) -> None:
    await deliver(client, "pull_request", opened(1, NOW - timedelta(days=1), title="Recent"), "d-1")
    await deliver(client, "pull_request", opened(2, NOW - timedelta(days=9), title="Old"), "d-2")
    await deliver(
        client,
        "pull_request",
        opened(3, NOW - timedelta(days=20), title="Draft", draft=True),
        "d-3",
    )
    text = await world.queue()
    assert text.index("'Old'") < text.index("'Recent'")
    assert "Draft" not in text

    pushed = opened(
        2, NOW - timedelta(days=9), title="Old", updated=NOW - timedelta(hours=2), head_sha="f00"
    )
    pushed["action"] = "synchronize"
    await deliver(client, "pull_request", pushed, "d-4")
    text = await world.queue()
    assert text.index("'Recent'") < text.index("'Old'")
    assert "'Old' by octocat · waiting 2 h" in text

    ready = opened(3, NOW - timedelta(days=20), title="Draft", updated=NOW - timedelta(hours=5))
    ready["action"] = "ready_for_review"
    await deliver(client, "pull_request", ready, "d-5")
    assert "'Draft' by octocat · waiting 5 h" in await world.queue()


async def test_bad_repositories_are_told_with_an_example(world: World) -> None:
    text = await world.queue("!review queue pandas-dev/pandas")
    assert "pandas-dev/pandas is not a repository Convene reads" in text
    assert "e.g. !review queue scikit-learn/scikit-learn" in text
    text = await world.queue("!review queue https://gitlab.com/gitlab-org/gitlab")
    assert "gitlab.com is not a forge Convene reads; it reads https://github.com" in text
    text = await world.queue("!review queue https://github.com/numpy/numpy/pulls")
    assert "No pull request in numpy/numpy is waiting for a review." in text


# Polling, against the fake GitHub.


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    async with serving(FakeGitHub()) as fake:
        yield fake


@pytest.fixture
async def polled(sessions: async_sessionmaker[AsyncSession], github: FakeGitHub) -> World:
    return World(sessions, settings(github.url))


def forge(world: World) -> Any:
    return world.bot.runtime.env.section(ForgeSettings).forges[0]


async def test_a_poll_reads_every_page_then_costs_only_304s(
    polled: World, github: FakeGitHub
) -> None:
    for number in range(1, 251):
        github.add(REPO, pull_request(REPO, number, created=NOW - timedelta(hours=number)))
    github.repo(REPO).reviews[250] = [review("bob", "approved", NOW)]
    github.repo(REPO).statuses[github.repo(REPO).pulls[250]["head"]["sha"]] = "failure"
    github.repo("numpy/numpy")
    poller = build_forge_poller(polled.bot)

    report = await poller.poll(forge(polled))
    assert report.changed == [REPO, "numpy/numpy"]
    pages = [
        path for path, _ in github.requests if path.startswith(f"/repos/{REPO}/pulls?state=open")
    ]
    assert len(pages) == 3  # 250 at 100 a page, followed by Link rel="next"
    assert "Review queue: 250 waiting" in await polled.queue()
    assert (
        "#250 'Fix the docs' by octocat · waiting 10 d 10 h · one approval, needs a second · CI failing"
        in await polled.queue()
    )

    github.requests.clear()
    report = await poller.poll(forge(polled))
    assert report.changed == []
    # Three pages of one repository's open ones, one of the other's; one of each's closed ones.
    # (No CI is asked again: anonymous 304s count against GitHub's limit.)
    assert list(github.statuses()) == [304] * 6
    assert report.fresh == 0

    # Restarted: a new poller, whose ETags come from the store.
    github.requests.clear()
    report = await build_forge_poller(polled.bot).poll(forge(polled))
    assert list(github.statuses()) == [304] * 6
    assert report.changed == [] and report.requests == 6


async def test_a_rate_limit_postpones_polling_and_loses_nothing(
    polled: World, github: FakeGitHub
) -> None:
    for number in range(1, 31):
        github.add(REPO, pull_request(REPO, number, created=NOW - timedelta(hours=number)))
    github.repo("numpy/numpy")
    poller = build_forge_poller(polled.bot)

    github.secondary, github.retry_after = 1, 120
    report = await poller.poll(forge(polled))
    assert report.postponed == polled.clock.now + timedelta(seconds=120)
    assert github.requests[-1][1] == 403
    assert await polled.stored() == []

    github.remaining = 10  # the list, then reviews and status of four pull requests
    report = await poller.poll(forge(polled))
    assert report.postponed == github.reset
    assert len(await polled.stored()) == 30

    github.remaining = 5000
    report = await poller.poll(forge(polled))
    assert report.postponed is None
    async with polled.sessions() as session:
        rows = (await session.exec(select(PullRequest))).all()
        assert all(row.details_seen == row.updated_at for row in rows)


async def test_a_repository_github_does_not_show_is_named_and_the_others_polled(
    polled: World, github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    github.repo("numpy/numpy")
    github.add("numpy/numpy", pull_request("numpy/numpy", 1, created=NOW - timedelta(days=1)))
    report = await build_forge_poller(polled.bot).poll(forge(polled))
    assert report.refused == [REPO] and report.changed == ["numpy/numpy"]
    assert "polling https://github.com/scikit-learn/scikit-learn: " in caplog.text
    assert "answered 404" in caplog.text
    assert "Review queue: 1 waiting" in await polled.queue()


async def test_a_pull_request_no_longer_listed_leaves_the_queue(
    polled: World, github: FakeGitHub
) -> None:
    github.add(REPO, pull_request(REPO, 1, created=NOW - timedelta(days=1)))
    github.add(REPO, pull_request(REPO, 2, created=NOW - timedelta(days=2)))
    github.repo("numpy/numpy")
    poller = build_forge_poller(polled.bot)
    await poller.poll(forge(polled))
    github.repo(REPO).pulls[2]["state"] = "closed"
    await poller.poll(forge(polled))
    text = await polled.queue()
    assert "Review queue: 1 waiting" in text and "#2" not in text


# Review hours.


async def test_a_review_hour_posts_the_longest_waiting_once(
    world: World, client: TestClient
) -> None:
    await deliver(
        client, "pull_request", opened(4, NOW - timedelta(days=6), title="Old one"), "d-1"
    )
    said = await world.ana.say(
        '!event create "Review hour" start="2026-12-08 16:00" tz=UTC kind=review-hour'
    )
    assert not said.reply.error, said.text
    platforms = matrix_and_discord()
    dispatcher = build_dispatcher(world.sessions, platforms, world.clock)
    planner = build_review_hours(world.bot)

    world.clock.now = datetime(2026, 12, 8, 15, 59, tzinfo=UTC)
    await planner.plan()
    await dispatcher.run_due()
    assert platforms["matrix"].replies == {}

    for minutes in (0, 1, 10):
        world.clock.now = datetime(2026, 12, 8, 16, minutes, tzinfo=UTC)
        await planner.plan()
        await dispatcher.run_due()
    [post] = [without_links(to_plain(r.body())) for r in platforms["matrix"].replies.values()]
    assert post.startswith("Review hour: Review hour\n1 pull request waits for a review")
    assert "scikit-learn/scikit-learn#4 'Old one' by octocat · waiting 7 d 1 h" in post


async def test_public_repositories_need_no_token_and_a_token_is_sent_when_set(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    github.repo(REPO), github.repo("numpy/numpy")
    anonymous = World(sessions, settings(github.url))
    await build_forge_poller(anonymous.bot).poll(forge(anonymous))
    assert set(github.authorizations) == {None}

    github.authorizations.clear()
    monkeypatch.setenv("TEST_GITHUB_TOKEN", "ghp_test0123456789")
    config = settings(github.url, token_env="TEST_GITHUB_TOKEN")
    config.check_secrets()
    with_token = World(sessions, config)
    await build_forge_poller(with_token.bot).poll(forge(with_token))
    assert set(github.authorizations) == {"token ghp_test0123456789"}


def test_a_missing_secret_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_GITHUB_SECRET")
    with pytest.raises(ConfigError, match="environment variable TEST_GITHUB_SECRET is not set"):
        settings().check_secrets()
    monkeypatch.setenv("TEST_GITHUB_SECRET", "two words")
    with pytest.raises(ConfigError) as refused:
        settings().check_secrets()
    assert "two words" not in str(refused.value)


# GitLab and Forgejo webhooks.

GITLAB = "gnome/gtk/docs"
CODEBERG = "forgejo/website"


@pytest.fixture
async def forges(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[World, TestClient]]:
    monkeypatch.setenv("TEST_GITLAB_TOKEN", "gitlab-hook-token")
    monkeypatch.setenv("TEST_FORGEJO_SECRET", "forgejo-hook-secret")
    config = parse_settings(
        {
            "forge": {
                "forges": [
                    {
                        "kind": "gitlab",
                        "repositories": [GITLAB],
                        "webhook_secret_env": "TEST_GITLAB_TOKEN",
                    },
                    {
                        "kind": "forgejo",
                        "base_url": "https://codeberg.org/api/v1",
                        "repositories": [CODEBERG],
                        "webhook_secret_env": "TEST_FORGEJO_SECRET",
                    },
                ]
            }
        }
    )
    world = World(sessions, config)
    app = make_web_app(
        world.bot.runtime, world.bot, {}, lambda: {}, webhooks=world.house.contributions.webhooks
    )
    async with TestClient(TestServer(app)) as client:
        yield world, client


async def send(
    client: TestClient, path: str, request: tuple[dict[str, str], bytes]
) -> tuple[int, str]:
    headers, body = request
    async with client.post(path, data=body, headers=headers) as response:
        return response.status, await response.text()


def plain(text: str) -> str:
    return re.sub(r" \(https://[^)]*\)", "", text)


async def test_gitlab_merge_requests_come_by_token(forges: tuple[World, TestClient]) -> None:
    world, client = forges
    opened_mr = gitlab_merge_request(
        GITLAB, 12, title="Column view", author="lea", first=True, created=NOW - timedelta(days=2)
    )
    assert (await send(client, "/forge/gitlab", gitlab_webhook(opened_mr, "wrong", "u-0")))[
        0
    ] == 401
    assert await world.stored() == []
    assert await send(
        client, "/forge/gitlab", gitlab_webhook(opened_mr, "gitlab-hook-token", "u-1")
    ) == (200, "ok\n")
    assert await send(
        client, "/forge/gitlab", gitlab_webhook(opened_mr, "gitlab-hook-token", "u-1")
    ) == (200, "already handled\n")

    text = plain(
        (
            await world.ana.say("!review queue https://gitlab.com/gnome/gtk/docs/-/merge_requests")
        ).text
    )
    assert "gnome/gtk/docs#12 'Column view' by lea · waiting 2 d · first-time contributor" in text

    approved = gitlab_merge_request(
        GITLAB,
        12,
        action="approved",
        author="sam",
        first=True,
        title="Column view",
        created=NOW - timedelta(days=2),
        updated=NOW - timedelta(hours=1),
    )
    await send(client, "/forge/gitlab", gitlab_webhook(approved, "gitlab-hook-token", "u-2"))
    text = plain((await world.ana.say("!review queue")).text)
    assert "by lea · waiting 2 d · first-time contributor · one approval, needs a second" in text

    merged = gitlab_merge_request(
        GITLAB, 12, action="merge", state="merged", created=NOW - timedelta(days=2), updated=NOW
    )
    await send(client, "/forge/gitlab", gitlab_webhook(merged, "gitlab-hook-token", "u-3"))
    assert "No pull request is waiting for a review." in (await world.ana.say("!review queue")).text


async def test_forgejo_pull_requests_come_signed(forges: tuple[World, TestClient]) -> None:
    world, client = forges
    payload = forgejo_pull_request(
        CODEBERG, 5, title="New front page", author="otto", created=NOW - timedelta(days=1)
    )
    headers, body = forgejo_webhook(payload, "forgejo-hook-secret", "f-1")
    forged = dict(headers, **{"X-Forgejo-Signature": "0" * 64})
    assert (await send(client, "/forge/forgejo", (forged, body)))[0] == 401
    assert await world.stored() == []
    assert await send(client, "/forge/forgejo", (headers, body)) == (200, "ok\n")
    text = plain((await world.ana.say("!review queue forgejo/website")).text)
    assert "forgejo/website#5 'New front page' by otto · waiting 1 d" in text

    elsewhere = forgejo_pull_request("someone/else", 1, created=NOW)
    status, _ = await send(
        client, "/forge/forgejo", forgejo_webhook(elsewhere, "forgejo-hook-secret", "f-2")
    )
    assert status == 422
    text = (await world.ana.say("!review queue https://github.com/forgejo/website")).text
    assert "github.com is not a forge Convene reads" in text


# Sprint issues read from GitHub.


async def test_a_sprint_issue_is_listed_with_what_github_says(
    polled: World, github: FakeGitHub
) -> None:
    github.repo(REPO).issues[101] = issue(
        REPO,
        101,
        title="Document the sparse PCA solver",
        labels=("good first issue", "Documentation"),
    )
    github.repo(REPO).issues[102] = issue(REPO, 102, title="Old bug", state="closed")
    add = "!sprint issue add https://github.com/scikit-learn/scikit-learn/issues/{} newcomers"

    said = await polled.ana.say(add.format(101))
    assert not said.reply.error, said.text
    listed = without_links((await polled.ana.say("!sprint issues")).text)
    assert (
        "#1 scikit-learn/scikit-learn#101 'Document the sparse PCA solver' "
        "[good first issue,Documentation] · newcomers · free" in listed
    )

    said = await polled.ana.say(add.format(102))
    assert said.reply.error
    assert "scikit-learn/scikit-learn#102 is closed on github.com; list an open issue." in said.text
    said = await polled.ana.say(add.format(999))
    assert "github.com has no open issue scikit-learn/scikit-learn#999" in said.text
    said = await polled.ana.say("!sprint issue add https://github.com/nobody/nothing/issues/1")
    assert "github.com has no open issue nobody/nothing#1" in said.text
    said = await polled.ana.say("!sprint issue add https://gitlab.com/group/project/-/issues/1")
    assert "gitlab.com is not a forge Convene reads; it reads github.com." in said.text
    listed = (await polled.ana.say("!sprint issues")).text
    assert "#102" not in listed and "nothing" not in listed and "gitlab" not in listed

    for number in (103, 104):
        github.repo(REPO).issues[number] = issue(
            REPO, number, title=f"Sprint task {number}", labels=("sprint",)
        )
    github.repo(REPO).issues[101]["labels"].append(
        {**github.repo(REPO).issues[101]["labels"][0], "name": "sprint"}
    )
    said = await polled.ana.say(f"!sprint issue import {REPO} label=sprint newcomers")
    assert without_links(said.text) == (
        "Listed 2 for newcomers: #2 scikit-learn/scikit-learn#103 'Sprint task 103' [sprint], "
        "#3 scikit-learn/scikit-learn#104 'Sprint task 104' [sprint]. 1 was listed already."
    )
    said = await polled.ana.say("!sprint issue import pandas-dev/pandas label=sprint")
    assert "github.com has no repository pandas-dev/pandas." in said.text
    said = await polled.ana.say("!sprint issue import https://x label=sprint")
    assert "Name the repository as owner/name" in said.text


# Linking a GitHub login, proven.


async def test_a_github_login_is_linked_once_its_code_is_on_github(
    polled: World, github: FakeGitHub
) -> None:
    github.users["octocat"] = ("Friendly cat", [])
    github.repo("numpy/numpy")
    github.add(REPO, pull_request(REPO, 3, created=NOW - timedelta(days=1), requested=("octocat",)))
    await build_forge_poller(polled.bot).poll(forge(polled))

    said = await polled.ana.say("!forge link github no-such-person")
    assert "GitHub has no user no-such-person" in said.text
    said = await polled.ana.say("!forge link github bad_login!")
    assert "A GitHub login is letters, digits and single hyphens" in said.text

    said = await polled.ana.say("!forge link github octocat")
    assert said.reply.private
    code = re.search(r"convene-[0-9a-f]{12}", said.text)
    assert code is not None, said.text
    assert "put " + code[0] + " in your GitHub profile's bio, or as the description" in said.text

    said = await polled.ana.say("!forge link github octocat")
    assert (
        f"The code {code[0]} is not in octocat's bio nor in a public gist's description yet"
        in said.text
    )
    assert "review requested from you" not in await polled.queue()

    github.users["octocat"] = ("Friendly cat", ["my proof " + code[0]])
    said = await polled.ana.say("!forge link github octocat")
    assert "Linked: GitHub's octocat is you. !review queue now flags" in said.text
    assert (
        "#3 'Fix the docs' by octocat · waiting 1 d · review requested from you"
        in await polled.queue()
    )

    assert "Forge accounts: github.com octocat." in (await polled.ana.say("!whoami")).text

    export = await polled.ana.say("!me export")
    assert export.reply.attachment is not None
    assert '"login": "octocat"' in export.reply.attachment.content


async def test_an_organizer_confirms_a_login(polled: World) -> None:
    nina = polled.platform.person("@nina:x", name="Nina")
    await nina.say("!whoami")
    said = await polled.ana.say("!forge confirm github nina-q @nina:x")
    assert said.text == "Linked: GitHub's nina-q is '@nina:x'."
    assert "Forge accounts: github.com nina-q." in (await nina.say("!whoami")).text
    said = await nina.say("!forge confirm github nina-q @nina:x")
    assert said.reply.error
    said = await polled.ana.say("!forge confirm github nina-q @nobody:x")
    assert "Nobody here goes by" in said.text


async def test_forgejo_is_polled_like_github(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub
) -> None:
    config = parse_settings(
        {
            "forge": {
                "forges": [
                    {
                        "kind": "forgejo",
                        "base_url": github.url + "/api/v1",
                        "web_url": "https://codeberg.org",
                        "repositories": [CODEBERG],
                    }
                ]
            }
        }
    )
    world = World(sessions, config)
    for number in range(1, 61):
        pr = forgejo_pull_request(CODEBERG, number, created=NOW - timedelta(hours=number))
        github.add(CODEBERG, pr["pull_request"])
    github.repo(CODEBERG).reviews[60] = [
        {**review("kim", "approved", NOW), "state": "APPROVED"},
        {**review("lou", "changes_requested", NOW), "state": "REQUEST_CHANGES"},
    ]
    poller = build_forge_poller(world.bot)
    forgejo = world.bot.runtime.env.section(ForgeSettings).forges[0]

    assert (await poller.poll(forgejo)).changed == [CODEBERG]
    pages = [path for path, _ in github.requests if "/pulls?state=open" in path]
    assert pages == [
        f"/api/v1/repos/{CODEBERG}/pulls?state=open&limit=50",
        f"/api/v1/repos/{CODEBERG}/pulls?state=open&limit=50&page=2",
    ]
    text = plain((await world.ana.say("!review queue")).text)
    assert "Review queue: 60 waiting" in text
    assert "forgejo/website#60 'Fix the docs' by gordon · waiting 2 d 12 h · one approval" in text

    github.requests.clear()
    assert (await poller.poll(forgejo)).changed == []
    assert set(github.statuses()) == {304}

    merged = forgejo_pull_request(
        CODEBERG, 60, created=NOW - timedelta(hours=60), updated=NOW, merged=True
    )
    github.add(CODEBERG, merged["pull_request"])
    await poller.poll(forgejo)
    assert f"/api/v1/repos/{CODEBERG}/pulls?state=closed&sort=recentupdate&limit=50" in [
        path for path, _ in github.requests
    ]
    assert [pull.state for pull in await world.stored() if pull.number == 60] == ["merged"]


async def test_gitlab_is_polled_with_its_token(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_GITLAB_API_TOKEN", "glpat-0123456789")
    config = parse_settings(
        {
            "forge": {
                "forges": [
                    {
                        "kind": "gitlab",
                        "base_url": github.url + "/api/v4",
                        "web_url": "https://gitlab.com",
                        "repositories": [GITLAB],
                        "token_env": "TEST_GITLAB_API_TOKEN",
                    }
                ]
            }
        }
    )
    world = World(sessions, config)
    github.gitlab[GITLAB] = {
        iid: gitlab_listed(GITLAB, iid, created=NOW - timedelta(hours=iid), reviewers=("ana",))
        for iid in range(1, 131)
    }
    github.approvals[(GITLAB, 130)] = ["kim"]
    github.pipelines[(GITLAB, 130)] = "failed"
    poller = build_forge_poller(world.bot)
    gitlab = world.bot.runtime.env.section(ForgeSettings).forges[0]

    assert (await poller.poll(gitlab)).changed == [GITLAB]
    pages = [path for path, _ in github.requests if "state=opened" in path]
    assert len(pages) == 2  # 130 at 100 a page
    text = plain((await world.ana.say("!review queue")).text)
    assert "Review queue: 130 waiting" in text
    assert (
        "gnome/gtk/docs#130 'Fix the docs' by admin · waiting 5 d 10 h · "
        "one approval, needs a second · CI failing" in text
    )

    assert set(github.authorizations) == {"glpat-0123456789"}

    github.requests.clear()
    assert (await poller.poll(gitlab)).changed == []
    assert set(github.statuses()) == {304}


# First contributions celebrated.


async def test_a_linked_newcomers_first_pull_request_is_celebrated_when_opened_and_merged(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    data = settings().model_dump(mode="json")
    data["rooms"] = [{"name": "lobby", "matrix_room_id": "!l:x", "purposes": ["welcome"]}]
    world = World(sessions, parse_settings(data))
    app = make_web_app(
        world.bot.runtime, world.bot, {}, lambda: {}, webhooks=world.house.contributions.webhooks
    )
    mira = world.platform.person("@mira:x", name="Mira")
    await mira.say('!mentor request "first pull request" how do I run the tests')
    mentor = world.platform.person("@omar:x", Role.MENTOR, name="Omar")
    await world.ana.say("!forge confirm github mira-dev @mira:x")
    claimed = await mentor.say("!mentor claim 1")
    assert "Their forge accounts: github.com mira-dev." in claimed.text
    platforms = matrix_and_discord()
    dispatcher = build_dispatcher(world.sessions, platforms, world.clock)

    def first(**fields: Any) -> dict[str, Any]:
        return opened(
            8,
            NOW,
            title="Typo in the glossary",
            author="mira-dev",
            association="FIRST_TIME_CONTRIBUTOR",
            **fields,
        )

    async with TestClient(TestServer(app)) as client:
        await deliver(client, "pull_request", first(), "d-1")
        await deliver(client, "pull_request", first(), "d-1")
        other = opened(9, NOW, author="someone", association="FIRST_TIME_CONTRIBUTOR")
        await deliver(client, "pull_request", other, "d-2")
        await dispatcher.run_due()
        merged = first(updated=NOW + timedelta(hours=2), merged=True)
        merged["action"] = "closed"
        world.clock.now = NOW + timedelta(hours=2)
        await deliver(client, "pull_request", merged, "d-3")
        await deliver(client, "pull_request", merged, "d-4")
    await dispatcher.run_due()
    sent = platforms["matrix"].posted
    to_mentor = [text for target, text in sent.values() if target == "user:@omar:x"]
    assert len(to_mentor) == 2
    assert to_mentor[0].endswith("Welcome! (You helped Mira as their mentor.)")
    posts = [
        without_links(to_plain(reply.body()))
        for key, reply in platforms["matrix"].replies.items()
        if sent[key][0] != "user:@omar:x" and "🎉" in reply.text
    ]
    assert posts == [
        "🎉 Mira opened their first pull request to scikit-learn/scikit-learn: "
        "scikit-learn/scikit-learn#8 'Typo in the glossary'. Welcome!",
        "🎉 Mira's first pull request to scikit-learn/scikit-learn was merged: "
        "scikit-learn/scikit-learn#8 'Typo in the glossary'. Thank you!",
    ]


# Review nudges.


async def test_a_reviewer_is_nudged_once_a_day_in_their_daytime(
    world: World, client: TestClient
) -> None:
    nina = world.platform.person("@nina:x", name="Nina")
    await nina.say("!tz set Europe/Paris")
    await world.ana.say("!forge confirm github nina-q @nina:x")
    asked = opened(5, NOW - timedelta(days=2), title="Asks Nina", requested=("nina-q",))
    labelled = opened(6, NOW - timedelta(days=1), title="Docs fix", labels=("documentation",))
    await deliver(client, "pull_request", asked, "d-1")
    await deliver(client, "pull_request", labelled, "d-2")
    await deliver(client, "pull_request", opened(7, NOW - timedelta(days=3)), "d-3")

    said = await nina.say("!review nudge on max=3 labels=documentation")
    assert said.text == (
        "Once a day, between 10:00 and 18:00 your time, up to 3 pull requests that ask nina-q "
        "for a review or carry documentation, by direct message (none when nothing waits)."
    )
    platforms = matrix_and_discord()
    dispatcher = build_dispatcher(world.sessions, platforms, world.clock)
    nudges = build_review_nudges(world.bot)

    async def at(hour: int, day: int = 8) -> list[str]:
        world.clock.now = datetime(2026, 12, day, hour, 30, tzinfo=UTC)
        before = set(platforms["matrix"].replies)
        await nudges.plan()
        await dispatcher.run_due()
        return [
            without_links(to_plain(platforms["matrix"].replies[key].body()))
            for key in platforms["matrix"].replies
            if key not in before
        ]

    assert await at(8) == []  # 09:30 in Paris
    [nudge] = await at(9)
    assert nudge == (
        "Pull requests waiting for your review\n"
        "- scikit-learn/scikit-learn#5 'Asks Nina' by octocat · waiting 2 d 18 h\n"
        "- scikit-learn/scikit-learn#6 'Docs fix' by octocat · waiting 1 d 18 h\n"
        "Stop these with !review nudge off."
    )
    assert [target for target, _ in platforms["matrix"].posted.values()] == ["user:@nina:x"]
    assert await at(14) == []
    assert len(await at(9, day=9)) == 1

    assert (await nina.say("!review nudge off")).text == "No more review nudges."
    assert await at(9, day=10) == []
    console = FakePlatform(world.bot, name="console").person("you")
    said = await console.say("!review nudge on")
    assert "Review nudges come by direct message on Matrix or Discord" in said.text


async def test_sprint_issues_closed_or_taken_on_github_leave_the_list(
    polled: World, github: FakeGitHub
) -> None:
    for number in (101, 102, 103):
        github.repo(REPO).issues[number] = issue(REPO, number, title=f"Task {number}")
    for number in (101, 102, 103):
        said = await polled.ana.say(f"!sprint issue add https://github.com/{REPO}/issues/{number}")
        assert not said.reply.error, said.text
    nina = polled.platform.person("@nina:x", name="Nina")
    await nina.say("!sprint claim 1")
    await nina.say("!sprint claim 3")
    await polled.ana.say("!forge confirm github nina-q @nina:x")
    github.repo(REPO).issues[101]["state"] = "closed"
    github.repo(REPO).issues[102]["assignees"] = [{"login": "someone"}]
    github.repo(REPO).issues[103]["assignees"] = [{"login": "Nina-Q"}]
    github.repo(REPO).issues[103]["title"] = "Task 103, retitled"
    platforms = matrix_and_discord()
    dispatcher = build_dispatcher(polled.sessions, platforms, polled.clock)

    await build_sprint_checks(polled.bot).check()
    await dispatcher.run_due()
    listed = without_links((await polled.ana.say("!sprint issues")).text)
    assert "#101" not in listed and "#102" not in listed
    assert (
        "#3 scikit-learn/scikit-learn#103 'Task 103, retitled' · everyone · held by Nina" in listed
    )
    told = [without_links(to_plain(r.body())) for r in platforms["matrix"].replies.values()]
    assert told == [
        "Sprint issue #1 scikit-learn/scikit-learn#101, which you held, left the sprint list: "
        "closed on GitHub, which counts as done by you. Thank you."
    ]
    assert [target for target, _ in platforms["matrix"].posted.values()] == ["user:@nina:x"]
    async with polled.sessions() as session:
        done = await completions_since(session, polled.clock.now - timedelta(days=1))
    assert done == [polled.clock.now], "#101 done by Nina; #102, held by nobody, only left"
    again = await nina.say("!sprint issue done 1")
    assert again.text == "#1 is already done, by Nina."


async def test_a_claim_is_said_on_the_github_issue_when_configured(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_GITHUB_TOKEN", "ghp_test0123456789")
    data = settings(github.url, token_env="TEST_GITHUB_TOKEN").model_dump(mode="json")
    data["forge"]["comment_on_claim"] = True
    world = World(sessions, parse_settings(data))
    github.repo(REPO).issues[101] = issue(REPO, 101, title="Task 101")
    await world.ana.say(f"!sprint issue add https://github.com/{REPO}/issues/101")
    nina = world.platform.person("@nina:x", name="Nina")
    await nina.say("!whoami")
    await world.ana.say("!forge confirm github nina-q @nina:x")

    said = await nina.say("!sprint claim 1")
    assert "A comment on the issue now says it is taken; if you stop" in said.text
    assert github.repo(REPO).comments == [
        (
            101,
            "This issue is taken for the sprint by @nina-q (noted by Convene).",
            "token ghp_test0123456789",
        )
    ]


@pytest.mark.parametrize("kind", ["gitlab", "forgejo"])
async def test_a_gitlab_or_forgejo_login_is_linked_by_its_bio(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub, kind: str
) -> None:
    base = github.url + ("/api/v4" if kind == "gitlab" else "/api/v1")
    forges = [{"kind": kind, "base_url": base, "web_url": f"https://{kind}.example"}]
    world = World(sessions, parse_settings({"forge": {"forges": forges}}))
    github.users["lea.dev"] = ("Hello", [])
    name = {"gitlab": "GitLab", "forgejo": "Forgejo"}[kind]

    said = await world.ana.say(f"!forge link {kind} nobody")
    assert f"{name} has no user nobody" in said.text
    said = await world.ana.say(f"!forge link {kind} lea.dev")
    code = re.search(r"convene-[0-9a-f]{12}", said.text)
    assert code is not None, said.text
    assert f"in your {name} profile's bio, then type" in said.text
    said = await world.ana.say(f"!forge link {kind} lea.dev")
    assert f"The code {code[0]} is not in lea.dev's bio yet" in said.text
    github.users["lea.dev"] = (f"Hello {code[0]}", [])
    said = await world.ana.say(f"!forge link {kind} lea.dev")
    assert f"Linked: {name}'s lea.dev is you." in said.text
    assert f"Forge accounts: {kind}.example lea.dev." in (await world.ana.say("!whoami")).text


# Sprint issues read from GitLab and Forgejo.

ISSUE_FORGES = {
    "gitlab": ("/api/v4", "https://gitlab.com", GITLAB, "-/issues", "GitLab"),
    "forgejo": ("/api/v1", "https://codeberg.org", CODEBERG, "issues", "Forgejo"),
}


@pytest.mark.parametrize("kind", ["gitlab", "forgejo"])
async def test_sprint_issues_are_read_from_gitlab_and_forgejo(
    sessions: async_sessionmaker[AsyncSession],
    github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    api, web, project, infix, name = ISSUE_FORGES[kind]
    monkeypatch.setenv("TEST_FORGE_TOKEN", "forge-token-0123")
    forges = [
        {
            "kind": kind,
            "base_url": github.url + api,
            "web_url": web,
            "repositories": [project],
            "token_env": "TEST_FORGE_TOKEN",
        }
    ]
    config = parse_settings({"forge": {"forges": forges, "comment_on_claim": True}})
    world = World(sessions, config)
    host = web.removeprefix("https://")

    def put(number: int, title: str, **fields: Any) -> None:
        if kind == "gitlab":
            if "state" in fields:
                fields["state"] = {"open": "opened"}.get(fields["state"], fields["state"])
            github.gitlab_issues.setdefault(project, {})[number] = gitlab_issue(
                project, number, title=title, **fields
            )
        else:
            github.repo(project).issues[number] = forgejo_issue(
                project, number, title=title, **fields
            )

    put(7, "Explain the release schedule", labels=("sprint", "docs"))
    put(8, "Old question", state="closed", labels=("sprint",))
    put(9, "Translate the front page", labels=("sprint",))
    put(10, "Add a dark theme", labels=("design",))

    def link(number: int, where: str = project) -> str:
        return f"{web}/{where}/{infix}/{number}"

    said = await world.ana.say(f"!sprint issue add {link(7)} newcomers")
    assert not said.reply.error, said.text
    listed = plain((await world.ana.say("!sprint issues")).text)
    assert f"#1 {project}#7 'Explain the release schedule' [sprint,docs] · newcomers" in listed

    refusals = {
        link(8): f"{project}#8 is closed on {host}; list an open issue.",
        link(99): f"{host} has no open issue {project}#99",
        link(3, "nobody/nothing"): f"{host} has no open issue nobody/nothing#3",
        "https://github.com/numpy/numpy/issues/1": (
            f"github.com is not a forge Convene reads; it reads {host}."
        ),
        f"{web}/{project}/pulls/3": f"That is not the address of an issue on {host}.",
    }
    if kind == "forgejo":
        github.repo(project).issues[11] = forgejo_issue(project, 11, title="A PR", pull=True)
        refusals[link(11)] = f"{host} has no open issue {project}#11"
    for address, refusal in refusals.items():
        said = await world.ana.say(f"!sprint issue add {address}")
        assert said.reply.error and refusal in said.text, (address, said.text)
    listed = plain((await world.ana.say("!sprint issues")).text)
    assert listed.count(project) == 1, listed

    said = await world.ana.say(f"!sprint issue import {project} label=sprint")
    assert plain(said.text) == (
        f"Listed 1 for everyone: #2 {project}#9 'Translate the front page' [sprint]. "
        "1 was listed already."
    )
    said = await world.ana.say(f"!sprint issue import {web}/nobody/nothing label=sprint")
    assert f"{host} has no repository nobody/nothing." in said.text
    said = await world.ana.say("!sprint issue import https://github.com/numpy/numpy label=sprint")
    assert f"github.com is not a forge Convene reads; it reads {host}." in said.text
    assert "by its address, e.g. !sprint issue import " in said.text
    async with world.sessions() as session:
        stored = (await session.exec(select(func.count()).select_from(SprintIssue))).one()
    assert stored == 2

    nina = world.platform.person("@nina:x", name="Nina")
    await nina.say("!whoami")
    await world.ana.say(f"!forge confirm {kind} nina-q @nina:x")
    said = await nina.say("!sprint claim 1")
    assert "A comment on the issue now says it is taken" in said.text
    body = "This issue is taken for the sprint by @nina-q (noted by Convene)."
    if kind == "gitlab":
        assert github.notes == [(project, 7, body, "forge-token-0123")]
    else:
        assert github.repo(project).comments == [(7, body, "token forge-token-0123")]
    await nina.say("!sprint claim 2")

    if kind == "gitlab":
        github.gitlab_issues[project][7]["state"] = "closed"
        github.gitlab_issues[project][9]["assignees"] = [{"username": "someone"}]
    else:
        github.repo(project).issues[7]["state"] = "closed"
        github.repo(project).issues[9]["assignees"] = [{"login": "someone"}]
    platforms = matrix_and_discord()
    dispatcher = build_dispatcher(world.sessions, platforms, world.clock)
    await build_sprint_checks(world.bot).check()
    await dispatcher.run_due()
    assert "No sprint issue" in (await world.ana.say("!sprint issues")).text
    told = [plain(to_plain(r.body())) for r in platforms["matrix"].replies.values()]
    assert told == [
        f"Sprint issue #1 {project}#7, which you held, left the sprint list: closed on {name}, "
        "which counts as done by you. Thank you.",
        f"Sprint issue #2 {project}#9, which you held, left the sprint list: "
        f"assigned on {name} to someone.",
    ]


# What polling sees without webhooks: merges, and its ETags kept in the store.


async def test_a_first_pull_request_merged_is_celebrated_once_when_only_a_poll_sees_it(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub
) -> None:
    data = settings(github.url).model_dump(mode="json")
    data["rooms"] = [{"name": "lobby", "matrix_room_id": "!l:x", "purposes": ["welcome"]}]
    world = World(sessions, parse_settings(data))
    mira = world.platform.person("@mira:x", name="Mira")
    await mira.say("!whoami")
    await world.ana.say("!forge confirm github mira-dev @mira:x")
    first = {
        "title": "Typo in the glossary",
        "author": "mira-dev",
        "association": "FIRST_TIME_CONTRIBUTOR",
    }
    github.add(REPO, pull_request(REPO, 8, created=NOW - timedelta(hours=1), **first))
    github.add(REPO, pull_request(REPO, 2, created=NOW - timedelta(days=30)))
    github.repo("numpy/numpy")
    poller = build_forge_poller(world.bot)
    platforms = matrix_and_discord()
    dispatcher = build_dispatcher(world.sessions, platforms, world.clock)
    await poller.poll(forge(world))
    await dispatcher.run_due()

    world.clock.now = NOW + timedelta(hours=2)
    merged = pull_request(
        REPO, 8, created=NOW - timedelta(hours=1), updated=world.clock.now, merged=True, **first
    )
    merged["author_association"] = "CONTRIBUTOR"  # as GitHub says once it is merged
    github.add(REPO, merged)
    closed = pull_request(REPO, 2, created=NOW - timedelta(days=30), updated=world.clock.now)
    github.add(REPO, {**closed, "state": "closed"})
    await poller.poll(forge(world))
    assert "No pull request is waiting for a review." in (await world.ana.say("!review queue")).text
    assert [(pull.number, pull.state) for pull in await world.stored()] == [
        (2, "closed"),
        (8, "merged"),
    ]

    app = make_web_app(
        world.bot.runtime, world.bot, {}, lambda: {}, webhooks=world.house.contributions.webhooks
    )
    async with TestClient(TestServer(app)) as client:
        payload = event_payload("pull_request/closed", REPO, action="closed", pull_request=merged)
        assert await deliver(client, "pull_request", payload, "d-merged") == (200, "ok\n")
    await poller.poll(forge(world))
    await dispatcher.run_due()
    posts = [without_links(to_plain(r.body())) for r in platforms["matrix"].replies.values()]
    assert posts == [
        "🎉 Mira opened their first pull request to scikit-learn/scikit-learn: "
        "scikit-learn/scikit-learn#8 'Typo in the glossary'. Welcome!",
        "🎉 Mira's first pull request to scikit-learn/scikit-learn was merged: "
        "scikit-learn/scikit-learn#8 'Typo in the glossary'. Thank you!",
    ]


async def test_gitlab_merges_are_seen_by_polling(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub
) -> None:
    forges = [
        {
            "kind": "gitlab",
            "base_url": github.url + "/api/v4",
            "web_url": "https://gitlab.com",
            "repositories": [GITLAB],
        }
    ]
    world = World(sessions, parse_settings({"forge": {"forges": forges}}))
    github.gitlab[GITLAB] = {
        iid: gitlab_listed(GITLAB, iid, created=NOW - timedelta(hours=iid)) for iid in (1, 2, 3)
    }
    poller = build_forge_poller(world.bot)
    await poller.poll(world.bot.runtime.env.section(ForgeSettings).forges[0])
    github.gitlab[GITLAB][2].update(state="merged", updated_at="2026-12-07T16:00:00Z")
    github.gitlab[GITLAB][3].update(state="closed", updated_at="2026-12-07T16:00:00Z")
    await poller.poll(world.bot.runtime.env.section(ForgeSettings).forges[0])
    assert [(pull.number, pull.state) for pull in await world.stored()] == [
        (1, "open"),
        (2, "merged"),
        (3, "closed"),
    ]
    assert "Review queue: 1 waiting" in (await world.ana.say("!review queue")).text


async def test_the_etags_in_the_store_are_shared_and_only_what_is_still_asked(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_GITHUB_TOKEN", "ghp_test0123456789")
    config = settings(github.url, token_env="TEST_GITHUB_TOKEN")
    polled = World(sessions, config)
    for number in range(1, 121):
        github.add(REPO, pull_request(REPO, number, created=NOW - timedelta(hours=number)))
    github.repo("numpy/numpy")
    await build_forge_poller(polled.bot).poll(forge(polled))
    async with polled.sessions() as session:
        kept = {
            row.url.removeprefix(github.url): row
            for row in (await session.exec(select(ForgeEtag))).all()
        }
    ci = [url for url in kept if "/commits/" in url]
    assert len(ci) == 4  # status and check runs of #1 and #2, pushed to within two hours
    assert sorted(set(kept) - set(ci)) == sorted(
        [
            f"/repos/{REPO}/pulls?state=open&per_page=100",
            f"/repos/{REPO}/pulls?state=open&per_page=100&page=2",
            f"/repos/{REPO}/pulls?state=closed&sort=updated&direction=desc&per_page=100",
            "/repos/numpy/numpy/pulls?state=open&per_page=100",
            "/repos/numpy/numpy/pulls?state=closed&sort=updated&direction=desc&per_page=100",
        ]
    )
    first_page = kept[f"/repos/{REPO}/pulls?state=open&per_page=100"]
    assert len(first_page.body) < 500 * 100  # trimmed to what is read: about 400 bytes each

    # Another instance polls after a change: the first one's next poll uses what it stored.
    for number in range(1, 31):
        del github.repo(REPO).pulls[number]
    other = World(polled.sessions, config)
    await build_forge_poller(other.bot).poll(forge(other))
    github.requests.clear()
    poller = build_forge_poller(polled.bot)
    assert (await poller.poll(forge(polled))).changed == []
    assert list(github.statuses()) == [304] * 4
    async with polled.sessions() as session:
        urls = (await session.exec(select(ForgeEtag.url))).all()
    assert not any(url.endswith("page=2") for url in urls)  # 90 fit on one page now
    assert not any("/commits/" in url for url in urls)  # #1 and #2 were closed


def test_a_trimmed_listing_reads_as_the_full_one() -> None:
    samples = [
        (from_github, pull_request(REPO, 3, created=NOW, requested=("ana",), labels=("docs",))),
        (from_github, forgejo_pull_request(CODEBERG, 4, created=NOW, merged=True)["pull_request"]),
        (from_gitlab_api, gitlab_listed(GITLAB, 5, created=NOW, reviewers=("kim",))),
    ]
    for read, full in samples:
        assert read(trim(full)) == read(full)


async def test_ci_finishing_after_a_push_is_seen_by_the_next_poll(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_GITHUB_TOKEN", "ghp_test0123456789")
    polled = World(sessions, settings(github.url, token_env="TEST_GITHUB_TOKEN"))
    pull = github.add(REPO, pull_request(REPO, 7, created=NOW - timedelta(minutes=30)))
    github.add(REPO, pull_request(REPO, 8, created=NOW - timedelta(days=3)))
    github.repo("numpy/numpy")
    sha = pull["head"]["sha"]
    github.repo(REPO).check_runs[sha] = [("in_progress", None), ("completed", "success")]
    poller = build_forge_poller(polled.bot)
    await poller.poll(forge(polled))
    assert "CI failing" not in await polled.queue()

    # The run ends; the pull request's `updated_at` does not move, so its listing is a 304.
    github.repo(REPO).check_runs[sha] = [("completed", "failure"), ("completed", "success")]
    github.requests.clear()
    polled.clock.now = NOW + timedelta(minutes=20)
    await poller.poll(forge(polled))
    assert "#7 'Fix the docs' by octocat · waiting 50 min · CI failing" in await polled.queue()
    asked = [path for path, status in github.requests if status == 200]
    assert asked == [f"/repos/{REPO}/commits/{sha}/check-runs?per_page=100"]

    # Finished: no more asking, however many polls.
    github.requests.clear()
    await poller.poll(forge(polled))
    assert not any("/commits/" in path for path, _ in github.requests)


@pytest.mark.parametrize("kind", ["gitlab", "forgejo"])
async def test_an_import_follows_every_page_of_the_forge(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub, kind: str
) -> None:
    api, web, project, _, _ = ISSUE_FORGES[kind]
    forges = [{"kind": kind, "base_url": github.url + api, "web_url": web}]
    world = World(sessions, parse_settings({"forge": {"forges": forges}}))
    for number in range(1, 131):
        if kind == "gitlab":
            found = gitlab_issue(project, number, title=f"Task {number}", labels=("sprint",))
            github.gitlab_issues.setdefault(project, {})[number] = found
        else:
            found = forgejo_issue(project, number, title=f"Task {number}", labels=("sprint",))
            github.repo(project).issues[number] = found

    said = await world.ana.say(f"!sprint issue import {web}/{project} label=sprint")
    assert plain(said.text).startswith(
        f"Listed 100 for everyone: #1 {project}#1 'Task 1' [sprint], #2 {project}#2 'Task 2'"
    ), said.text
    pages = [path for path, _ in github.requests if "/issues?" in path]
    # GitLab sorts oldest first: one page of 100 is enough; Forgejo takes no order, so every page (50 each) is read.
    assert len(pages) == (1 if kind == "gitlab" else 3)


# Sprint issues kept true by the forges' issue webhooks.

HOOK_SECRETS = {"github": SECRET, "gitlab": "gitlab-hook-token", "forgejo": "forgejo-hook-secret"}


class IssueForge:
    """One forge serving a few issues through the fake, and signing its issue webhooks."""

    def __init__(self, kind: str, github: FakeGitHub) -> None:
        self.kind = kind
        self.github = github
        self.project = {"github": REPO, "gitlab": GITLAB, "forgejo": CODEBERG}[kind]
        self.web = {"gitlab": "https://gitlab.com", "forgejo": "https://codeberg.org"}.get(
            kind, "https://github.com"
        )
        self.name = {"github": "GitHub", "gitlab": "GitLab", "forgejo": "Forgejo"}[kind]

    def settings(self) -> Settings:
        if self.kind == "github":
            return settings(self.github.url)
        api = "/api/v4" if self.kind == "gitlab" else "/api/v1"
        forge = {
            "kind": self.kind,
            "base_url": self.github.url + api,
            "web_url": self.web,
            "repositories": [self.project],
            "webhook_secret_env": "TEST_HOOK_SECRET",
        }
        return parse_settings({"forge": {"forges": [forge]}})

    def link(self, number: int) -> str:
        infix = "-/issues" if self.kind == "gitlab" else "issues"
        return f"{self.web}/{self.project}/{infix}/{number}"

    def put(self, number: int, title: str) -> None:
        if self.kind == "gitlab":
            issues = self.github.gitlab_issues.setdefault(self.project, {})
            issues[number] = gitlab_issue(self.project, number, title=title)
        elif self.kind == "forgejo":
            self.github.repo(self.project).issues[number] = forgejo_issue(
                self.project, number, title=title
            )
        else:
            self.github.repo(self.project).issues[number] = issue(self.project, number, title=title)

    def hook(
        self,
        action: str,
        number: int,
        delivery: str,
        *,
        title: str,
        closed: bool = False,
        labels: tuple[str, ...] = (),
        assignees: tuple[str, ...] = (),
        secret: str | None = None,
    ) -> tuple[str, tuple[dict[str, str], bytes]]:
        """The path and request of a signed issue delivery; *action* as GitHub names it."""
        secret = secret or HOOK_SECRETS[self.kind]
        state = "closed" if closed else "open"
        if self.kind == "gitlab":
            payload = gitlab_issue_event(
                self.project,
                number,
                title=title,
                action={"closed": "close"}.get(action, "update"),
                state="closed" if closed else "opened",
                labels=labels,
                assignees=assignees,
            )
            return "/forge/gitlab", gitlab_webhook(payload, secret, delivery, "Issue Hook")
        if self.kind == "forgejo":
            found = forgejo_issue(
                self.project, number, title=title, state=state, labels=labels, assignees=assignees
            )
            payload = forgejo_issue_event(action, self.project, found)
            return "/forge/forgejo", forgejo_webhook(payload, secret, delivery, "issues")
        found = issue(
            self.project, number, title=title, state=state, labels=labels, assignees=assignees
        )
        return "/forge/github", webhook(
            "issues", issue_event(action, self.project, found), secret, delivery
        )


@pytest.mark.parametrize("kind", ["github", "gitlab", "forgejo"])
async def test_issue_webhooks_change_sprint_issues_at_once(
    sessions: async_sessionmaker[AsyncSession],
    github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", HOOK_SECRETS[kind])
    forge = IssueForge(kind, github)
    world = World(sessions, forge.settings())
    for number in (7, 8, 9, 10):
        forge.put(number, f"Task {number}")
    for number in (7, 8, 9):
        said = await world.ana.say(f"!sprint issue add {forge.link(number)}")
        assert not said.reply.error, said.text
    nina = world.platform.person("@nina:x", name="Nina")
    await nina.say("!sprint claim 1")
    woken: list[bool] = []
    world.bot.runtime.bus.subscribe(ISSUES, lambda: woken.append(True))
    checks = build_sprint_checks(world.bot)
    platforms = matrix_and_discord()
    dispatcher = build_dispatcher(world.sessions, platforms, world.clock)
    app = make_web_app(
        world.bot.runtime, world.bot, {}, lambda: {}, webhooks=world.house.contributions.webhooks
    )

    async def listed() -> str:
        return plain((await world.ana.say("!sprint issues")).text)

    async def told() -> list[str]:
        await checks.reported()
        await dispatcher.run_due()
        return [plain(to_plain(r.body())) for r in platforms["matrix"].replies.values()]

    async def done() -> int:
        async with world.sessions() as session:
            return len(await completions_since(session, NOW - timedelta(days=1)))

    before = await listed()
    async with TestClient(TestServer(app)) as client:
        path, forged = forge.hook("closed", 7, "d-0", title="Task 7", closed=True, secret="bad")
        assert (await send(client, path, forged))[0] == 401
        async with world.sessions() as session:
            stored = (await session.exec(select(func.count()).select_from(IssueReport))).one()
        assert stored == 0 and woken == []
        assert await told() == [] and await listed() == before

        path, closed = forge.hook("closed", 7, "d-1", title="Task 7", closed=True)
        assert await send(client, path, closed) == (200, "ok\n")
        assert woken == [True]
        gone = (
            f"Sprint issue #1 {forge.project}#7, which you held, left the sprint list: closed "
            f"on {forge.name}, which counts as done by you. Thank you."
        )
        assert await told() == [gone]
        assert f"{forge.project}#7" not in await listed()
        assert await done() == 1

        assert await send(client, path, closed) == (200, "already handled\n")
        path, again = forge.hook("closed", 7, "d-2", title="Task 7", closed=True)
        assert await send(client, path, again) == (200, "ok\n")
        other_instance = build_sprint_checks(world.bot)
        await other_instance.reported()
        assert await told() == [gone], "the holder is told once"
        assert await done() == 1

        path, taken = forge.hook("assigned", 8, "d-3", title="Task 8", assignees=("someone",))
        assert await send(client, path, taken) == (200, "ok\n")
        await told()
        assert f"{forge.project}#8" not in await listed()

        path, edited = forge.hook("edited", 9, "d-4", title="Task 9, retitled", labels=("docs",))
        assert await send(client, path, edited) == (200, "ok\n")
        await told()
        assert f"#3 {forge.project}#9 'Task 9, retitled' [docs]" in await listed()

        kept = await listed()
        path, elsewhere = forge.hook("closed", 10, "d-5", title="Task 10", closed=True)
        assert await send(client, path, elsewhere) == (200, "ok\n")
        assert await told() == [gone]
        assert await listed() == kept
    assert await done() == 1


async def test_a_held_issue_deleted_on_github_leaves_the_list_without_counting_done(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub
) -> None:
    forge = IssueForge("github", github)
    world = World(sessions, forge.settings())
    forge.put(7, "Task 7")
    await world.ana.say(f"!sprint issue add {forge.link(7)}")
    await world.platform.person("@nina:x", name="Nina").say("!sprint claim 1")
    checks = build_sprint_checks(world.bot)
    platforms = matrix_and_discord()
    dispatcher = build_dispatcher(world.sessions, platforms, world.clock)
    app = make_web_app(
        world.bot.runtime, world.bot, {}, lambda: {}, webhooks=world.house.contributions.webhooks
    )
    async with TestClient(TestServer(app)) as client:
        path, deleted = forge.hook("deleted", 7, "d-1", title="Task 7")
        assert await send(client, path, deleted) == (200, "ok\n")
    await checks.reported()
    await dispatcher.run_due()
    assert "No sprint issue" in (await world.ana.say("!sprint issues")).text
    told = [plain(to_plain(r.body())) for r in platforms["matrix"].replies.values()]
    assert told == [
        f"Sprint issue #1 {REPO}#7, which you held, left the sprint list: "
        "deleted or moved on GitHub."
    ]
    async with world.sessions() as session:
        assert await completions_since(session, NOW - timedelta(days=1)) == []


async def test_a_delivery_that_commits_after_a_later_one_was_applied_is_applied_too(
    sessions: async_sessionmaker[AsyncSession], github: FakeGitHub
) -> None:
    forge = IssueForge("github", github)
    world = World(sessions, forge.settings())
    for number in (7, 8):
        forge.put(number, f"Task {number}")
        await world.ana.say(f"!sprint issue add {forge.link(number)}")
    checks = build_sprint_checks(world.bot)
    app = make_web_app(
        world.bot.runtime, world.bot, {}, lambda: {}, webhooks=world.house.contributions.webhooks
    )
    async with TestClient(TestServer(app)) as client:
        world.clock.now = NOW + timedelta(seconds=40)
        path, later = forge.hook("edited", 8, "d-1", title="Task 8, later")
        assert await send(client, path, later) == (200, "ok\n")
        await checks.reported()
        # Received before the delivery above, committed after the sprints cog read it.
        world.clock.now = NOW + timedelta(seconds=10)
        path, earlier = forge.hook("edited", 7, "d-2", title="Task 7, earlier")
        assert await send(client, path, earlier) == (200, "ok\n")
        await checks.reported()
    listed = plain((await world.ana.say("!sprint issues")).text)
    assert "'Task 7, earlier'" in listed and "'Task 8, later'" in listed
