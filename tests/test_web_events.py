"""The public calendar pages through the web server, on SQLite and PostgreSQL: what a visitor
without a login sees of the events organizers created in chat."""

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

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SETTINGS = parse_settings({"web": {"enabled": True, "public_url": "https://bot.example.org"}})


@pytest.fixture
async def world(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[FakeUser, TestClient]]:
    house = build_house(sessions, SETTINGS, clock=Clock(T0))
    omar = FakePlatform(house.router).person("@omar:x", Role.ORGANIZER, "Omar")
    async with TestClient(TestServer(build_web_app(house))) as client:
        yield omar, client


async def created(omar: FakeUser, line: str) -> None:
    said = await omar.say(line)
    assert not said.reply.error, said.text


async def page(client: TestClient, path: str, **query: str) -> str:
    response = await client.get(path, params=query)
    text = await response.text()
    assert response.status == 200, text
    return text


async def test_the_list_shows_upcoming_occurrences_in_utc_with_skips_and_moves(
    world: tuple[FakeUser, TestClient],
) -> None:
    omar, client = world
    await created(
        omar,
        '!event create "Core <meeting>" start="2026-12-07 17:00" tz=Europe/Paris repeat=weekly',
    )
    await created(omar, "!event skip 1 2026-12-14")
    await created(omar, '!event move 1 2026-12-21 "2026-12-22 18:00"')
    text = await page(client, "/events")
    assert "Core &lt;meeting&gt;" in text
    assert (
        '<time datetime="2026-12-07T16:00:00Z" data-local>Mon 7 Dec 2026 16:00 UTC</time>' in text
    )
    assert "2026-12-14T16:00:00Z" not in text
    assert '<time datetime="2026-12-22T17:00:00Z" data-local>' in text
    assert "(moved)" in text


async def test_filters_by_tier_and_kind_and_refuses_an_unknown_one(
    world: tuple[FakeUser, TestClient],
) -> None:
    omar, client = world
    await created(
        omar, '!event create "Newcomer sprint" start="2026-12-05 10:00" kind=sprint tier=newcomers'
    )
    await created(omar, '!event create "Core call" start="2026-12-06 10:00" tier=core')
    text = await page(client, "/events", tier="newcomers")
    assert "Newcomer sprint" in text
    assert "Core call" not in text
    assert '<option value="newcomers" selected>' in text
    text = await page(client, "/events", kind="meeting")
    assert "Core call" in text and "Newcomer sprint" not in text
    response = await client.get("/events", params={"tier": "vips"})
    assert response.status == 400
    assert "Unknown tier &#39;vips&#39;; use one of: everyone, newcomers" in await response.text()


async def test_the_month_and_week_put_each_occurrence_on_its_utc_day(
    world: tuple[FakeUser, TestClient],
) -> None:
    omar, client = world
    await created(omar, '!event create "Late call" start="2026-12-09 20:00" tz=America/New_York')
    month = await page(client, "/events/month")
    assert "<h1>December 2026</h1>" in month
    # 20:00 in New York is 01:00 UTC the next day: the 10th's cell holds it.
    cell = month.split('<time datetime="2026-12-10">10</time>')[1].split("</td>")[0]
    assert "Late call" in cell and '<time datetime="2026-12-10T01:00:00Z">01:00</time>' in cell
    assert 'href="?month=2027-01"' in month
    assert "Late call" not in await page(client, "/events/month", month="2027-01")
    week = await page(client, "/events/week", week="2026-12-10")
    assert "Week of Mon 7 Dec 2026" in week and "Late call" in week
    assert "Late call" not in await page(client, "/events/week", week="2026-12-17")


async def test_subscribe_links_per_tier_and_kind_open_the_feed(
    world: tuple[FakeUser, TestClient],
) -> None:
    omar, client = world
    await created(omar, '!event create "Docs day" start="2026-12-05 10:00" kind=docathon')
    text = await page(client, "/events")
    assert '<a href="webcal://bot.example.org/calendar.ics">Subscribe</a>' in text
    assert 'href="webcal://bot.example.org/calendar.ics?tier=newcomers"' in text
    assert 'href="https://bot.example.org/calendar.ics?kind=docathon"' in text
    feed = await client.get("/calendar.ics", params={"kind": "docathon"})
    assert "SUMMARY:Docs day" in await feed.text()
    other = await client.get("/calendar.ics", params={"kind": "sprint"})
    assert "Docs day" not in await other.text()
    assert feed.headers["ETag"] != other.headers["ETag"]


async def test_the_pages_show_a_change_made_in_chat_at_once(
    world: tuple[FakeUser, TestClient],
) -> None:
    omar, client = world
    await created(omar, '!event create "Office hours" start="2026-12-05 10:00" kind=office-hours')
    assert "Office hours" in await page(client, "/events/month")
    await created(omar, '!event edit 1 title="Mentor hours"')
    text = await page(client, "/events/month")
    assert "Mentor hours" in text and "Office hours" not in text
