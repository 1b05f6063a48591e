"""The organizers' pages, logged in through chat: what they show and what their forms change,
checked in chat and in the store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Reply, Role
from bot.core.env import Env
from bot.core.ports import SendResult
from bot.core.rooms import Room
from bot.delivery import Key, Outgoing, plan
from tests.support.clock import Clock
from tests.support.house import build_dispatcher
from tests.support.recording_platform import RecordingPlatform
from tests.support.web_site import Site, form_token, web_site

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
async def site(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Site]:
    async with web_site(sessions, Clock(NOW)) as site:
        yield site


async def test_the_mentor_queue_shows_waiting_and_claimed_requests_oldest_first(
    site: Site,
) -> None:
    ana = site.chat.person("@ana:x", name="Ana")
    bo = site.chat.person("@bo:x", name="Bo")
    nina = site.chat.person("@nina:x", Role.MENTOR, "Nina")
    await ana.say('!mentor request "dev setup" the C extensions fail to build on Windows')
    site.clock.now += timedelta(minutes=30)
    await bo.say('!mentor request "first issue" which one should I take?')
    site.clock.now += timedelta(minutes=30)
    await nina.say("!mentor claim 2")
    site.clock.now += timedelta(minutes=5)

    browser = await site.browser(nina)
    page = await browser.get("/mentoring/queue")
    text = await page.text()
    assert page.status == 200
    waiting, claimed = text.split('id="claimed"')
    assert "Waiting (1)" in waiting and "dev setup" in waiting
    assert "the C extensions fail to build on Windows" in waiting
    assert "Ana" in waiting and "1 h 5 min" in waiting
    assert "Claimed (1)" in claimed and "first issue" in claimed and "Nina" in claimed
    assert '<a href="/mentoring/queue" aria-current="page">Mentor queue</a>' in text
    assert "/faq/gaps" not in text, "a mentor is shown only the pages a mentor may open"


async def test_teaching_a_gap_from_the_page_makes_the_bot_answer_it(site: Site) -> None:
    omar = site.chat.person("@omar:x", Role.ORGANIZER, "Omar")
    ana = site.chat.person("@ana:x", name="Ana")
    await omar.say('!faq add run-tests "How do I run the tests?" "Run **pytest** from the root."')
    question = "where do i launch the checks"
    assert "run-tests" not in (await ana.say(f"!faq {question}")).text

    browser = await site.browser(omar)
    page = await (await browser.get("/faq/gaps")).text()
    assert f"“{question}”" in page
    assert "The bot now answers it" not in page
    assert '<label for="teach-entry-1">Entry that answers it</label>' in page
    response = await browser.post(
        "/faq/gaps?days=30",
        data={
            "csrf": form_token(page),
            "action": "teach",
            "question": question,
            "entry": "run-tests",
        },
        allow_redirects=False,
    )
    assert response.status == 303
    after = await (await browser.get(response.headers["Location"])).text()
    assert "Asking that question now answers with run-tests." in after
    assert "The bot now answers it with run-tests." in after
    assert "Run pytest from the root." in (await ana.say(f"!faq {question}")).text


async def test_adding_an_entry_from_the_page_and_a_mistake_explained(site: Site) -> None:
    omar = site.chat.person("@omar:x", Role.ORGANIZER, "Omar")
    ana = site.chat.person("@ana:x", name="Ana")
    await ana.say("!faq when is the community meeting")
    browser = await site.browser(omar)
    token = form_token(await (await browser.get("/faq/gaps")).text())
    form = {
        "csrf": token,
        "action": "add",
        "id": "Meetings!",
        "question": "When is the community meeting?",
        "answer": "Tuesdays at 17:00 UTC.",
        "tags": "",
    }
    wrong = await browser.post("/faq/gaps", data=form, allow_redirects=False)
    assert wrong.status == 400
    assert "must be up to 64 lowercase letters" in await wrong.text()
    added = await browser.post("/faq/gaps", data={**form, "id": "meetings"}, allow_redirects=False)
    assert added.status == 303
    assert "Tuesdays at 17:00 UTC." in (await ana.say("!faq when is the community meeting")).text


async def test_a_refused_message_is_sent_again_after_a_retry(
    site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    matrix = RecordingPlatform("matrix")
    dispatcher = build_dispatcher(sessions, {"matrix": matrix}, site.clock)
    room = Room("community", {"matrix": "!c:x"})
    async with sessions() as session:
        message = Outgoing(Key("test", "hello"), [room], lambda _: Reply("Hello all"), NOW)
        await plan(session, Env(), [message])
        await session.commit()
    matrix.script = [SendResult(error="M_FORBIDDEN: not in the room")]
    assert await dispatcher.run_due() == 1
    omar = site.chat.person("@omar:x", Role.ORGANIZER, "Omar")

    browser = await site.browser(omar)
    page = await (await browser.get("/deliveries/refused")).text()
    assert "M_FORBIDDEN: not in the room" in page and "Hello all" in page
    retried = await browser.post(
        "/deliveries/refused",
        data={"csrf": form_token(page), "delivery": "1"},
        allow_redirects=False,
    )
    assert retried.status == 303
    assert (
        "queued to be sent again now"
        in await (await browser.get(retried.headers["Location"])).text()
    )
    assert await dispatcher.run_due() == 1
    assert [text for _, text in matrix.posted.values()] == ["Hello all"]
    assert (
        "No platform refused a message." in await (await browser.get("/deliveries/refused")).text()
    )


async def test_people_and_their_linked_accounts(site: Site) -> None:
    omar = site.chat.person("@omar:x", Role.ORGANIZER, "Omar")
    await site.chat.person("@ana:x", name="Ana").say("!whoami")
    browser = await site.browser(omar)
    page = await (await browser.get("/people")).text()
    assert 'Matrix: @ana:x <span class="muted">(contributor)</span>' in page
    assert 'Matrix: @omar:x <span class="muted">(organizer)</span>' in page
    found = await (await browser.get("/people", params={"q": "an"})).text()
    assert "@ana:x" in found and "@omar:x" not in found
