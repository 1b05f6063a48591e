"""Event management pages for organizers, on SQLite and PostgreSQL. Until the web login exists
the server refuses them to everyone, so these call the page handlers as the server does once
it has let an organizer through, and check what the commands see afterwards."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.assembly import Assembly
from bot.config import parse_settings
from bot.core import Role
from bot.core.pages import PageRequest, Redirect, View, Viewer
from tests.support.clock import Clock
from tests.support.fake_platform import FakePlatform, FakeUser
from tests.support.house import build_house, build_web_app
from tests.support.let_in import LetIn

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ORGANIZER = Viewer(1, "Omar", Role.ORGANIZER)


@pytest.fixture
def house(sessions: async_sessionmaker[AsyncSession]) -> Assembly:
    return build_house(sessions, parse_settings({}), clock=Clock(T0))


@pytest.fixture
async def omar(house: Assembly) -> FakeUser:
    omar = FakePlatform(house.router).person("@omar:x", Role.ORGANIZER, "Omar")
    await omar.say("!whoami")
    return omar


async def post(house: Assembly, path: str, form: Mapping[str, str], **ids: str) -> Redirect:
    spec = house.contributions.pages[path]
    assert spec.role == Role.ORGANIZER and spec.methods == ("POST",)
    answer = await spec.handler(
        PageRequest({}, T0, method="POST", form=form, viewer=ORGANIZER, path=ids)
    )
    assert isinstance(answer, Redirect)
    return answer


async def get(house: Assembly, path: str, query: Mapping[str, str], **ids: str) -> View:
    answer = await house.contributions.pages[path].handler(
        PageRequest(query, T0, viewer=ORGANIZER, path=ids)
    )
    assert isinstance(answer, View)
    return answer


def told(redirect: Redirect) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(redirect.location).query).items()}


async def text(user: FakeUser, line: str) -> str:
    return (await user.say(line)).text


async def test_create_from_the_form_is_what_event_create_makes(
    house: Assembly, omar: FakeUser
) -> None:
    done = await post(
        house,
        "/events/manage/new",
        {
            "title": "Core call",
            "start": "2026-12-07 17:00",
            "tz": "Europe/Paris",
            "repeat": "weekly",
            "csrf": "x",
        },
    )
    assert done.location.startswith("/events/manage/1?")
    assert told(done) == {"done": "Created event #1."}
    shown = await text(omar, "!event show 1")
    assert "Every week on Monday, 17:00 Europe/Paris (60 min) · meeting · everyone" in shown
    view = await get(house, "/events/manage/{id}", told(done), id="1")
    assert view.context["done"] == "Created event #1."


async def test_a_refused_form_comes_back_with_the_commands_message_and_what_was_typed(
    house: Assembly, omar: FakeUser
) -> None:
    form = {"title": "Core call", "start": "2026-12-07 17:00", "tz": "Mars/Olympus"}
    back = await post(house, "/events/manage/new", form)
    chat = await text(omar, '!event create "Core call" start="2026-12-07 17:00" tz=Mars/Olympus')
    assert told(back)["problem"] in chat
    assert told(back)["title"] == "Core call"
    past = await post(house, "/events/manage/new", {"title": "Late", "start": "2020-01-01 10:00"})
    assert told(past)["problem"].startswith("2020-01-01 10:00 is in the past.")
    long = await post(
        house, "/events/manage/new", {"title": "x" * 201, "start": "2027-01-01 10:00"}
    )
    assert told(long)["problem"] == "title is too long (201 characters; at most 200)."
    odd = await post(
        house, "/events/manage/new", {"title": "T", "start": "2027-01-01 10:00", "kind": "party"}
    )
    assert told(odd)["problem"].startswith("kind must be one of: meeting, sprint")
    assert "No events" in await text(omar, "!event list")


async def test_edit_skip_and_move_from_the_forms(house: Assembly, omar: FakeUser) -> None:
    await omar.say(
        '!event create "Core call" start="2026-12-07 17:00" tz=Europe/Paris repeat=weekly'
    )
    page = await get(house, "/events/manage/{id}", {}, id="1")
    values = dict(page.context["values"])  # type: ignore[call-overload]
    edited = await post(
        house,
        "/events/manage/{id}/edit",
        {**values, "title": "Core sync", "duration": "90"},
        id="1",
    )
    assert told(edited) == {"done": "Updated: duration, title."}
    skipped = await post(house, "/events/manage/{id}/skip", {"date": "2026-12-14"}, id="1")
    assert told(skipped) == {"done": "Skipped the occurrence of Mon 14 Dec 2026."}
    moved = await post(
        house,
        "/events/manage/{id}/move",
        {"date": "2026-12-21", "start": "2026-12-22 18:00"},
        id="1",
    )
    assert told(moved)["done"].startswith("Moved the occurrence of Mon 21 Dec 2026 to Tue 22 Dec")
    shown = await text(omar, "!event show 1")
    assert "Core sync" in shown and "(90 min)" in shown
    assert "14 Dec" not in shown and "Tue 22 Dec 2026 18:00 CET" in shown
    again = await post(house, "/events/manage/{id}/skip", {"date": "2026-12-14"}, id="1")
    chat = await text(omar, "!event skip 1 2026-12-14")
    assert told(again)["problem"] in chat
    missing = await post(house, "/events/manage/{id}/skip", {"date": "2026-12-28"}, id="9")
    assert (
        told(missing)["problem"] == "There is no event #9. See the upcoming ones with !event list."
    )


async def test_the_pages_render_and_every_post_answers_see_other(
    house: Assembly, omar: FakeUser
) -> None:
    async with TestClient(TestServer(build_web_app(house, LetIn(ORGANIZER)))) as client:
        form = {"csrf": "token", "title": "Docs <day>", "start": "2026-12-05 10:00"}
        origin = {"Origin": str(client.make_url("")).rstrip("/")}
        created = await client.post(
            "/events/manage/new", data=form, headers=origin, allow_redirects=False
        )
        assert created.status == 303
        page = await client.get(created.headers["Location"])
        body = await page.text()
        assert page.status == 200
        assert "Docs &lt;day&gt;" in body and "Created event #1." in body
        assert '<input type="hidden" name="csrf" value="token">' in body
        for field in ("skip-date", "move-date", "move-start", "title", "tz", "kind"):
            assert f'<label for="{field}">' in body and f'id="{field}"' in body
        listing = await (await client.get("/events/manage")).text()
        assert '<a href="/events/manage/1">#1 Docs &lt;day&gt;</a>' in listing
        assert '<label for="title">Title</label>' in listing
        nothing = await client.get("/events/manage/7")
        assert nothing.status == 400
        assert "There is no event #7." in await nothing.text()


async def test_cancel_and_delete_from_the_page_say_what_the_commands_say(
    house: Assembly, omar: FakeUser
) -> None:
    for name in ("Newcomer sprint", "Docs sprint"):
        await omar.say(f'!event create "{name}" start="2026-12-07 17:00" tz=UTC kind=sprint')
    for n in (1, 2):
        url = f"https://github.com/o/r/issues/{n}"
        assert not (await omar.say(f"!sprint issue add {url} newcomers {n}")).reply.error
    cancelled = await post(house, "/events/manage/{id}/cancel", {}, id="1")
    assert cancelled.location.startswith("/events/manage/1?")
    assert told(cancelled)["done"] == (
        "Cancelled #1 Newcomer sprint: no further occurrences. Sprint issue #1 was kept for "
        "newcomers until this sprint; anyone can claim it now. To take one off the list: "
        "!sprint issue remove 1."
    )
    assert "cancelled" in (await text(omar, "!event show 1")).lower()
    nina = FakePlatform(house.router).person("@nina:x", Role.CONTRIBUTOR, "Nina")
    assert "You have #1" in await text(nina, "!sprint claim 1")
    again = await post(house, "/events/manage/{id}/cancel", {}, id="1")
    assert told(again)["problem"] == "Event #1 is already cancelled."
    page = await get(house, "/events/manage/{id}", {}, id="1")
    assert page.context["event"].cancelled_at is not None  # type: ignore[union-attr]

    unconfirmed = await post(house, "/events/manage/{id}/delete", {}, id="2")
    assert told(unconfirmed)["problem"] == "Tick the box to confirm deleting event #2."
    assert "Docs sprint" in await text(omar, "!event show 2")
    deleted = await post(house, "/events/manage/{id}/delete", {"confirm": "yes"}, id="2")
    assert deleted.location.startswith("/events/manage?")
    assert told(deleted)["done"] == (
        "Deleted #2 Docs sprint. Sprint issue #2 was kept for newcomers until this sprint; "
        "anyone can claim it now. To take one off the list: !sprint issue remove 2."
    )
    assert "There is no event #2" in await text(omar, "!event show 2")


async def test_a_link_and_details_are_removed_from_the_form_or_from_chat(
    house: Assembly, omar: FakeUser
) -> None:
    await omar.say(
        '!event create "Core call" start="2026-12-07 17:00" tz=UTC '
        "link=https://meet.example.org/core description=Agenda"
    )
    page = await get(house, "/events/manage/{id}", {}, id="1")
    values = dict(page.context["values"])  # type: ignore[call-overload]
    kept = await post(house, "/events/manage/{id}/edit", {**values, "link": ""}, id="1")
    assert "Link: https://meet.example.org/core" in await text(omar, "!event show 1"), told(kept)
    cleared = await post(
        house,
        "/events/manage/{id}/edit",
        {**values, "clear-link": "yes", "clear-description": "yes"},
        id="1",
    )
    assert told(cleared) == {"done": "Updated: description, link."}
    shown = await text(omar, "!event show 1")
    assert "Link:" not in shown and "Agenda" not in shown
    await omar.say("!event edit 1 link=https://meet.example.org/x description=Notes")
    assert "Notes" in await text(omar, "!event show 1")
    said = await text(omar, "!event edit 1 link=none description=none")
    assert said == "Updated #1 Core call: description, link."
    shown = await text(omar, "!event show 1")
    assert "Link:" not in shown and "Notes" not in shown
