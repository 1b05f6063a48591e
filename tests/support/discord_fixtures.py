"""A fake Discord with a small, realistic community, and discord.py pointed at it.

The fixture function is named apart from its fixture so that importing it into a
test module (`from tests.support.discord_fixtures import fake_discord_server  # noqa: F401`)
does not trip ruff's F811 on every test that takes `fake_discord` as a parameter.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import discord
import pytest
import pytest_asyncio
import yarl

from tests.support.fake_discord import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeRole,
    FakeUser,
    Permission,
)

APPLICATION_ID = 1_300_000_000_000_000_001
BOT_USER_ID = 1_300_000_000_000_000_002
GUILD_ID = 1_300_000_000_000_000_100

GENERAL = FakeChannel(1_300_000_000_000_000_201, "general")
ANNOUNCEMENTS = FakeChannel(1_300_000_000_000_000_202, "announcements", type=5)
MENTORS_CHANNEL = FakeChannel(1_300_000_000_000_000_203, "mentors")

ORGANIZERS = FakeRole(
    1_300_000_000_000_000_301,
    "Organizers",
    permissions=Permission.MANAGE_EVENTS | Permission.MANAGE_MESSAGES | Permission.MENTION_EVERYONE,
)
MENTORS = FakeRole(1_300_000_000_000_000_302, "Mentors")

ORGANIZER = FakeUser(1_300_000_000_000_000_401, "olivia", role_ids=[ORGANIZERS.id])
MENTOR = FakeUser(1_300_000_000_000_000_402, "marco", role_ids=[MENTORS.id])
CONTRIBUTOR = FakeUser(1_300_000_000_000_000_403, "casey")

TEST_GUILD = FakeGuild(
    GUILD_ID,
    "Test Guild",
    channels=[GENERAL, ANNOUNCEMENTS, MENTORS_CHANNEL],
    roles=[ORGANIZERS, MENTORS],
    members=[ORGANIZER, MENTOR, CONTRIBUTOR],
)


@pytest_asyncio.fixture(name="fake_discord")
async def fake_discord_server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(
        application_id=APPLICATION_ID, bot_user_id=BOT_USER_ID, guilds=[TEST_GUILD]
    ) as fake:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
        )
        yield fake


@asynccontextmanager
async def running_client(
    client: discord.Client, fake: FakeDiscord
) -> AsyncIterator[discord.Client]:
    """Runs ``client`` against ``fake`` until the block exits.

    Logs in before connecting because ``wait_until_ready`` only works once
    ``login`` has bound the client to the loop. ``on_ready`` waits
    ``guild_ready_timeout`` (2s by default) after the last guild arrives, so
    clients under test should pass a small one.
    """
    await client.login(fake.token)
    connection = asyncio.create_task(client.connect(), name="discord-client")
    ready = asyncio.create_task(client.wait_until_ready())
    await asyncio.wait(
        {connection, ready}, timeout=fake.wait_timeout, return_when=asyncio.FIRST_COMPLETED
    )
    try:
        if connection.done():
            connection.result()
            raise RuntimeError("the client stopped before it became ready")
        if not ready.done():
            raise TimeoutError(f"the client was not ready after {fake.wait_timeout}s")
        yield client
    finally:
        ready.cancel()
        await client.close()
        await connection
