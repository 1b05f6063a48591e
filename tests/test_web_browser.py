"""The organizer pages in a real browser: Debian's headless Chromium driven by Playwright.

Logs in through the link the bot sends in chat, reads the mentor queue, teaches the FAQ a
phrasing from the gaps page with the keyboard alone and sees the bot answer it in chat, then
cancels and deletes an event from its page with the keyboard and reads what that did.
Screenshots go to `test-output/`. Chromium is Debian's (`apt-get install chromium`; `.ci/run`
installs it when missing), so Playwright downloads no browser of its own."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Role
from tests.support.clock import Clock
from tests.support.web_site import Site, web_site

playwright = pytest.importorskip("playwright.async_api")

CHROMIUM = os.environ.get("CONVENE_CHROMIUM", "/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
QUESTION = "where do i launch the checks"

# Every visible form control has a label a screen reader announces.
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
    .filter((e) => e.type !== "hidden" && e.labels.length === 0)
    .map((e) => e.name)"""


@pytest.fixture
def chromium() -> str:
    if shutil.which(CHROMIUM) is None:
        message = f"Chromium is not at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
async def site(sqlite_sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[Site]:
    async with web_site(sqlite_sessions, Clock(NOW)) as site:
        yield site


async def test_an_organizer_logs_in_from_chat_and_teaches_the_faq(
    site: Site, chromium: str
) -> None:
    omar = site.chat.person("@omar:x", Role.ORGANIZER, "Omar")
    ana = site.chat.person("@ana:x", name="Ana")
    await omar.say('!faq add run-tests "How do I run the tests?" "Run **pytest** from the root."')
    await ana.say('!mentor request "dev setup" the C extensions fail to build on Windows')
    site.clock.now += timedelta(minutes=40)
    await site.chat.person("@bo:x", name="Bo").say('!mentor request "first issue" which one?')
    site.clock.now += timedelta(minutes=10)
    await omar.say("!mentor claim 2")
    site.clock.now += timedelta(minutes=15)
    assert "run-tests" not in (await ana.say(f"!faq {QUESTION}")).text
    await omar.say(
        '!event create "Newcomer sprint" start="2026-12-12 10:00" tz=UTC kind=sprint '
        "link=https://meet.example.org/sprint"
    )
    await omar.say("!sprint issue add https://github.com/o/r/issues/1 newcomers 1")
    said = await omar.say("!web login")
    link = next(word.strip("<>") for word in said.text.split() if "/login/" in word)
    OUTPUT.mkdir(exist_ok=True)

    async with playwright.async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=chromium, headless=True)
        page = await browser.new_page(viewport={"width": 1100, "height": 800})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        await page.goto(link)
        await playwright.expect(page.get_by_role("button", name="Log in")).to_be_focused()
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.url}/")
        assert "/login/" not in page.url
        await playwright.expect(page.locator(".who")).to_contain_text("Omar (organizer)")

        await page.get_by_role("link", name="Mentor queue").click()
        await playwright.expect(page.get_by_role("heading", name="Waiting (1)")).to_be_visible()
        await playwright.expect(page.get_by_text("the C extensions fail to build")).to_be_visible()
        await playwright.expect(page.get_by_role("heading", name="Claimed (1)")).to_be_visible()
        await page.screenshot(path=OUTPUT / "mentor-queue.png", full_page=True)

        await page.get_by_role("link", name="FAQ gaps").click()
        assert await page.evaluate(UNLABELLED) == []
        await page.get_by_label("Phrasing to teach").first.focus()
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.name") == "entry"
        await page.get_by_label("Entry that answers it").first.select_option("run-tests")
        await page.screenshot(path=OUTPUT / "faq-gaps.png", full_page=True)
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent") == "Teach"
        await page.keyboard.press("Enter")
        await playwright.expect(page.get_by_role("status")).to_have_text(
            "Taught. Asking that question now answers with run-tests."
        )
        await page.screenshot(path=OUTPUT / "faq-taught.png", full_page=True)

        for path in ("/people", "/deliveries/refused"):
            await page.goto(site.url + path)
            assert await page.evaluate(UNLABELLED) == []

        await page.goto(f"{site.url}/events/manage/1")
        assert await page.evaluate(UNLABELLED) == []
        await page.get_by_label("Remove the link").focus()
        await page.get_by_role("button", name="Cancel event #1").focus()
        await page.keyboard.press("Enter")
        await playwright.expect(page.get_by_role("status")).to_have_text(
            "Cancelled #1 Newcomer sprint: no further occurrences. Sprint issue #1 was kept "
            "for newcomers until this sprint; anyone can claim it now. To take one off the "
            "list: !sprint issue remove 1."
        )
        await playwright.expect(page.get_by_text("Cancelled.", exact=True)).to_be_visible()
        await page.screenshot(path=OUTPUT / "event-cancelled.png", full_page=True)
        await page.get_by_label("Yes, delete event #1 and its RSVPs").focus()
        await page.keyboard.press("Space")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent") == "Delete"
        await page.keyboard.press("Enter")
        await playwright.expect(page.get_by_role("status")).to_have_text(
            "Deleted #1 Newcomer sprint."
        )
        await page.get_by_role("button", name="Log out").focus()
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{site.url}/")
        await playwright.expect(page.locator(".who")).to_have_text("")
        await browser.close()

    assert problems == []
    assert "Run pytest from the root." in (await ana.say(f"!faq {QUESTION}")).text
