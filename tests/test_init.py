"""`convene init` against the fake Discord and a real Synapse: the organizer names a server,
channels, roles and rooms, and gets a file the real loader reads and `check-config` passes,
with no secret in it. Each bad answer is one line, a non-zero exit, and nothing written: no
settings file, no token file, no Matrix session left open."""

from __future__ import annotations

import asyncio
import io
import os
import select
import socket
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import aiohttp
import discord
import pytest
import pytest_asyncio

from bot.__main__ import main
from bot.config import checked_settings
from bot.init import Prompts, arguments, run
from bot.platforms.discord_setup import PERMISSIONS
from tests.support.bot_harness import running
from tests.support.fake_discord import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeRole,
    FakeUser,
)
from tests.support.matrix_fixtures import synapse_server  # noqa: F401
from tests.support.matrix_world import joined
from tests.support.synapse import MatrixUser, Synapse

pytestmark = pytest.mark.e2e

APPLICATION_ID = 1_400_000_000_000_000_001
BOT_USER_ID = 1_400_000_000_000_000_002
TOKEN = "init-test-bot-token"
PASSWORD = "init-test-pw-8c1f"

GENERAL = FakeChannel(1_400_000_000_000_000_201, "general")
NEWS = FakeChannel(1_400_000_000_000_000_202, "announcements", type=5)
MENTORS_CHANNEL = FakeChannel(1_400_000_000_000_000_203, "mentors")
CATEGORY = FakeChannel(1_400_000_000_000_000_204, "Text Channels", type=4)
VOICE = FakeChannel(1_400_000_000_000_000_205, "lounge", type=2)
# Two channels may share a name (in two categories).
HELP_EN = FakeChannel(1_400_000_000_000_000_206, "help")
HELP_FR = FakeChannel(1_400_000_000_000_000_207, "help")
ORGANIZERS = FakeRole(1_400_000_000_000_000_301, "Organizers")
MENTORS = FakeRole(1_400_000_000_000_000_302, "Mentors")
CORE = FakeRole(1_400_000_000_000_000_303, "Core team")
GUILD = FakeGuild(
    1_400_000_000_000_000_100,
    "Open Source Club",
    channels=[CATEGORY, GENERAL, NEWS, MENTORS_CHANNEL, VOICE, HELP_EN, HELP_FR],
    roles=[ORGANIZERS, MENTORS, CORE],
    members=[FakeUser(1_400_000_000_000_000_401, "olivia", role_ids=[ORGANIZERS.id])],
)


@pytest.fixture(autouse=True)
def discord_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INIT_DISCORD_TOKEN", TOKEN)
    monkeypatch.setenv("INIT_MATRIX_PASSWORD", PASSWORD)
    monkeypatch.delenv("CONVENE_MATRIX_TOKEN", raising=False)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(
        application_id=APPLICATION_ID, bot_user_id=BOT_USER_ID, guilds=[GUILD], token=TOKEN
    ) as server:
        yield server


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A folder outside any repository, for the settings and the token file."""
    folder = tmp_path / "deploy"
    folder.mkdir()
    yield folder


async def init(*argv: str) -> int:
    """`convene init …` as typed, in a thread: it runs its own event loop while the fake
    Discord keeps serving on the test's."""
    return await asyncio.to_thread(main, ["init", "--yes", *argv])


def discord_flags(fake: FakeDiscord) -> list[str]:
    return ["--discord-token-env", "INIT_DISCORD_TOKEN", "--discord-api-base-url", fake.api_base]


