"""`convene doctor` and `/doctor` on Discord, against the fake Discord: each room's channel and
the bot's permissions there (roles and channel overwrites, as discord.py computes them), the
privileged intents against the features and the Developer Portal, the servers, the token and
the clock. A healthy setup passes; each problem is one line and its fix, and exits 1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio
import yarl

from bot import rooms_store
from bot.__main__ import _examine, main
from bot.config import parse_settings
from bot.core.diagnose import Status
from bot.db import make_engine, make_sessions
from tests.support.bot_harness import running, settings_for
from tests.support.discord_bot import answered, text_of
from tests.support.fake_discord import (
    ApplicationFlag,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeOverwrite,
    FakeRole,
    FakeUser,
    Permission,
)
from tests.support.terminal import outcome

pytestmark = pytest.mark.e2e

APPLICATION_ID = 1_400_000_000_000_000_001
BOT_USER_ID = 1_400_000_000_000_000_002
GUILD_ID = 1_400_000_000_000_000_100
OTHER_GUILD_ID = 1_400_000_000_000_000_999
HELP = FakeChannel(1_400_000_000_000_000_201, "help")
NEWS = FakeChannel(
    1_400_000_000_000_000_202,
    "announcements",
    type=5,
    overwrites=[FakeOverwrite(GUILD_ID, deny=Permission.EMBED_LINKS)],
)
HIDDEN = FakeChannel(
    1_400_000_000_000_000_203,
    "staff",
    overwrites=[FakeOverwrite(GUILD_ID, deny=Permission.VIEW_CHANNEL)],
)
ORGANIZERS = FakeRole(1_400_000_000_000_000_301, "Organizers")
OLIVIA = FakeUser(1_400_000_000_000_000_401, "olivia", role_ids=[ORGANIZERS.id])
GUILD = FakeGuild(
    GUILD_ID,
    "Community",
    channels=[HELP, NEWS, HIDDEN],
    roles=[ORGANIZERS],
    members=[OLIVIA],
    bot_permissions=0,
)
CONTENT = ApplicationFlag.GATEWAY_MESSAGE_CONTENT_LIMITED
TOKEN_ENV = "CONVENE_TEST_DOCTOR_DISCORD_TOKEN"


@pytest_asyncio.fixture
async def fake(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[FakeDiscord]:
    flags = getattr(request, "param", CONTENT)
    async with FakeDiscord(
        application_id=APPLICATION_ID,
        bot_user_id=BOT_USER_ID,
        guilds=[GUILD],
        application_flags=flags,
    ) as server:
        monkeypatch.setattr(discord.http.Route, "BASE", server.api_base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway_url)
        )
        monkeypatch.setenv(TOKEN_ENV, server.token)
        yield server


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return str(value)


def config(
    fake: FakeDiscord,
    tmp_path: Path,
    rooms: list[tuple[str, int, list[str]]],
    **discord_settings: Any,
) -> Path:
    section = {
        "enabled": True,
        "token_env": TOKEN_ENV,
        "application_id": APPLICATION_ID,
        "guild_ids": [GUILD_ID],
        "api_base_url": fake.api_base,
        "gateway_url": fake.gateway_url,
        **discord_settings,
    }
    lines = [
        f'[store]\nurl = "sqlite:///{tmp_path}/bot.db"',
        "[console]\nenabled = false",
        f'[web]\nhost = "127.0.0.1"\nport = {free_port()}',
        "[discord]",
        *(f"{key} = {toml(value)}" for key, value in section.items()),
    ]
    for name, channel, purposes in rooms:
        lines.append(
            f'[[rooms]]\nname = "{name}"\ndiscord_channel_id = {channel}\n'
            f"purposes = {toml(purposes)}"
        )
    path = tmp_path / "convene.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def doctor(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """`convene doctor` in a thread of its own, while the fake Discord serves on this loop."""
    code = await asyncio.to_thread(main, ["doctor", "-c", str(path)])
    out, err = outcome(capsys)
    assert err == ""
    return code, out.splitlines()


def fix_of(lines: list[str], line: str) -> str:
    assert line in lines, "\n".join(lines)
    return lines[lines.index(line) + 1]


async def test_a_healthy_setup_passes(
    fake: FakeDiscord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(fake, tmp_path, [("help", HELP.id, ["help"])], message_content=True)
    code, lines = await doctor(path, capsys)
    assert code == 0, "\n".join(lines)
    assert "ok discord room help: #help: all 7 permissions it needs" in lines
    assert "ok discord intent Message Content: on, for FAQ auto-answer in #help" in lines
    assert "ok discord: logged in as Convene; in Community" in lines
    assert "ok clock: in sync with Discord (within 5 s)" in lines
    assert lines[-1] == "All good."


async def test_a_permission_an_overwrite_takes_away_is_named_with_where_to_give_it(
    fake: FakeDiscord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(fake, tmp_path, [("news", NEWS.id, ["announcements"])])
    code, lines = await doctor(path, capsys)
    assert code == 1
    problem = "PROBLEM discord room news: #announcements: the bot lacks 'Embed Links'"
    assert fix_of(lines, problem) == (
        "   fix: Allow 'Embed Links' for Convene in #announcements "
        "(Edit Channel → Permissions → Convene)"
    )


async def test_a_channel_the_bot_cannot_see_or_that_is_nowhere(
    fake: FakeDiscord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rooms = [("staff", HIDDEN.id, ["announcements"]), ("gone", 1_400_000_000_000_000_777, [])]
    path = config(fake, tmp_path, rooms, guild_ids=[GUILD_ID, OTHER_GUILD_ID])
    code, lines = await doctor(path, capsys)
    assert code == 1
    assert fix_of(lines, "PROBLEM discord room staff: #staff: the bot cannot see the channel") == (
        "   fix: Allow 'View Channel' for Convene in #staff (Edit Channel → Permissions → Convene)"
    )
    nowhere = (
        "PROBLEM discord room gone: channel 1400000000000000777 is in none of the bot's "
        "servers, or does not exist"
    )
    assert fix_of(lines, nowhere).startswith("   fix: copy the channel's id again")
    absent = f"PROBLEM discord: the bot is not in server {OTHER_GUILD_ID} ([discord] guild_ids)"
    invite = fix_of(lines, absent)
    assert invite.startswith("   fix: invite it: https://discord.com/oauth2/authorize?")
    assert f"client_id={APPLICATION_ID}" in invite


@pytest.mark.parametrize(
    ("fake", "setting", "expected", "fix"),
    [
        (
            CONTENT,
            False,
            "PROBLEM discord intent Message Content: needed for FAQ auto-answer in #help, and "
            "[discord] message_content is off",
            "   fix: set [discord] message_content = true",
        ),
        (
            0,
            False,
            "PROBLEM discord intent Message Content: needed for FAQ auto-answer in #help, and "
            "[discord] message_content is off",
            "   fix: turn on 'Message Content Intent' (Developer Portal → your application → "
            "Bot → Privileged Gateway Intents) and set [discord] message_content = true",
        ),
        (
            0,
            True,
            "PROBLEM discord intent Message Content: [discord] message_content is on but the "
            "intent is off in the Developer Portal: Discord refuses the connection (close "
            "code 4014)",
            "   fix: turn on 'Message Content Intent' (Developer Portal → your application → "
            "Bot → Privileged Gateway Intents), or set [discord] message_content = false",
        ),
    ],
    indirect=["fake"],
)
async def test_an_intent_that_does_not_match_the_features(
    fake: FakeDiscord,
    setting: bool,
    expected: str,
    fix: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = config(fake, tmp_path, [("help", HELP.id, ["help"])], message_content=setting)
    code, lines = await doctor(path, capsys)
    assert code == 1
    assert fix_of(lines, expected) == fix


async def test_welcomes_need_the_server_members_intent(
    fake: FakeDiscord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(fake, tmp_path, [("lobby", HELP.id, ["welcome"])])
    code, lines = await doctor(path, capsys)
    assert code == 1
    expected = (
        "PROBLEM discord intent Server Members: needed for welcomes in #help, and [discord] "
        "members_intent is off"
    )
    assert fix_of(lines, expected).startswith("   fix: turn on 'Server Members Intent'")


async def test_a_bot_in_no_server_gets_the_invite_link(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FakeDiscord(
        application_id=APPLICATION_ID, bot_user_id=BOT_USER_ID, guilds=[]
    ) as lonely:
        monkeypatch.setenv(TOKEN_ENV, lonely.token)
        monkeypatch.setattr(discord.http.Route, "BASE", lonely.api_base)
        code, lines = await doctor(config(lonely, tmp_path, [], guild_ids=[]), capsys)
    assert code == 1
    invite = fix_of(lines, "PROBLEM discord: the bot is in no server")
    assert invite.startswith("   fix: invite it: https://discord.com/oauth2/authorize?")
    # View Channel, Send Messages, Embed Links, Add Reactions, Read Message History, Create
    # Public Threads, Send Messages in Threads, Use Application Commands: nothing more.
    assert "permissions=311385214016" in invite
    assert "scope=bot+applications.commands" in invite


async def test_a_room_bound_from_chat_is_checked_too(
    fake: FakeDiscord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(fake, tmp_path, [])
    assert await asyncio.to_thread(main, ["db", "upgrade", "-c", str(path)]) == 0
    settings = parse_settings({"store": {"url": f"sqlite:///{tmp_path}/bot.db"}})
    engine = make_engine(settings.store.url)
    async with make_sessions(engine)() as session:
        now = datetime.now(UTC)
        await rooms_store.bind(session, [], "news", "discord", str(NEWS.id), ["announcements"], now)
        await session.commit()
    await engine.dispose()
    capsys.readouterr()
    code, lines = await doctor(path, capsys)
    assert code == 1
    assert "PROBLEM discord room news: #announcements: the bot lacks 'Embed Links'" in lines


async def test_a_rejected_token(
    fake: FakeDiscord,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "tok-s3cret-value")
    code, lines = await doctor(config(fake, tmp_path, []), capsys)
    assert code == 1
    assert fix_of(lines, "PROBLEM discord: Discord rejected the bot token") == (
        f"   fix: copy a new token (Developer Portal → Bot → Reset Token) into ${TOKEN_ENV}"
    )


async def test_a_clock_off_by_minutes(fake: FakeDiscord, tmp_path: Path) -> None:
    settings = parse_settings(
        {
            "store": {"url": f"sqlite:///{tmp_path}/bot.db"},
            "console": {"enabled": False},
            "web": {"enabled": False},
            "discord": {
                "enabled": True,
                "token_env": TOKEN_ENV,
                "application_id": APPLICATION_ID,
                "api_base_url": fake.api_base,
            },
        }
    )
    found = await _examine(settings, clock=lambda: datetime.now(UTC) + timedelta(minutes=3))
    [clock] = [finding for finding in found if finding.subject == "clock"]
    assert clock.status is Status.PROBLEM
    assert clock.text.startswith("this machine's clock is 18")
    assert "s ahead of Discord's: reminders go out that far off" in clock.text


async def test_slash_doctor_in_the_running_bot(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(
        f"sqlite+aiosqlite:///{tmp_path}/bot.db",
        discord={
            "enabled": True,
            "token_env": TOKEN_ENV,
            "application_id": APPLICATION_ID,
            "guild_ids": [GUILD_ID],
            "api_base_url": fake.api_base,
            "gateway_url": fake.gateway_url,
        },
        web={"enabled": True, "host": "127.0.0.1", "port": 0},
        rooms=[{"name": "news", "discord_channel_id": NEWS.id, "purposes": ["announcements"]}],
    )
    async with running(settings) as app:
        result = await answered(await fake.slash(GUILD_ID, HELP.id, OLIVIA, "doctor"))
        assert result.ephemeral
        text = text_of(result).replace("\\", "")  # Discord shows `\#` as `#`
        assert "PROBLEM discord room news: #announcements: the bot lacks 'Embed Links'" in text
        assert f"ok web: serving at {app.web_url}" in text
        assert "ok store: reachable, at the newest schema revision, writable" in text
