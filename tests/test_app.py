"""The App as `convene run` starts it: console REPL, web page, CLI commands."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import socket
from pathlib import Path

import aiohttp
import pytest

from bot.__main__ import main
from bot.app import App
from bot.config import Settings, parse_settings
from tests.support.eventually import eventually


def console_settings(tmp_path: Path, **extra: object) -> Settings:
    return parse_settings(
        {"store": {"url": f"sqlite:///{tmp_path}/c.db"}, "web": {"enabled": False}, **extra}
    )


async def test_console_session(tmp_path: Path) -> None:
    stdin = io.StringIO("help\n!whoami\n\n!link\n!nope\n!whoami " + "x" * 4100 + "\n")
    stdout = io.StringIO()
    app = App(console_settings(tmp_path), stdin=stdin, stdout=stdout)
    assert await app.run() == 0, "end of input ends a console-only bot"
    out = stdout.getvalue()
    assert out.startswith('Convene 0.1.0 — console as "you" (organizer).')
    assert "Convene — commands you can use here\n" in out
    assert "\n!help [command] — List the commands" in out
    assert "You are you — organizer here\nLinked accounts:\n- Console: you" in out
    assert "Your link code is" in out
    assert "I don't know the command !nope." in out
    assert "too long for a command" in out


async def test_console_writes_a_sent_file_where_it_says(tmp_path: Path) -> None:
    stdin = io.StringIO("!me export\n")
    stdout = io.StringIO()
    settings = console_settings(tmp_path, console={"files": str(tmp_path / "files")})
    assert await App(settings, stdin=stdin, stdout=stdout).run() == 0
    out = stdout.getvalue()
    assert "Here is everything Convene keeps about you" in out
    shown = next(line for line in out.splitlines() if line.startswith("File: "))
    path = Path(shown.removeprefix("File: "))
    assert path.parent == (tmp_path / "files").resolve()
    mode, text = read_saved(path)
    assert mode & 0o077 == 0, "only its owner may read it"
    assert json.loads(text)["people"]["accounts"][0]["user_id"] == "you"


def read_saved(path: Path) -> tuple[int, str]:
    return path.stat().st_mode, path.read_text()


async def test_web_status_page_and_health(tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    settings = console_settings(tmp_path, web={"enabled": True, "port": 0})
    with os.fdopen(read_fd) as stdin:
        app = App(settings, stdin=stdin, stdout=io.StringIO())
        task = asyncio.create_task(app.run())
        await eventually(lambda: app.web_url is not None, what="the web server")
        async with aiohttp.ClientSession(app.web_url) as http:
            async with http.get("/") as page:
                assert page.status == 200
                assert "<code>!whoami</code>" in await page.text()
            async with http.get("/healthz") as health:
                assert await health.json() == {"ok": True, "platforms": {"console": True}}
        os.close(write_fd)
        assert await asyncio.wait_for(task, 10) == 0


async def test_calendar_feed_over_http_with_etag(tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    settings = console_settings(tmp_path, web={"enabled": True, "port": 0})
    with os.fdopen(read_fd) as stdin:
        app = App(settings, stdin=stdin, stdout=io.StringIO())
        task = asyncio.create_task(app.run())
        await eventually(lambda: app.web_url is not None, what="the web server")
        async with aiohttp.ClientSession(app.web_url) as http:
            async with http.get("/calendar.ics") as feed:
                assert feed.status == 200
                assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
                assert "BEGIN:VCALENDAR" in await feed.text()
                etag = feed.headers["ETag"]
            async with http.get("/calendar.ics", headers={"If-None-Match": etag}) as again:
                assert again.status == 304
                assert again.headers["ETag"] == etag
                assert await again.read() == b""
            async with http.get("/calendar.ics?tier=core", headers={"If-None-Match": etag}) as core:
                assert core.status == 200 and core.headers["ETag"] != etag
            async with http.get("/calendar.ics?tier=vip") as bad:
                assert bad.status == 400
                assert "Unknown tier 'vip'" in await bad.text()
        os.close(write_fd)
        assert await asyncio.wait_for(task, 10) == 0


def test_db_upgrade_and_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "convene.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/up.db"\n')
    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert (tmp_path / "up.db").exists()
    assert "newest revision" in capsys.readouterr().out

    config.write_text('[matrix]\nenabled = true\ntoken_env = "CONVENE_TEST_MISSING"\n')
    monkeypatch.delenv("CONVENE_TEST_MISSING", raising=False)
    assert main(["run", "--config", str(config)]) == 2
    assert "environment variable CONVENE_TEST_MISSING is not set" in capsys.readouterr().err


def test_clear_errors_when_the_outside_world_is_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "convene.toml"
        config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/w.db"\n[web]\nport = {port}\n')
        assert main(["run", "--config", str(config)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err

    config.write_text('[store]\nurl = "postgresql://convene:s3cret@127.0.0.1:1/convene"\n')
    assert main(["run", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "cannot open the store at postgresql+asyncpg://convene:***@127.0.0.1:1/convene" in err
    assert "s3cret" not in err and "Traceback" not in err


async def test_a_new_store_shows_how_to_start_and_the_example_works_as_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run` on a new store: the banner says how to load the starter FAQ and how to
    create a first event, and adds nothing; both suggestions work as written."""
    monkeypatch.chdir(Path(__file__).parents[1])
    settings = console_settings(tmp_path)

    async def run(lines: str) -> str:
        stdout = io.StringIO()
        assert await App(settings, stdin=io.StringIO(lines), stdout=stdout).run() == 0
        return stdout.getvalue()

    out = await run("!faq how do I run the tests?\n")
    banner = out.split("\n")[1:4]
    assert banner[0] == "Getting started:"
    assert banner[2] == (
        "- The FAQ is empty: load the starter one with `convene faq import examples/faq.toml` "
        "(from a checkout: .venv/bin/convene faq import examples/faq.toml), then ask !faq "
        "how do I run the tests?"
    )
    example = r'(!event create "Community call" start="[-\d]{10} 17:00")'
    found = re.fullmatch(rf"- Create a first event: {example}, then !event list", banner[1])
    assert found, banner[1]
    assert "I don't have an answer for that yet" in out, "nothing was added"

    config = tmp_path / "convene.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/c.db"\n')
    imported = await asyncio.to_thread(
        main, ["faq", "import", "examples/faq.toml", "--config", str(config)]
    )
    assert imported == 0
    out = await run(f"{found.group(1)}\n!faq how do I run the tests?\n")
    assert "Getting started" in out and "FAQ is empty" not in out
    assert "Event #1" in out
    assert "How do I run the test suite?" in out
    out = await run("")
    assert "Getting started" not in out
