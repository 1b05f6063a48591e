"""Logging in to the web pages from chat: the link, the session, its end, and its forms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Role
from bot.web_login import COOKIE
from tests.support.clock import Clock
from tests.support.web_site import Site, login_form, web_site

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
async def site(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Site]:
    async with web_site(sessions, Clock(NOW)) as site:
        yield site


async def test_a_mentor_logs_in_with_the_link_from_chat(site: Site) -> None:
    nina = site.chat.person("@nina:x", Role.MENTOR, "Nina")
    path = await site.login_path(nina)
    browser = await site.browser()
    page = await browser.get(path)
    assert page.status == 200
    assert page.headers["Referrer-Policy"] == "same-origin"
    text = await page.text()
    assert '<button type="submit" autofocus>Log in</button>' in text
    assert "It stops working when used, or after 10 min." in text
    response = await browser.post("/login", data=login_form(text), allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/"
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    front = await browser.get("/")
    assert "Nina (mentor)" in await front.text()
    assert front.headers["Cache-Control"] == "no-store"


async def test_the_cookie_is_secure_behind_https(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with web_site(sessions, Clock(NOW), secure=True) as site:
        path = await site.login_path(site.chat.person("@nina:x", Role.MENTOR))
        browser = await site.browser()
        page = await browser.get(path)
        assert page.cookies["convene_login"]["secure"]
        form = login_form(await page.text())
        cookie = {"Cookie": f"convene_login={page.cookies['convene_login'].value}"}
        response = await browser.post("/login", data=form, headers=cookie, allow_redirects=False)
        assert response.cookies[COOKIE]["secure"]


async def test_a_contributor_gets_no_link(site: Site) -> None:
    said = await site.chat.person("@new:x", Role.CONTRIBUTOR).say("!web login")
    assert said.reply.error
    assert "Only mentors can use !web login" in said.text


async def test_a_link_works_once(site: Site) -> None:
    path = await site.login_path(site.chat.person("@nina:x", Role.MENTOR))
    assert await site.log_in(await site.browser(), path) == 303
    again = await site.browser()
    assert await site.log_in(again, path) == 403
    assert "Log out" not in await (await again.get("/")).text()


async def test_a_link_expires_after_ten_minutes(site: Site) -> None:
    path = await site.login_path(site.chat.person("@nina:x", Role.MENTOR))
    site.clock.now += timedelta(minutes=10)
    assert await site.log_in(await site.browser(), path) == 403


async def test_only_digests_are_stored(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    path = await site.login_path(site.chat.person("@nina:x", Role.MENTOR))
    token = path.rsplit("/", 1)[1]
    browser = await site.browser()
    await site.log_in(browser, path)
    sid = next(c.value for c in browser.session.cookie_jar if c.key == COOKIE)
    async with sessions() as session:
        stored = [
            str(value)
            for table in ("web_link", "web_session")
            for row in await session.exec(text(f"SELECT * FROM {table}"))  # type: ignore[call-overload]
            for value in row
        ]
    assert stored
    assert not any(token in value or sid in value for value in stored)


async def test_a_session_ends_when_idle_and_at_logout(site: Site) -> None:
    user = site.chat.person("@nina:x", Role.MENTOR, "Nina")
    browser = await site.browser()
    await site.log_in(browser, await site.login_path(user))
    site.clock.now += timedelta(hours=11)
    assert "Nina (mentor)" in await (await browser.get("/")).text()
    site.clock.now += timedelta(hours=12)
    assert "Nina (mentor)" not in await (await browser.get("/")).text()

    await site.log_in(browser, await site.login_path(user))
    front = await (await browser.get("/")).text()
    csrf = front.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    refused = await browser.post("/logout", data={"csrf": "wrong"}, allow_redirects=False)
    assert refused.status == 403
    out = await browser.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert out.status == 303
    assert "Nina (mentor)" not in await (await browser.get("/")).text()


async def test_a_session_lasts_a_week_at_most(site: Site) -> None:
    user = site.chat.person("@nina:x", Role.MENTOR, "Nina")
    browser = await site.browser()
    await site.log_in(browser, await site.login_path(user))
    for _ in range(14):
        site.clock.now += timedelta(hours=11)
        await browser.get("/")
    assert "Nina (mentor)" in await (await browser.get("/")).text()
    site.clock.now += timedelta(days=2)
    assert "Nina (mentor)" not in await (await browser.get("/")).text()


async def test_the_role_is_read_from_the_store_on_every_request(site: Site) -> None:
    user = site.chat.person("@nina:x", Role.MENTOR, "Nina")
    browser = await site.browser()
    await site.log_in(browser, await site.login_path(user))
    assert "Nina (mentor)" in await (await browser.get("/")).text()
    user.role = Role.CONTRIBUTOR
    await user.say("!whoami")
    assert "Nina (" not in await (await browser.get("/")).text()


async def test_forgetting_a_person_ends_their_sessions(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    user = site.chat.person("@nina:x", Role.MENTOR, "Nina")
    browser = await site.browser(user)
    await site.login_path(user)
    exported = await user.say("!me export")
    assert exported.reply.attachment is not None
    assert '"web_sessions"' in exported.reply.attachment.content
    await user.say("!me forget confirm")
    assert "Nina (" not in await (await browser.get("/")).text()
    async with sessions() as session:
        for table in ("web_link", "web_session"):
            count = (await session.exec(text(f"SELECT count(*) FROM {table}"))).one()  # type: ignore[call-overload]
            assert count == (0,), table
