"""Every page that needs a login and every form, tried by whoever should not get through:
nobody logged in, a contributor, a mentor on an organizer's page, a forged, expired or used
link, a forged or expired session, and forms without or with a wrong CSRF token. No personal
data may show and the store must stay as it was, row for row."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Reply, Role
from bot.core.env import Env
from bot.core.pages import PageSpec
from bot.core.ports import SendResult
from bot.core.rooms import Room
from bot.delivery import Key, Outgoing, plan
from bot.identity import account_of
from bot.web_login import COOKIE, IDLE, LINK_LIFETIME, issue_link
from tests.support.clock import Clock
from tests.support.hostile import digest
from tests.support.house import build_dispatcher
from tests.support.recording_platform import RecordingPlatform
from tests.support.web_site import Site, form_token, login_form, web_site

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
# What the seeded store knows that only the pages behind a login may show.
PERSONAL = ("Quokka", "@quokka:x", "ZEBRA-DETAILS", "xylophone pipeline", "Walrus notice")


@pytest.fixture
async def site(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Site]:
    async with web_site(sessions, Clock(NOW)) as site:
        quokka = site.chat.person("@quokka:x", name="Quokka")
        await quokka.say('!mentor request "build" ZEBRA-DETAILS on my laptop')
        await quokka.say("!faq xylophone pipeline")
        await _refused_message(sessions, site.clock)
        yield site


async def _refused_message(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
    matrix = RecordingPlatform("matrix")
    matrix.script = [SendResult(error="M_FORBIDDEN")]
    room = Room("community", {"matrix": "!c:x"})
    async with sessions() as session:
        message = Outgoing(Key("test", "w"), [room], lambda _: Reply("Walrus notice"), NOW)
        await plan(session, Env(), [message])
        await session.commit()
    assert await build_dispatcher(sessions, {"matrix": matrix}, clock).run_due() == 1


def _guarded(site: Site) -> list[PageSpec]:
    return [spec for spec in site.house.contributions.pages.values() if spec.role is not None]


def _forms(site: Site) -> list[PageSpec]:
    return [spec for spec in site.house.contributions.pages.values() if "POST" in spec.methods]


def _path(spec: PageSpec) -> str:
    return spec.path.replace("{", "").replace("}", "")


async def _nothing_shown(site: Site, browser: TestClient, specs: list[PageSpec]) -> None:
    """Each page refuses *browser* and shows none of the store's personal data."""
    for spec in specs:
        for method in spec.methods:
            response = await browser.request(method, _path(spec), allow_redirects=False)
            text = await response.text()
            assert response.status in (401, 403), f"{method} {spec.path}: {response.status}"
            leaked = [word for word in PERSONAL if word in text]
            assert not leaked, f"{method} {spec.path} shows {leaked}"


async def _posts_change_nothing(
    site: Site,
    sessions: async_sessionmaker[AsyncSession],
    browser: TestClient,
    csrf: str | None,
    headers: dict[str, str] | None = None,
) -> None:
    """Every form, sent as a real one would be (a teach, an entry, a retry) with *csrf* as
    its token and *headers*, changes nothing in the store."""
    before = await digest(sessions)
    form = {
        "action": "add",
        "id": "pwned",
        "question": "xylophone pipeline",
        "answer": "pwned",
        "entry": "pwned",
        "delivery": "1",
    }
    if csrf is not None:
        form["csrf"] = csrf
    for spec in _forms(site):
        for action in ("add", "teach"):
            response = await browser.post(
                _path(spec), data={**form, "action": action}, headers=headers, allow_redirects=False
            )
            assert response.status in (401, 403), f"POST {spec.path}: {response.status}"
            assert not [word for word in PERSONAL if word in await response.text()]
    assert await digest(sessions) == before


async def test_there_are_pages_and_forms_to_try(site: Site) -> None:
    paths = {spec.path for spec in _guarded(site)}
    assert {"/mentoring/queue", "/faq/gaps", "/deliveries/refused", "/people"} <= paths
    assert {spec.path for spec in _forms(site)} >= {"/faq/gaps", "/deliveries/refused"}


