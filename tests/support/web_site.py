"""The web pages as `convene run` serves them: every cog's pages, the real login, one store,
behind an aiohttp test server on a free loopback port, with a chat platform beside it to ask
for login links and to see what the pages changed."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.assembly import Assembly, assemble
from bot.web import make_web_app
from bot.web_login import WebLogin
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser

_LINK = re.compile(r"https?://[^\s<>]+(/login/[A-Za-z0-9_-]+)")


@dataclass
class Site:
    house: Assembly
    client: TestClient
    clock: Clock
    chat: FakePlatform
    browsers: list[TestClient] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.client.make_url("")).rstrip("/")

    async def login_path(self, user: FakeUser) -> str:
        """The path of the link `web login` sends *user*, e.g. /login/abc…"""
        said = await user.say("!web login")
        assert said.reply.private, said.text
        found = _LINK.search(said.text)
        assert found is not None, said.text
        return found.group(1)

    async def browser(self, user: FakeUser | None = None) -> TestClient:
        """A browser of its own (cookies kept for the loopback address), logged in as *user*
        through the link `web login` sends them, when given. Closed with the site."""
        client = TestClient(
            self.client.server, cookie_jar=CookieJar(unsafe=True), headers={"Origin": self.url}
        )
        await client.start_server()
        self.browsers.append(client)
        if user is not None:
            assert await self.log_in(client, await self.login_path(user)) == 303
        return client

    async def log_in(self, client: TestClient, path: str) -> int:
        """Open the link's page and press its button: the status of the answer (303 when
        logged in)."""
        form = login_form(await (await client.get(path)).text())
        response = await client.post("/login", data=form, allow_redirects=False)
        return response.status


@asynccontextmanager
async def web_site(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, *, secure: bool = False
) -> AsyncIterator[Site]:
    house = assemble(sessions, clock=clock)
    pages = house.contributions.pages
    gate = WebLogin(sessions, clock, secure=secure)
    app = make_web_app(
        house.runtime,
        house.router,
        pages,
        lambda: {"console": True},
        templates=house.contributions.templates,
        gate=gate,
    )
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        house.runtime.env.web.listening = str(client.make_url("")).rstrip("/")
        site = Site(house, client, clock, FakePlatform(house.router))
        try:
            yield site
        finally:
            for browser in site.browsers:
                await browser.close()


def form_token(page: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "the page has no form token"
    return found.group(1)


def login_form(page: str) -> dict[str, str]:
    """The hidden fields of a login link's page: the link's secret and the browser's proof."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