def seen(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert TOKEN not in out + err and PASSWORD not in out + err
    return out, err


def refusal(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = seen(capsys)
    assert out == ""
    assert err.startswith("convene: ") and err.count("\n") == 1, err
    return err.removeprefix("convene: ").strip()


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def nothing_in(folder: Path) -> None:
    assert names_in(folder) == []


# --- Discord ------------------------------------------------------------------------------------


async def test_discord_by_names_gives_a_file_that_check_config_passes(
    fake: FakeDiscord, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = home / "convene.toml"
    code = await init(
        *discord_flags(fake),
        "--guild",
        "open source club",
        "--organizer-role",
        "Core team",
        "--room",
        "community=#general:announcements,help",
        "--room",
        "news=announcements:announcements",
        "--room",
        "mentors=mentors:mentors",
        "--output",
        str(output),
    )
    out, _ = seen(capsys)
    assert code == 0
    assert f"Wrote {output} (3 rooms)" in out
    text = output.read_text()
    assert TOKEN not in text
    settings = checked_settings(output)
    assert settings.discord.enabled
    assert settings.discord.application_id == APPLICATION_ID
    assert settings.discord.guild_ids == [GUILD.id]
    assert settings.discord.token_env == "INIT_DISCORD_TOKEN"
    assert settings.discord.organizer_roles == ["Core team"]
    assert settings.discord.mentor_roles == ["Mentors"]
    assert [(r.name, r.discord_channel_id, r.purposes) for r in settings.rooms] == [
        ("community", GENERAL.id, ["announcements", "help"]),
        ("news", NEWS.id, ["announcements"]),
        ("mentors", MENTORS_CHANNEL.id, ["mentors"]),
    ]
    assert not settings.discord.message_content
    assert (
        "Note: FAQ auto-answer in community needs the Message Content intent on Discord: allow "
        "it in the Developer Portal > Bot, then set [discord] message_content = true"
    ) in out
    assert main(["check-config", str(output)]) == 0
    assert "OK" in seen(capsys)[0]


async def test_the_intents_the_rooms_need_are_turned_on_when_the_portal_allows_them(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message_content, guild_members = 1 << 18, 1 << 14
    async with FakeDiscord(
        application_id=APPLICATION_ID,
        bot_user_id=BOT_USER_ID,
        guilds=[GUILD],
        token=TOKEN,
        application_flags=message_content | guild_members,
    ) as allowing:
        output = home / "convene.toml"
        rooms = ["--room", "community=general:help", "--room", "hello=mentors:welcome"]
        assert await init(*discord_flags(allowing), *rooms, "--output", str(output)) == 0
    settings = checked_settings(output)
    assert settings.discord.message_content and settings.discord.members_intent
    assert "Note:" not in seen(capsys)[0]


async def test_one_server_and_default_roles_need_no_flags(
    fake: FakeDiscord, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = home / "convene.toml"
    assert await init(*discord_flags(fake), "--output", str(output)) == 0
    settings = checked_settings(output)
    assert settings.discord.guild_ids == [GUILD.id]
    assert settings.discord.organizer_roles == ["Organizers"]
    assert settings.rooms == []


async def test_the_token_may_come_from_a_file(
    fake: FakeDiscord, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "discord-token"
    secret.write_text(TOKEN + "\n")
    output = home / "convene.toml"
    argv = ["--discord-token-file", str(secret), "--discord-api-base-url", fake.api_base]
    assert await init(*argv, "--output", str(output)) == 0
    settings = checked_settings(output)
    assert settings.discord.token_file == secret and not settings.discord.token_env


def test_the_invite_asks_for_what_convene_uses_and_nothing_more() -> None:
    from bot.platforms.discord_setup import invite_url

    query = parse_qs(urlparse(invite_url(APPLICATION_ID)).query)
    assert query["client_id"] == [str(APPLICATION_ID)]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == PERMISSIONS
    assert granted.send_messages and granted.embed_links and granted.read_message_history
    assert granted.create_public_threads and granted.send_messages_in_threads
    assert not (granted.administrator or granted.manage_messages or granted.mention_everyone)


async def test_a_bot_in_no_server_gets_the_invite_link(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeDiscord(
        application_id=APPLICATION_ID, bot_user_id=BOT_USER_ID, guilds=[], token=TOKEN
    ) as empty:
        code = await init(*discord_flags(empty), "--output", str(home / "convene.toml"))
    message = refusal(capsys)
    assert code == 1
    assert message.startswith("the bot is in no Discord server yet")
    assert f"client_id={APPLICATION_ID}" in message
    assert f"permissions={PERMISSIONS.value}" in message
    nothing_in(home)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--guild", "Open Source Klub"], "no server 'Open Source Klub'"),
        (
            ["--room", "community=genral:help"],
            "no channel 'genral' that the bot can post in on Open Source Club; near: general",
        ),
        (["--room", "voice=lounge:help"], "no channel 'lounge'"),
        (
            ["--room", "help=help:help"],
            f"2 channels are named 'help' that the bot can post in on Open Source Club; "
            f"name one by its id: {HELP_EN.id}, {HELP_FR.id}",
        ),
        (
            ["--organizer-role", "Organisers"],
            "no role 'Organisers' on Open Source Club; near: Organizers",
        ),
        (
            ["--room", "community=general:anouncements"],
            "--room community: no purpose 'anouncements'; purposes: announcements, digest, help, mentors, reviews, welcome",
        ),
        (["--room", "community:help"], "--room 'community:help': expected NAME=CHANNEL:PURPOSE"),
        (
            ["--room", "a=general:help", "--room", "a=mentors:mentors"],
            "each room needs its own name; repeated: a",
        ),
    ],
)
async def test_a_name_that_does_not_exist_is_refused_with_the_near_ones(
    fake: FakeDiscord,
    home: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    expected: str,
) -> None:
    code = await init(*discord_flags(fake), *flags, "--output", str(home / "convene.toml"))
    assert code == 1
    assert expected in refusal(capsys)
    nothing_in(home)


async def test_a_wrong_discord_token_is_refused(
    fake: FakeDiscord,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("INIT_DISCORD_TOKEN", "not-the-token")
    code = await init(*discord_flags(fake), "--output", str(home / "convene.toml"))
    assert code == 1
    assert refusal(capsys).startswith("Discord refused the bot token (401 Unauthorized)")
    nothing_in(home)


async def test_a_missing_variable_or_nothing_to_do_is_refused(
    fake: FakeDiscord, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = str(home / "convene.toml")
    assert await init("--discord-token-env", "NO_SUCH_VARIABLE", "--output", output) == 1
    assert refusal(capsys).startswith("environment variable NO_SUCH_VARIABLE is not set; put")
    assert await init("--output", output) == 1
    assert refusal(capsys).startswith("nothing to set up: give --discord-token-env NAME")
    nothing_in(home)


async def test_an_existing_file_is_kept_without_force(
    fake: FakeDiscord, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = home / "convene.toml"
    output.write_text("# mine\n")
    assert await init(*discord_flags(fake), "--output", str(output)) == 1
    assert refusal(capsys).startswith(f"{output} exists; add --force")
    assert output.read_text() == "# mine\n"
    assert await init(*discord_flags(fake), "--output", str(output), "--force") == 0
    assert checked_settings(output).discord.enabled


async def test_an_id_names_one_of_two_channels_of_the_same_name(
    fake: FakeDiscord, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = home / "convene.toml"
    assert (
        await init(*discord_flags(fake), "--room", f"help={HELP_FR.id}:help", "-o", str(output))
        == 0
    )
    assert checked_settings(output).rooms[0].discord_channel_id == HELP_FR.id


async def test_a_short_rate_limit_is_waited_out(
    fake: FakeDiscord, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.rate_limit_next(r"^/users/@me/guilds$", retry_after=0.1)
    output = home / "convene.toml"
    assert await init(*discord_flags(fake), "--output", str(output)) == 0
    assert checked_settings(output).discord.guild_ids == [GUILD.id]


async def test_several_servers_need_one_named(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = FakeGuild(1_400_000_000_000_000_900, "Another Club", channels=[GENERAL])
    second = FakeGuild(GUILD.id, GUILD.name, channels=[MENTORS_CHANNEL])
    async with FakeDiscord(
        application_id=APPLICATION_ID, bot_user_id=BOT_USER_ID, guilds=[second, other], token=TOKEN
    ) as two:
        code = await init(*discord_flags(two), "--output", str(home / "convene.toml"))
    assert code == 1
    assert refusal(capsys) == (
        "the bot is in 2 servers (Open Source Club, Another Club); name one: --guild NAME"
    )
    nothing_in(home)


async def test_a_discord_that_cannot_be_reached_is_said(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}/api/v10"
    argv = ["--discord-token-env", "INIT_DISCORD_TOKEN", "--discord-api-base-url", base]
    assert await init(*argv, "--output", str(home / "convene.toml")) == 1
    assert refusal(capsys).startswith(f"cannot reach Discord at {base}: ")
    nothing_in(home)


# --- Matrix -------------------------------------------------------------------------------------


class Accounts:
    def __init__(self, bot: MatrixUser, organizer: MatrixUser, community: str, mentors: str):
        self.bot, self.organizer = bot, organizer
        self.community, self.mentors = community, mentors


@pytest_asyncio.fixture
async def accounts(synapse: Synapse) -> Accounts:
    """A bot invited to "Community" by an organizer, and in "Mentors", which it made."""
    suffix = os.urandom(4).hex()
    bot = await synapse.register(f"initbot{suffix}", PASSWORD)
    organizer = await synapse.register(f"initorg{suffix}")
    community = await synapse.create_room(organizer, name="Community", invite=[bot.user_id])
    mentors = await synapse.create_room(bot, name="Mentors")
    return Accounts(bot, organizer, community, mentors)


def matrix_flags(synapse: Synapse, accounts: Accounts) -> list[str]:
    return [
        "--matrix-homeserver",
        synapse.base_url,
        "--matrix-user",
        accounts.bot.user_id,
        "--matrix-password-env",
        "INIT_MATRIX_PASSWORD",
    ]


async def whoami(synapse: Synapse, token: str) -> tuple[int, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{synapse.base_url}/_matrix/client/v3/account/whoami",
            headers={"Authorization": f"Bearer {token}"},
        ) as response,
    ):
        return response.status, await response.json()


async def devices(synapse: Synapse, user: MatrixUser) -> set[str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{synapse.base_url}/_matrix/client/v3/devices",
            headers={"Authorization": f"Bearer {user.access_token}"},
        ) as response,
    ):
        return {d["device_id"] for d in (await response.json())["devices"]}


async def test_matrix_logs_in_once_and_keeps_the_token_outside(
    synapse: Synapse,
    accounts: Accounts,
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output, token_file = home / "convene.toml", tmp_path / "secrets" / "matrix-token"
    local = f"lobby{os.urandom(4).hex()}"
    lobby_alias = f"#{local}:{synapse.server_name}"
    lobby = await synapse.create_room(
        accounts.organizer, name="Lobby", invite=[accounts.bot.user_id], alias=local
    )
    code = await init(
        *matrix_flags(synapse, accounts),
        "--matrix-token-file",
        str(token_file),
        "--room",
        "community=Community:announcements,help",
        "--room",
        "mentors=mentors:mentors",
        "--room",
        f"lobby={lobby_alias}:welcome",
        "--output",
        str(output),
    )
    out, _ = seen(capsys)
    assert code == 0, out
    token = token_file.read_text().strip()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token not in output.read_text() and token not in out
    settings = checked_settings(output)
    matrix = settings.matrix
    assert matrix.enabled and matrix.homeserver == synapse.base_url
    assert matrix.user_id == accounts.bot.user_id
    assert matrix.token_file == token_file and not matrix.token_env
    assert matrix.device_id in await devices(synapse, accounts.bot)
    status, me = await whoami(synapse, token)
    assert (status, me["user_id"], me["device_id"]) == (200, accounts.bot.user_id, matrix.device_id)
    assert [(r.name, r.matrix_room_id) for r in settings.rooms] == [
        ("community", accounts.community),
        ("mentors", accounts.mentors),
        ("lobby", lobby),
    ]
    assert main(["check-config", str(output)]) == 0


async def test_matrix_token_may_be_printed_as_an_export_line(
    synapse: Synapse,
    accounts: Accounts,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = home / "convene.toml"
    code = await init(
        *matrix_flags(synapse, accounts), "--print-token-export", "--output", str(output)
    )
    out, _ = seen(capsys)
    assert code == 0
    [line] = [line for line in out.splitlines() if line.startswith("export ")]
    name, _, token = line.removeprefix("export ").partition("=")
    assert name == "CONVENE_MATRIX_TOKEN"
    assert (await whoami(synapse, token))[0] == 200
    assert token not in output.read_text()
    monkeypatch.setenv(name, token)
    assert checked_settings(output).matrix.token_env == "CONVENE_MATRIX_TOKEN"
    assert names_in(home) == ["convene.toml"]


async def test_both_platforms_link_a_channel_and_a_room(
    fake: FakeDiscord,
    synapse: Synapse,
    accounts: Accounts,
    home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = home / "convene.toml"
    code = await init(
        *discord_flags(fake),
        *matrix_flags(synapse, accounts),
        "--matrix-token-file",
        str(tmp_path / "matrix-token"),
        "--room",
        "community=discord/general+matrix/Community:announcements",
        "--room",
        "mentors=matrix/Mentors:mentors",
        "--output",
        str(output),
    )
    assert code == 0, seen(capsys)
    settings = checked_settings(output)
    community, mentors = settings.rooms
    assert (community.discord_channel_id, community.matrix_room_id) == (
        GENERAL.id,
        accounts.community,
    )
    assert (mentors.discord_channel_id, mentors.matrix_room_id) == (None, accounts.mentors)
    with output.open("rb") as stream:
        assert set(tomllib.load(stream)) == {"discord", "matrix", "rooms"}


async def test_a_homeserver_that_is_not_matrix_is_refused(
    fake: FakeDiscord, accounts: Accounts, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_matrix = fake.api_base.removesuffix("/api/v10")
    code = await init(
        "--matrix-homeserver",
        not_matrix,
        "--matrix-user",
        accounts.bot.user_id,
        "--matrix-password-env",
        "INIT_MATRIX_PASSWORD",
        "--matrix-token-file",
        str(home / "matrix-token"),
        "--output",
        str(home / "convene.toml"),
    )
    assert code == 1
    assert refusal(capsys).startswith(f"{not_matrix} is not a Matrix homeserver")
    nothing_in(home)


async def test_a_wrong_matrix_password_is_refused(
    synapse: Synapse,
    accounts: Accounts,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("INIT_MATRIX_PASSWORD", "wrong-password")
    code = await init(
        *matrix_flags(synapse, accounts),
        "--matrix-token-file",
        str(home / "matrix-token"),
        "--output",
        str(home / "convene.toml"),
    )
    assert code == 1
    assert refusal(capsys) == (
        f"{synapse.base_url} refused the password for {accounts.bot.user_id} (M_FORBIDDEN); "
        "check the user id and the password"
    )
    nothing_in(home)


async def test_a_refusal_after_the_login_leaves_no_session(
    synapse: Synapse, accounts: Accounts, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await devices(synapse, accounts.bot)
    code = await init(
        *matrix_flags(synapse, accounts),
        "--matrix-token-file",
        str(home / "matrix-token"),
        "--room",
        "community=Comunity:announcements",
        "--output",
        str(home / "convene.toml"),
    )
    assert code == 1
    assert refusal(capsys) == (
        f"no Matrix room 'Comunity' that {accounts.bot.user_id} is in or invited to; "
        "near: Community"
    )
    nothing_in(home)
    assert await devices(synapse, accounts.bot) == before


async def test_a_token_file_inside_a_repository_is_refused(
    synapse: Synapse, accounts: Accounts, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / ".git").mkdir()
    code = await init(
        *matrix_flags(synapse, accounts),
        "--matrix-token-file",
        str(home / "secrets" / "matrix-token"),
        "--output",
        str(home / "convene.toml"),
    )
    assert code == 1
    assert f"is inside the repository at {home}" in refusal(capsys)
    assert names_in(home) == [".git"]


# --- On a terminal ------------------------------------------------------------------------------


async def test_on_a_terminal_it_asks_by_name(
    fake: FakeDiscord,
    synapse: Synapse,
    accounts: Accounts,
    home: Path,
    tmp_path: Path,
) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    arguments(parser)
    args = parser.parse_args(
        [
            "--output",
            str(home / "convene.toml"),
            "--discord-api-base-url",
            fake.api_base,
            "--matrix-token-file",
            str(tmp_path / "matrix-token"),
        ]
    )
    answers = iter(
        [
            "y",  # Discord?
            "y",  # Matrix?
            "INIT_DISCORD_TOKEN",
            "Core team, Organizers",  # organizer roles
            "",  # mentor roles: the default, Mentors
            synapse.base_url,
            accounts.bot.user_id,
            "community",
            "genral",
            "Community",
            "announcements, help",
            "#general",
            "Community",
            "announcements, help",
            "community",
            "",
        ]
    )
    asked: list[str] = []

    def read(question: str) -> str:
        asked.append(question)
        return next(answers)

    out = io.StringIO()
    prompts = Prompts(True, out, read=read, read_secret=lambda question: PASSWORD)
    assert await asyncio.to_thread(run, args, prompts) == 0
    settings = checked_settings(home / "convene.toml")
    assert settings.discord.organizer_roles == ["Core team", "Organizers"]
    assert settings.discord.mentor_roles == ["Mentors"]
    [room] = settings.rooms
    assert (room.discord_channel_id, room.matrix_room_id) == (GENERAL.id, accounts.community)
    shown = out.getvalue()
    assert "Channels on Open Source Club: general, announcements, mentors" in shown
    assert "Community (invited)" in shown and "Mentors" in shown
    assert "Roles on Open Source Club: Core team, Mentors, Organizers" in shown
    assert (
        "  no channel 'genral' that the bot can post in on Open Source Club; near: general" in shown
    )
    assert "  there is a room 'community' already; give another name" in shown
    assert asked[:2] == ["Set up Discord? (y/n) [y]: ", "Set up Matrix? (y/n) [n]: "]


async def test_on_a_terminal_a_bot_in_no_server_is_waited_for(home: Path, tmp_path: Path) -> None:
    """The invite link is shown, and the servers are read again once the organizer says the
    bot was added."""
    import argparse

    parser = argparse.ArgumentParser()
    arguments(parser)
    output = home / "convene.toml"
    async with FakeDiscord(
        application_id=APPLICATION_ID, bot_user_id=BOT_USER_ID, guilds=[], token=TOKEN
    ) as empty:
        args = parser.parse_args(
            [
                "-o",
                str(output),
                "--discord-token-env",
                "INIT_DISCORD_TOKEN",
                "--discord-api-base-url",
                empty.api_base,
            ]
        )

        def read(question: str) -> str:
            if question.startswith("Press Enter once it is in your server"):
                empty.add_bot_to(GUILD)
            return ""

        out = io.StringIO()
        prompts = Prompts(True, out, read=read, read_secret=lambda question: PASSWORD)
        assert await asyncio.to_thread(run, args, prompts) == 0
    assert (
        f"Add it with this link: https://discord.com/oauth2/authorize?client_id={APPLICATION_ID}"
        in out.getvalue()
    )
    assert checked_settings(output).discord.guild_ids == [GUILD.id]


# --- The bot runs on what init wrote ------------------------------------------------------------


async def test_the_bot_runs_on_the_written_file(
    fake: FakeDiscord,
    synapse: Synapse,
    accounts: Accounts,
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Discord syncs the commands to the chosen server, and the Matrix account, logged in
    with the stored token and device, joins the room it was only invited to."""
    output = home / "convene.toml"
    code = await init(
        *discord_flags(fake),
        "--discord-gateway-url",
        fake.gateway_url,
        *matrix_flags(synapse, accounts),
        "--matrix-token-file",
        str(tmp_path / "matrix-token"),
        "--room",
        "community=discord/general+matrix/Community:announcements",
        "--output",
        str(output),
    )
    assert code == 0, seen(capsys)
    with output.open("a") as stream:
        stream.write(
            f'\n[store]\nurl = "sqlite+aiosqlite:///{tmp_path}/bot.db"\n'
            "[console]\nenabled = false\n[web]\nenabled = false\n"
        )
    settings = checked_settings(output)
    # The platform points discord.py at the fake through these globals; put them back after.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket,
        "DEFAULT_GATEWAY",
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
    )
    async with running(settings) as app:
        synced = await fake.wait_commands_synced(GUILD.id)
        assert "help" in {command["name"] for command in synced}
        await joined(app, accounts.community)


def converse(
    argv: list[str], answers: list[tuple[str, str]], timeout: float = 30
) -> tuple[int, str]:
    """`convene …` on a terminal of its own (a pseudo-terminal, in a new session): each answer
    is typed once its question shows; what the terminal showed, and the exit status."""
    primary, secondary = os.openpty()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "convene"), *argv],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    shown = b""
    deadline = time.monotonic() + timeout

    def read_until(wanted: bytes | None) -> None:
        nonlocal shown
        while wanted is None or wanted not in shown:
            ready, _, _ = select.select([primary], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"waiting for {wanted!r}; the terminal showed {shown!r}")
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # the other end is closed: the program ended
                chunk = b""
            if not chunk:
                if wanted is None:
                    return
                raise AssertionError(f"ended before {wanted!r}; the terminal showed {shown!r}")
            shown += chunk

    try:
        for question, answer in answers:
            read_until(question.encode())
            shown = shown.replace(question.encode(), b"<asked>", 1)
            os.write(primary, answer.encode() + b"\n")
        read_until(None)
        return process.wait(timeout), shown.decode().replace("\r\n", "\n")
    finally:
        os.close(primary)
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_on_a_real_terminal_it_asks_and_never_shows_the_password(
    fake: FakeDiscord,
    synapse: Synapse,
    accounts: Accounts,
    home: Path,
    tmp_path: Path,
) -> None:
    output = home / "convene.toml"
    argv = [
        "init",
        "--output",
        str(output),
        "--discord-api-base-url",
        fake.api_base,
        "--matrix-token-file",
        str(tmp_path / "matrix-token"),
    ]
    answers = [
        ("Set up Discord? (y/n) [y]: ", ""),
        ("Set up Matrix? (y/n) [n]: ", "y"),
        ("holding the bot token [CONVENE_DISCORD_TOKEN]: ", "INIT_DISCORD_TOKEN"),
        ("Organizer roles, comma-separated [Organizers]: ", ""),
        ("Mentor roles, comma-separated [Mentors]: ", ""),
        ("Matrix homeserver URL: ", synapse.base_url),
        ("Matrix user id of the bot: ", accounts.bot.user_id),
        (f"Password of {accounts.bot.user_id}: ", PASSWORD),
        ("Room name (empty to finish): ", "community"),
        ("  Discord channel (empty: none): ", "general"),
        ("  Matrix room (empty: none): ", "Community"),
        ("  Purposes, comma-separated: ", "help"),
        ("Room name (empty to finish): ", ""),
    ]
    code, shown = await asyncio.to_thread(converse, argv, answers)
    assert code == 0, shown
    assert PASSWORD not in shown and TOKEN not in shown
    assert f"Wrote {output} (1 room)" in shown
    assert "Warning" not in shown and "Traceback" not in shown
    settings = checked_settings(output)
    [room] = settings.rooms
    assert (room.discord_channel_id, room.matrix_room_id) == (GENERAL.id, accounts.community)
    assert settings.discord.organizer_roles == ["Organizers"]