async def test_nobody_logged_in_sees_and_changes_nothing(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    browser = await site.browser()
    await _nothing_shown(site, browser, _guarded(site))
    await _posts_change_nothing(site, sessions, browser, None)
    await _posts_change_nothing(site, sessions, browser, "guess")
    before = await digest(sessions)
    assert (await browser.post("/logout", allow_redirects=False)).status == 303
    assert await digest(sessions) == before


async def test_a_forged_session_cookie_is_nobody(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    browser = await site.browser()
    browser.session.cookie_jar.update_cookies({COOKIE: secrets.token_urlsafe(32)})
    await _nothing_shown(site, browser, _guarded(site))
    await _posts_change_nothing(site, sessions, browser, "guess")


async def test_a_contributor_cannot_log_in(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    quokka = site.chat.person("@quokka:x", name="Quokka")
    said = await quokka.say("!web login")
    assert said.reply.error and "Only mentors can use !web login" in said.text
    # A link made while they were a mentor opens nothing once chat says they are not.
    async with sessions() as session:
        account = await account_of(session, "matrix", "@quokka:x")
        assert account is not None
        token = await issue_link(session, account.person_id, site.clock())
        await session.commit()
    browser = await site.browser()
    assert await site.log_in(browser, f"/login/{token}") == 403
    await _nothing_shown(site, browser, _guarded(site))


async def test_a_mentor_demoted_in_chat_loses_the_pages_at_once(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    nina = site.chat.person("@nina:x", Role.ORGANIZER, "Nina")
    browser = await site.browser(nina)
    assert (await browser.get("/people")).status == 200
    csrf = form_token(await (await browser.get("/people")).text())
    nina.role = Role.CONTRIBUTOR
    await nina.say("!whoami")
    await _nothing_shown(site, browser, _guarded(site))
    await _posts_change_nothing(site, sessions, browser, csrf)


async def test_a_mentor_sees_no_organizer_page(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    browser = await site.browser(site.chat.person("@nina:x", Role.MENTOR, "Nina"))
    csrf = form_token(await (await browser.get("/mentoring/queue")).text())
    organizers = [spec for spec in _guarded(site) if spec.role == Role.ORGANIZER]
    assert organizers
    await _nothing_shown(site, browser, organizers)
    await _posts_change_nothing(site, sessions, browser, csrf)


async def test_forged_expired_and_used_links_open_nothing(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    omar = site.chat.person("@omar:x", Role.ORGANIZER, "Omar")
    used = await site.login_path(omar)
    assert await site.log_in(await site.browser(), used) == 303
    expired = await site.login_path(omar)
    site.clock.now += LINK_LIFETIME
    before = await digest(sessions)
    for path in (used, expired, f"/login/{secrets.token_urlsafe(32)}", "/login/x"):
        browser = await site.browser()
        assert await site.log_in(browser, path) == 403, path
        await _nothing_shown(site, browser, _guarded(site))
        await _posts_change_nothing(site, sessions, browser, None)
    assert (await (await site.browser()).post("/login", data={})).status == 403
    assert await digest(sessions) == before


async def test_an_expired_session_opens_nothing(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    browser = await site.browser(site.chat.person("@omar:x", Role.ORGANIZER, "Omar"))
    csrf = form_token(await (await browser.get("/people")).text())
    site.clock.now += IDLE
    await _nothing_shown(site, browser, _guarded(site))
    await _posts_change_nothing(site, sessions, browser, csrf)


async def test_an_organizer_form_needs_its_session_token(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    omar = site.chat.person("@omar:x", Role.ORGANIZER, "Omar")
    browser = await site.browser(omar)
    mine = form_token(await (await browser.get("/people")).text())
    other = await site.browser(site.chat.person("@lea:x", Role.ORGANIZER, "Lea"))
    theirs = form_token(await (await other.get("/people")).text())
    assert mine != theirs
    for csrf in (None, "", "x" * len(mine), theirs):
        await _posts_change_nothing(site, sessions, browser, csrf)
    before = await digest(sessions)
    logout = await browser.post("/logout", data={"csrf": theirs}, allow_redirects=False)
    assert logout.status == 403
    assert await digest(sessions) == before
    site.clock.now += timedelta(seconds=1)
    assert (await browser.get("/people")).status == 200


FOREIGN = "https://evil.example"


async def test_a_form_sent_from_another_site_writes_nothing(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """An organizer's own browser, with a good session and token, sending every form from
    another site's page (its `Origin`, or only its `Referer`), or naming no origin at all."""
    omar = site.chat.person("@omar:x", Role.ORGANIZER, "Omar")
    browser = await site.browser(omar)
    csrf = form_token(await (await browser.get("/people")).text())
    bare = TestClient(site.client.server, cookie_jar=browser.session.cookie_jar)
    await bare.start_server()
    site.browsers.append(bare)
    assert {"/events/manage/new", "/events/manage/{id}/edit"} <= {s.path for s in _forms(site)}
    for headers in (
        {"Origin": FOREIGN},
        {"Origin": "null"},
        {"Origin": site.url.replace("127.0.0.1", "localhost")},
    ):
        await _posts_change_nothing(site, sessions, browser, csrf, headers)
    await _posts_change_nothing(site, sessions, bare, csrf, {"Referer": f"{FOREIGN}/page"})
    await _posts_change_nothing(site, sessions, bare, csrf)
    before = await digest(sessions)
    for path in ("/logout", "/login"):
        sent = await browser.post(
            path, data={"csrf": csrf}, headers={"Origin": FOREIGN}, allow_redirects=False
        )
        assert sent.status == 403, path
    assert await digest(sessions) == before
    assert (await browser.get("/people")).status == 200, "still logged in"
    await omar.say('!event create "Core call" start="2026-12-07 17:00" tz=UTC')
    before = await digest(sessions)
    for path in ("/events/manage/1/cancel", "/events/manage/1/delete"):
        sent = await browser.post(
            path,
            data={"csrf": csrf, "confirm": "yes"},
            headers={"Origin": FOREIGN},
            allow_redirects=False,
        )
        assert sent.status == 403, path
    assert await digest(sessions) == before
    form = {"csrf": csrf, "action": "add", "question": "xylophone pipeline"}
    here = {"Referer": f"{site.url}/faq/gaps"}
    added = await bare.post(
        "/faq/gaps",
        data={**form, "id": "pipes", "answer": "Ask Lea."},
        headers=here,
        allow_redirects=False,
    )
    assert added.status == 303, "the same form from our own page is taken"
    assert await digest(sessions) != before


async def test_a_login_link_logs_in_only_the_browser_that_opened_it(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Login CSRF: another site cannot post someone's login link (its own owner's) from a
    victim's browser, which never opened that link's page."""
    omar = site.chat.person("@omar:x", Role.ORGANIZER, "Omar")
    path, another = await site.login_path(omar), await site.login_path(omar)
    opener = await site.browser()
    form = login_form(await (await opener.get(path)).text())
    victim = await site.browser()
    other = login_form(await (await victim.get(another)).text())
    before = await digest(sessions)
    for data in (form, {"token": form["token"]}, {**form, "proof": "0" * 64}):
        refused = await victim.post("/login", data=data, allow_redirects=False)
        assert refused.status == 403
        assert COOKIE not in refused.cookies
    mixed = await victim.post(
        "/login", data={"token": form["token"], "proof": other["proof"]}, allow_redirects=False
    )
    assert mixed.status == 403, "the victim's cookie is for another link"
    assert await digest(sessions) == before, "the link is not spent"
    assert (await victim.get("/people")).status == 401
    assert (await opener.post("/login", data=form, allow_redirects=False)).status == 303
    assert (await opener.get("/people")).status == 200
