"""`convene doctor` on Matrix, against the real Synapse: the bot is in each room with power
enough to send, its token is accepted, Synapse's rate limit is lifted for it (or, when the bot
is no server admin, how to check and lift it), and the clock agrees with the homeserver's."""

from __future__ import annotations

import asyncio
import socket
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.support.bot_harness import running
from tests.support.matrix_fixtures import synapse_server  # noqa: F401
from tests.support.matrix_world import ask, invited_rooms, make_world
from tests.support.synapse import MatrixUser, Synapse
from tests.support.terminal import outcome

pytestmark = pytest.mark.e2e

TOKEN_ENV = "CONVENE_TEST_DOCTOR_MATRIX_TOKEN"


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def config(synapse: Synapse, bot: MatrixUser, tmp_path: Path, rooms: dict[str, str]) -> Path:
    lines = [
        f'[store]\nurl = "sqlite:///{tmp_path}/bot.db"',
        "[console]\nenabled = false",
        f'[web]\nhost = "127.0.0.1"\nport = {free_port()}',
        f'[matrix]\nenabled = true\nhomeserver = "{synapse.base_url}"\n'
        f'user_id = "{bot.user_id}"\ndevice_id = "{bot.device_id}"\ntoken_env = "{TOKEN_ENV}"',
    ]
    lines += [f'[[rooms]]\nname = "{n}"\nmatrix_room_id = "{r}"' for n, r in rooms.items()]
    path = tmp_path / "convene.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def community(
    synapse: Synapse, monkeypatch: pytest.MonkeyPatch, *, admin: bool
) -> tuple[MatrixUser, MatrixUser, str]:
    """Omar's room, which the bot joined; the bot's token in the environment."""
    tag = uuid.uuid4().hex[:6]
    bot = await synapse.register(f"convene{tag}", admin=admin)
    omar = await synapse.register(f"omar{tag}")
    room = await synapse.create_room(omar, name="Community", invite=[bot.user_id])
    await synapse.join(bot, room)
    monkeypatch.setenv(TOKEN_ENV, bot.access_token)
    return bot, omar, room


async def doctor(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """`convene doctor` as typed: its own event loop, in a thread of its own."""
    code = await asyncio.to_thread(main, ["doctor", "-c", str(path)])
    out, err = outcome(capsys)
    assert err == ""
    return code, out.splitlines()


def fix_of(lines: list[str], line: str) -> str:
    assert line in lines, "\n".join(lines)
    return lines[lines.index(line) + 1]


async def test_a_healthy_setup_passes(
    synapse: Synapse,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot, _, room = await community(synapse, monkeypatch, admin=True)
    await synapse.override_ratelimit(bot, bot.user_id)
    code, lines = await doctor(config(synapse, bot, tmp_path, {"community": room}), capsys)
    assert code == 0, "\n".join(lines)
    assert "ok matrix room community: joined; power level 0 is enough to send, edit and react" in (
        lines
    )
    assert "ok matrix rate limit: lifted for the bot" in lines
    assert "ok clock: in sync with the homeserver (within 5 s)" in lines
    assert lines[-1] == "All good."


async def test_a_room_the_bot_is_not_in_and_a_rate_limit_it_cannot_read(
    synapse: Synapse,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot, omar, room = await community(synapse, monkeypatch, admin=False)
    elsewhere = await synapse.create_room(omar, name="Staff")
    path = config(synapse, bot, tmp_path, {"community": room, "staff": elsewhere})
    code, lines = await doctor(path, capsys)
    assert code == 1
    assert fix_of(lines, f"PROBLEM matrix room staff: the bot is not in {elsewhere}") == (
        f"   fix: invite {bot.user_id} to the room: it accepts invitations to its rooms (or "
        "correct the room id: Element → Room settings → Advanced)"
    )
    unknown = (
        "cannot check matrix rate limit: only a server admin can read the bot's Synapse rate "
        "limit, and the bot is not one"
    )
    how = fix_of(lines, unknown)
    assert how.startswith('   fix: check: curl -H "Authorization: Bearer $ADMIN_TOKEN" ')
    assert "override_ratelimit" in how and '"messages_per_second": 0' in how
    assert bot.access_token not in "\n".join(lines)


async def test_a_power_level_too_low_to_send(
    synapse: Synapse,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot, omar, room = await community(synapse, monkeypatch, admin=True)
    await synapse.override_ratelimit(bot, bot.user_id)
    levels = await synapse.power_levels(omar, room)
    levels["events_default"] = 20
    await synapse._request(
        "PUT", f"/_matrix/client/v3/rooms/{room}/state/m.room.power_levels", omar, levels
    )
    code, lines = await doctor(config(synapse, bot, tmp_path, {"community": room}), capsys)
    assert code == 1
    problem = (
        "PROBLEM matrix room community: the bot's power level (0) is below the 20 needed to "
        "send messages and reactions"
    )
    assert fix_of(lines, problem) == (
        f"   fix: give {bot.user_id} power level 20 in the room (Room settings → Roles & "
        "Permissions)"
    )


async def test_a_rate_limit_not_lifted_is_a_warning_with_the_command(
    synapse: Synapse,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot, _, room = await community(synapse, monkeypatch, admin=True)
    code, lines = await doctor(config(synapse, bot, tmp_path, {"community": room}), capsys)
    assert code == 0
    line = next(line for line in lines if line.startswith("warning matrix rate limit:"))
    assert fix_of(lines, line).startswith("   fix: as a server admin: curl -X POST")


async def test_a_rejected_token(
    synapse: Synapse,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot, _, room = await community(synapse, monkeypatch, admin=False)
    monkeypatch.setenv(TOKEN_ENV, "tok-s3cret-value")
    code, lines = await doctor(config(synapse, bot, tmp_path, {"community": room}), capsys)
    assert code == 1
    assert fix_of(
        lines, "PROBLEM matrix: the homeserver rejected the access token (M_UNKNOWN_TOKEN)"
    ) == (f"   fix: log the bot in again and put its new access token in ${TOKEN_ENV}")


async def test_a_homeserver_that_is_not_matrix(
    synapse: Synapse,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bot, _, room = await community(synapse, monkeypatch, admin=False)
    path = config(synapse, bot, tmp_path, {"community": room})
    path.write_text(path.read_text().replace(synapse.base_url, f"{synapse.base_url}/wiki"))
    code, lines = await doctor(path, capsys)
    assert code == 1
    assert fix_of(
        lines, f"PROBLEM matrix: {synapse.base_url}/wiki does not answer as a Matrix homeserver"
    ) == (
        "   fix: set [matrix] homeserver to the address clients use (where "
        "/_matrix/client/versions answers)"
    )


async def test_doctor_in_the_running_bot_answers_the_organizer_privately(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = await make_world(synapse, tmp_path, monkeypatch)
    async with running(world.settings):
        pointer = await ask(world, world.omar, "!doctor")
        assert "direct message" in pointer["content"]["body"]
        [dm] = await invited_rooms(synapse, world.omar)
        await synapse.join(world.omar, dm)
        answer = await synapse.wait_for_message(
            world.omar, dm, sender=world.bot.user_id, predicate=lambda e: "Doctor" in str(e)
        )
    body = answer["content"]["body"]
    assert "ok matrix room community: joined; power level 0 is enough" in body
    assert "cannot check matrix rate limit" in body
    assert "ok web: off ([web] enabled = false)" in body
    assert "ok store: reachable, at the newest schema revision, writable" in body
