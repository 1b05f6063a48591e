"""`web login` through the real App: on Discord the link comes back as an ephemeral answer,
never in what the channel shows; on Matrix (a real Synapse) in a direct message, never in the
room. It names `[web] public_url` when set, else where the server listens, and opens a session
on the App's own web server, its cookie Secure only behind https."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.config import WebSettings
from bot.web_login import COOKIE
from tests.support.bot_harness import running
from tests.support.discord_bot import discord_settings_with_mentors, ever_shown, filled
from tests.support.discord_fixtures import CONTRIBUTOR, GENERAL, GUILD_ID, MENTOR
from tests.support.fake_discord import FakeDiscord
from tests.support.matrix_world import World, ask, invited_rooms, joined, make_world
from tests.support.synapse import Synapse
from tests.support.web_site import login_form

pytestmark = pytest.mark.e2e

PUBLIC = "https://convene.example.org"


async def test_web_login_on_discord_is_for_the_caller_alone(
    sqlite_url: str, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = discord_settings_with_mentors(fake_discord, sqlite_url, monkeypatch)
    web = WebSettings(enabled=True, port=0, public_url=PUBLIC)
    config = config.model_copy(update={"web": web})
    async with running(config) as app:
        await fake_discord.wait_commands_synced(GUILD_ID)
        refused = await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "web login")
        assert refused.ephemeral and "Only mentors" in await filled(refused)

        answer = await fake_discord.slash(GUILD_ID, GENERAL.id, MENTOR, "web login")
        text = await filled(answer)
        assert answer.ephemeral
        found = re.search(re.escape(PUBLIC) + r"/login/([A-Za-z0-9_-]+)", text)
        assert found, text
        token = found.group(1)
        assert token not in ever_shown(fake_discord)

        assert app.web_url is not None
        async with aiohttp.ClientSession(headers={"Origin": PUBLIC}) as browser:
            url = f"{app.web_url}/login"
            page = await browser.get(f"{url}/{token}")
            # Secure cookies, which a client reaching the server over http keeps to itself.
            opened = {"Cookie": f"convene_login={page.cookies['convene_login'].value}"}
            form = login_form(await page.text())
            response = await browser.post(url, data=form, headers=opened, allow_redirects=False)
            assert response.status == 303
            assert response.cookies[COOKIE]["secure"]
            again = await browser.post(url, data=form, headers=opened, allow_redirects=False)
            assert again.status == 403


@pytest.fixture
async def world(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[World]:
    yield await make_world(synapse, tmp_path, monkeypatch)


async def test_web_login_on_matrix_arrives_in_a_direct_message(world: World) -> None:
    config = world.settings.model_copy(update={"web": WebSettings(enabled=True, port=0)})
    async with running(config) as app:
        await joined(app, world.room)
        pointer = await ask(world, world.omar, "!web login")
        assert pointer["content"]["body"] == "I've sent you the answer in a direct message."
        (dm,) = await invited_rooms(world.synapse, world.omar)
        await world.synapse.join(world.omar, dm)
        sent = await world.synapse.wait_for_message(
            world.omar, dm, sender=world.bot.user_id, predicate=lambda e: "/login/" in str(e)
        )
        found = re.search(r"(http://[^\s<>]+)/login/([A-Za-z0-9_-]+)", sent["content"]["body"])
        assert found is not None and found.group(1) == app.web_url
        room = await world.synapse.messages(world.omar, world.room)
        assert not any(found.group(2) in json.dumps(e) for e in room), "the link is not in the room"
        async with aiohttp.ClientSession(
            headers={"Origin": app.web_url}, cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as browser:
            page = await browser.get(f"{app.web_url}/login/{found.group(2)}")
            form = login_form(await page.text())
            response = await browser.post(f"{app.web_url}/login", data=form, allow_redirects=False)
            assert response.status == 303
            assert not response.cookies[COOKIE]["secure"], "the server is reached over http"
