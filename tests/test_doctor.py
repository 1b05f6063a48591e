"""`convene doctor` and `doctor` in chat, for what is not a platform's: the store (reachable,
migrated, writable) and the web port. Each problem is one line with its fix on the next, and
the exit status is 1 when there is one; a healthy setup prints compact OK lines and exits 0."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.__main__ import main
from bot.core import Role
from bot.core.diagnose import Doctors, Finding, report
from bot.web import make_web_app
from tests.support.fake_platform import FakePlatform
from tests.support.house import build_bot
from tests.support.store_fixtures import PG_ADMIN_URL
from tests.support.terminal import outcome, settings_file


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def config(tmp_path: Path, url: str, port: int) -> Path:
    return settings_file(
        tmp_path, f'[store]\nurl = "{url}"\n[web]\nhost = "127.0.0.1"\nport = {port}\n'
    )


def doctor(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["doctor", "-c", str(path)])
    out, err = outcome(capsys)
    assert err == ""
    return code, out.splitlines()


def test_a_healthy_store_and_a_free_port_pass(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, db_url, free_port())
    assert main(["db", "upgrade", "-c", str(path)]) == 0
    capsys.readouterr()
    code, lines = doctor(path, capsys)
    assert code == 0
    assert "ok store: reachable, at the newest schema revision, writable" in lines
    assert any(line.startswith("ok web: 127.0.0.1:") and "is free" in line for line in lines)
    assert lines[-1] == "All good."


def test_a_new_sqlite_store_is_not_created_by_the_doctor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "new.db"
    code, lines = doctor(config(tmp_path, f"sqlite:///{store}", free_port()), capsys)
    assert code == 0
    assert f"ok store: no file yet at {store}; `convene run` creates it" in lines
    assert not store.exists()


def test_a_store_not_migrated_is_a_warning_with_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "empty.db"
    store.touch()
    code, lines = doctor(config(tmp_path, f"sqlite:///{store}", free_port()), capsys)
    assert code == 0
    at = lines.index("warning store: reachable, but no schema yet")
    assert lines[at + 1] == (
        "   fix: run `convene db upgrade` (`convene run` also upgrades the store at start)"
    )


def test_an_unreachable_store_is_a_problem_with_its_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://convene:s3cret-pw@127.0.0.1:{port}/convene"
    code, lines = doctor(config(tmp_path, url, free_port()), capsys)
    assert code == 1
    assert lines[0] == (
        f"PROBLEM store: cannot open the store at postgresql+asyncpg://convene:***@127.0.0.1:"
        f"{port}/convene: nothing listens on 127.0.0.1:{port}; is PostgreSQL running there?"
    )
    assert lines[1] == "   fix: start the database, or correct [store] url"
    assert "cannot check rooms" in "\n".join(lines)
    assert lines[-1] == "1 problem(s), 0 warning(s), 1 not checked."


def test_a_taken_port_is_a_problem_with_its_fix(
    taken_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = doctor(config(tmp_path, f"sqlite:///{tmp_path}/bot.db", taken_port), capsys)
    assert code == 1
    assert lines[:2] == [
        f"PROBLEM web: cannot listen on 127.0.0.1:{taken_port} (address already in use): "
        "another program holds it",
        "   fix: stop that program, or set [web] port to a free port (or [web] enabled = false)",
    ]


async def test_doctor_in_chat_is_for_organizers_and_checks_the_store(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    bot = build_bot(sessions)
    platform = FakePlatform(bot)
    said = await platform.person("@olivia:x", Role.ORGANIZER).say("!doctor")
    assert said.reply.private
    assert "ok store: reachable, at the newest schema revision, writable" in said.text
    assert said.text.endswith("All good.")
    refused = await platform.person("@casey:x").say("!doctor")
    assert refused.reply.error


async def test_a_store_the_bot_may_read_but_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the shared PostgreSQL (which trusts local connections), a role that may only read."""
    try:
        admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    tag = uuid.uuid4().hex[:10]
    name, reader = f"convene_{tag}", f"reader_{tag}"
    owner_url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.execute(f'CREATE ROLE "{reader}" LOGIN')
    try:
        owner = config(tmp_path, owner_url, free_port())
        assert await asyncio.to_thread(main, ["db", "upgrade", "-c", str(owner)]) == 0
        database = await asyncpg.connect(owner_url)
        await database.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{reader}"')
        await database.close()
        capsys.readouterr()
        url = owner_url.replace("postgres@", f"{reader}@")
        code = await asyncio.to_thread(main, ["doctor", "-c", str(config(tmp_path, url, 0))])
        lines = outcome(capsys)[0].splitlines()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{reader}"')
        await admin.close()
    assert code == 1
    assert lines[0].startswith("PROBLEM store: cannot be written: the store at ")
    assert "permission denied for table bot_state" in lines[0]
    assert lines[1].startswith("   fix: give the user the bot runs as write access to the store")


def test_a_store_a_newer_convene_upgraded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "bot.db"
    path = config(tmp_path, f"sqlite:///{store}", free_port())
    assert main(["db", "upgrade", "-c", str(path)]) == 0
    with closing(sqlite3.connect(store)) as db, db:
        db.execute("UPDATE alembic_version SET version_num = 'f00dfeed1234'")
    capsys.readouterr()
    code, lines = doctor(path, capsys)
    assert code == 1
    assert lines[:2] == [
        "PROBLEM store: its schema is at revision f00dfeed1234, which this Convene does not "
        "know: a newer Convene upgraded it",
        "   fix: run that version of Convene, or a newer one",
    ]


class Broken:
    name = "widget"

    async def diagnose(self) -> list[Finding]:
        raise RuntimeError("a bug")


class Fine:
    name = "gadget"

    async def diagnose(self) -> list[Finding]:
        return [Finding.ok("gadget", "fine")]


async def test_a_check_that_fails_is_one_problem_and_the_others_still_answer() -> None:
    doctors = Doctors()
    doctors.add(Broken())
    doctors.add(Fine())
    found = await doctors.examine()
    assert report(found) == [
        "PROBLEM widget: the check itself failed (RuntimeError)",
        "   fix: see the bot's log for the details",
        "ok gadget: fine",
        "1 problem(s), 0 warning(s), 0 not checked.",
    ]


async def test_a_port_a_running_convene_serves_is_no_problem(
    sqlite_sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bot = build_bot(sqlite_sessions)
    runner = web.AppRunner(make_web_app(bot.runtime, bot, {}, lambda: {"console": True}))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        path = config(tmp_path, f"sqlite:///{tmp_path}/other.db", port)
        code = await asyncio.to_thread(main, ["doctor", "-c", str(path)])
    finally:
        await runner.cleanup()
    assert code == 0
    lines = outcome(capsys)[0].splitlines()
    assert f"ok web: a Convene already serves at http://127.0.0.1:{port} (running)" in lines
