"""The public sprint-issue and FAQ pages through the web server, on SQLite and PostgreSQL:
what a visitor without a login sees of what organizers curated in chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import parse_settings
from bot.core import Role
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser
from tests.support.house import build_house, build_web_app

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SETTINGS = parse_settings({})


@pytest.fixture
async def world(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[FakeUser, FakeUser, TestClient]]:  # type: ignore[type-arg]
    house = build_house(sessions, SETTINGS, clock=Clock(T0))
    platform = FakePlatform(house.router)
    omar = platform.person("@omar:x", Role.ORGANIZER, "Omar")
    nina = platform.person("@nina:x", name="Nina Secret")
    async with TestClient(TestServer(build_web_app(house))) as client:
        yield omar, nina, client


async def ok(user: FakeUser, line: str) -> str:
    said = await user.say(line)
    assert not said.reply.error, said.text
    return said.text


async def page(client: TestClient, path: str, **query: str) -> str:  # type: ignore[type-arg]
    response = await client.get(path, params=query)
    text = await response.text()
    assert response.status == 200, text
    return text


async def test_sprint_issues_show_free_taken_and_waiting_without_names(
    world: tuple[FakeUser, FakeUser, TestClient],  # type: ignore[type-arg]
) -> None:
    omar, nina, client = world
    await ok(
        omar,
        '!event create "Newcomer sprint" start="2026-11-28 10:00" kind=sprint tier=newcomers',
    )
    await ok(omar, "!sprint issue add https://github.com/python/cpython/issues/1 everyone")
    await ok(omar, "!sprint issue add https://github.com/python/cpython/issues/2 everyone")
    await ok(omar, "!sprint issue add https://github.com/python/cpython/issues/3 newcomers 1")
    await ok(nina, "!sprint claim 2")
    text = await page(client, "/sprints")
    rows = text.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert "python/cpython#1" in rows[0] and "free: <code>!sprint claim 1</code>" in rows[0]
    assert "(Discord: <code>/sprint claim number:1</code>)" in rows[0]
    assert (
        "type <code>!sprint claim &lt;number&gt;</code> "
        "(Discord: <code>/sprint claim number:…</code>) in chat"
    ) in text
    assert "python/cpython#3" in rows[1] and "Newcomer sprint" in rows[1]
    assert '<time datetime="2026-11-28T10:00:00Z" data-local>' in rows[1]
    assert "python/cpython#2" in rows[2] and "taken" in rows[2]
    assert "Nina" not in text
    only = await page(client, "/sprints", tier="newcomers")
    assert "cpython#3" in only and "cpython#1<" not in only


async def test_the_faq_lists_entries_and_searches_with_the_chat_matcher(
    world: tuple[FakeUser, FakeUser, TestClient],  # type: ignore[type-arg]
) -> None:
    omar, nina, client = world
    await ok(
        omar,
        '!faq add tests "How do I run the tests?" "Run <code>make test</code> from the checkout." '
        "testing,pytest",
    )
    await ok(omar, '!faq add licence "What licence is the code under?" "MIT."')
    text = await page(client, "/faq")
    assert '<article id="tests">' in text and "What licence is the code under?" in text
    assert "Run &lt;code&gt;make test&lt;/code&gt;" in text
    chat = await ok(nina, "!faq how do i run the test suite")
    assert "make test" in chat
    found = await page(client, "/faq", q="how do i run the test suite")
    results = found.split('id="results"')[1].split("</section>")[0]
    assert results.index('href="#tests"') < results.index("the bot's answer")
    assert "licence" not in results
    nothing = await page(client, "/faq", q="zzz qqq")
    assert "No entry matches" in nothing
    refused = await page(client, "/faq", q="???")
    assert "Ask your question in words." in refused
