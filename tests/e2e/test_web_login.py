"""`web login` on Discord through the real App: the link comes back only to the caller (an
ephemeral answer, never in what the channel shows), names `[web] public_url`, and opens a
session on the App's own web server, its cookie Secure since that address is https."""

from __future__ import annotations

import re

import aiohttp
import pytest

from bot.config import WebSettings
from bot.web_login import COOKIE
from tests.e2e.test_discord_privacy import ever_shown, filled, settings
from tests.support.bot_harness import running
from tests.support.discord_fixtures import CONTRIBUTOR, GENERAL, GUILD_ID, MENTOR
from tests.support.fake_discord import FakeDiscord

pytestmark = pytest.mark.e2e

PUBLIC = "https://convene.example.org"


async def test_web_login_on_discord_is_for_the_caller_alone(
    sqlite_url: str, fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = settings(fake_discord, sqlite_url, monkeypatch)
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
        async with aiohttp.ClientSession() as browser:
            url = f"{app.web_url}/login"
            response = await browser.post(url, data={"token": token}, allow_redirects=False)
            assert response.status == 303
            assert response.cookies[COOKIE]["secure"]
            again = await browser.post(url, data={"token": token}, allow_redirects=False)
            assert again.status == 403
