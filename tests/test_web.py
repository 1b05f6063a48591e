"""The web server's shared part: templates that escape, pages that need a role, forms that
need a session. The login itself is tested with the cog that provides it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.context import Role
from bot.core.pages import PageRequest, PageSpec, Redirect, View
from bot.web import make_web_app
from tests.support.house import build_bot

HOSTILE = "<script>alert(1)</script>"


async def echo(request: PageRequest) -> View:
    return View("message.html", {"message": request.query.get("q", "")}, title="Echo")


async def change(request: PageRequest) -> Redirect:
    return Redirect("/")


PAGES = {
    "/echo": PageSpec("/echo", echo, title="Echo"),
    "/queue": PageSpec("/queue", echo, role=Role.ORGANIZER, title="Queue"),
    "/change": PageSpec("/change", change, role=Role.ORGANIZER, methods=("POST",)),
}


@pytest.fixture
async def client(sqlite_sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[TestClient]:
    bot = build_bot(sqlite_sessions)
    app = make_web_app(bot.runtime, bot, PAGES, lambda: {"console": True})
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_the_front_page_lists_commands_and_platforms(client: TestClient) -> None:
    response = await client.get("/")
    text = await response.text()
    assert response.status == 200
    assert response.content_type == "text/html"
    assert "Connected: console" in text
    assert "<code>!whoami</code> (Discord: <code>/whoami</code>)" in text
    assert "<code>!link [code]</code> (Discord: <code>/link [code:…]</code>)" in text


async def test_what_a_page_shows_is_escaped(client: TestClient) -> None:
    response = await client.get("/echo", params={"q": HOSTILE})
    text = await response.text()
    assert HOSTILE not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


async def test_the_navigation_shows_only_pages_the_viewer_may_see(client: TestClient) -> None:
    text = await (await client.get("/")).text()
    assert '<a href="/echo">Echo</a>' in text
    assert "/queue" not in text


async def test_a_page_for_organizers_asks_a_stranger_to_log_in(client: TestClient) -> None:
    response = await client.get("/queue")
    text = await response.text()
    assert response.status == 401
    assert "type !web login in chat (Discord: /web login)" in text


async def test_a_post_without_a_session_changes_nothing(client: TestClient) -> None:
    response = await client.post("/change", data={"x": "1"}, allow_redirects=False)
    assert response.status == 401
