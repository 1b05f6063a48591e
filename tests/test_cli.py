"""`convene …` at the terminal: whatever is wrong outside the bot (a store that cannot be
reached, refused credentials, a bad file, a bad setting), the person gets one clear line on
stderr and a non-zero exit; never a traceback, never a password or a token."""

from __future__ import annotations

import json
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import make_url

from bot.__main__ import main
from tests.support.private_postgres import PrivatePostgres, private_postgres
from tests.support.store_fixtures import PG_ADMIN_URL
from tests.support.synapse import Synapse
from tests.support.terminal import PASSWORD, TOKEN, outcome, settings_file

# aiosqlite's worker thread once printed a traceback of its own after a failed open.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

FAQ = """\
[[entry]]
id = "run-tests"
question = "How do I run the test suite?"
answer = "Run `pytest` from the repository root."
"""
SCHEDULE = """\
name: Weekly
timezone: Europe/Paris
events:
  - summary: Call
    begin: 2030-01-07 17:00:00
    duration: {minutes: 30}
"""


def one_line(err: str) -> str:
    assert err.startswith("convene: ") and err.endswith("\n") and err.count("\n") == 1, err
    return err.removesuffix("\n")


def store_file(tmp_path: Path, url: str) -> Path:
    return settings_file(tmp_path, f'[store]\nurl = "{url}"\n')


# --- Each subcommand, and each way the store can be out of reach ---------------------------------


def subcommand(tmp_path: Path, name: str) -> list[str]:
    faq, schedule = tmp_path / "faq.toml", tmp_path / "schedule.yaml"
    faq.write_text(FAQ)
    schedule.write_text(SCHEDULE)
    return {
        "run": ["run"],
        "db upgrade": ["db", "upgrade"],
        "faq import": ["faq", "import", str(faq)],
        "faq export": ["faq", "export", str(tmp_path / "out.toml")],
        "events import": ["events", "import", str(schedule)],
        "events export": ["events", "export", str(tmp_path / "out.ics")],
    }[name]


SUBCOMMANDS = ["run", "db upgrade", "faq import", "faq export", "events import", "events export"]


@pytest.fixture(scope="module")
def password_postgres() -> Iterator[PrivatePostgres]:
    with private_postgres(password="the-right-one") as server:
        yield server


@pytest.fixture(scope="module")
def shared_postgres() -> str:
    """host:port of the shared server, which trusts local users: a role or database that does
    not exist is refused there for real."""
    url = make_url(PG_ADMIN_URL)
    host, port = url.host or "127.0.0.1", url.port or 5432
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {host}:{port}: {exc}")
    return f"{host}:{port}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def assert_store_refused(
    capsys: pytest.CaptureFixture[str], argv: list[str], config: Path, shown: str, reason: str
) -> None:
    assert main([*argv, "-c", str(config)]) == 1
    out, err = outcome(capsys)
    line = one_line(err)
    assert f"cannot open the store at {shown}: {reason}" in line, line
    if argv[0] != "run":
        assert out == ""


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_nothing_listens_on_the_port(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    config = store_file(tmp_path, f"postgresql://convene:{PASSWORD}@127.0.0.1:{port}/convene")
    shown = f"postgresql+asyncpg://convene:***@127.0.0.1:{port}/convene"
    reason = f"nothing listens on 127.0.0.1:{port}; is PostgreSQL running there?"
    assert_store_refused(capsys, subcommand(tmp_path, name), config, shown, reason)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_wrong_password(
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    password_postgres: PrivatePostgres,
) -> None:
    config = store_file(tmp_path, password_postgres.url(PASSWORD))
    shown = f"postgresql+asyncpg://convene:***@127.0.0.1:{password_postgres.port}/postgres"
    reason = (
        'password authentication failed for user "convene"; '
        "check the user and password in [store] url"
    )
    assert_store_refused(capsys, subcommand(tmp_path, name), config, shown, reason)


def test_the_right_password_opens_that_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], password_postgres: PrivatePostgres
) -> None:
    config = store_file(tmp_path, password_postgres.url("the-right-one"))
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    assert outcome(capsys) == ("Store is at the newest revision.\n", "")


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_database_or_user_that_does_not_exist(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], shared_postgres: str
) -> None:
    database = f"convene_missing_{uuid.uuid4().hex[:8]}"
    config = store_file(tmp_path, f"postgresql://postgres:{PASSWORD}@{shared_postgres}/{database}")
    shown = f"postgresql+asyncpg://postgres:***@{shared_postgres}/{database}"
    reason = f'database "{database}" does not exist; create it first, e.g. createdb -O postgres'
    assert_store_refused(capsys, subcommand(tmp_path, name), config, shown, reason)

    user = f"nobody_{uuid.uuid4().hex[:8]}"
    config = store_file(tmp_path, f"postgresql://{user}:{PASSWORD}@{shared_postgres}/test")
    shown = f"postgresql+asyncpg://{user}:***@{shared_postgres}/test"
    reason = f'role "{user}" does not exist; check the user in [store] url'
    assert_store_refused(capsys, subcommand(tmp_path, name), config, shown, reason)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_unknown_host(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = store_file(tmp_path, f"postgresql://convene:{PASSWORD}@db.invalid/convene")
    shown = "postgresql+asyncpg://convene:***@db.invalid/convene"
    reason = "unknown host 'db.invalid'; check the host in [store] url"
    assert_store_refused(capsys, subcommand(tmp_path, name), config, shown, reason)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_sqlite_file_where_none_can_be(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = subcommand(tmp_path, name)
    missing = tmp_path / "no" / "such" / "dir"
    config = store_file(tmp_path, f"sqlite:///{missing}/convene.db")
    reason = f"the directory {missing} does not exist; create it, or change [store] url"
    assert_store_refused(capsys, argv, config, f"sqlite+aiosqlite:///{missing}/convene.db", reason)
    assert not missing.exists()

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config = store_file(tmp_path, f"sqlite:///{blocker}/convene.db")
    reason = f"{blocker} is not a directory; change [store] url"
    assert_store_refused(capsys, argv, config, f"sqlite+aiosqlite:///{blocker}/convene.db", reason)

    config = store_file(tmp_path, f"sqlite:///{tmp_path}")
    reason = f"{tmp_path} is a directory; name a file in it, such as {tmp_path}/convene.db"
    assert_store_refused(capsys, argv, config, f"sqlite+aiosqlite:///{tmp_path}", reason)


@pytest.mark.parametrize("name", ["db upgrade", "faq export"])
def test_a_file_that_is_not_a_store(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("not a database, but a long enough text file to have a header\n" * 20)
    config = store_file(tmp_path, f"sqlite:///{other}")
    reason = f"{other} is not a SQLite database; name a new file, or the store's own"
    argv = subcommand(tmp_path, name)
    assert_store_refused(capsys, argv, config, f"sqlite+aiosqlite:///{other}", reason)


def test_a_store_from_a_newer_convene(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = store_file(tmp_path, f"sqlite:///{tmp_path}/convene.db")
    assert main(["db", "upgrade", "-c", str(config)]) == 0
    with closing(sqlite3.connect(tmp_path / "convene.db")) as db, db:
        db.execute("UPDATE alembic_version SET version_num = 'f00dfacef00d'")
    outcome(capsys)
    for argv in (["db", "upgrade"], ["faq", "export", str(tmp_path / "faq.toml")], ["run"]):
        reason = (
            "its schema is at revision f00dfacef00d, which this version of Convene does not "
            "know; it was upgraded by a newer Convene, so run that one (or newer)"
        )
        shown = f"sqlite+aiosqlite:///{tmp_path}/convene.db"
        assert_store_refused(capsys, argv, config, shown, reason)


# --- Bad files ------------------------------------------------------------------------------------


def bad_inputs(tmp_path: Path) -> dict[str, Path]:
    binary = tmp_path / "binary.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 64)
    folder = tmp_path / "a-directory"
    folder.mkdir()
    return {"missing": tmp_path / "missing.toml", "directory": folder, "binary": binary}


@pytest.mark.parametrize("kind", ["missing", "directory", "binary"])
@pytest.mark.parametrize("group", ["faq", "events"])
def test_import_of_a_file_that_cannot_be_read(
    group: str, kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_file(tmp_path, f"sqlite:///{tmp_path}/convene.db")
    path = bad_inputs(tmp_path)[kind]
    assert main([group, "import", str(path), "-c", str(config)]) == 1
    err = outcome(capsys)[1]
    if group == "events" and kind == "binary":
        # An events import lists what is wrong with the file under its name.
        assert err == (
            f"convene: nothing was imported from {path}:\nthe file is binary (it holds NUL "
            "bytes); expected an .ics calendar or a yaml2ics .yaml schedule\n"
        )
        return
    line = one_line(err)
    assert line.startswith(f"convene: cannot read {path}: "), line


@pytest.mark.parametrize("group", ["faq", "events"])
def test_export_where_no_file_can_be_written(
    group: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_file(tmp_path, f"sqlite:///{tmp_path}/convene.db")
    for target in (tmp_path / "no" / "dir" / "out", bad_inputs(tmp_path)["directory"]):
        assert main([group, "export", str(target), "-c", str(config)]) == 1
        line = one_line(outcome(capsys)[1])
        assert f"cannot write {target}: " in line


@pytest.mark.parametrize("kind", ["missing", "directory", "binary"])
@pytest.mark.parametrize("argv", [["check-config"], ["run", "-c"], ["db", "upgrade", "-c"]])
def test_settings_file_that_cannot_be_read(
    argv: list[str], kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bad_inputs(tmp_path)[kind]
    assert main([*argv, str(path)]) == 2
    line = one_line(outcome(capsys)[1])
    assert line.startswith(f"convene: configuration error: {path}: ")


# --- Settings: check-config refuses what run would fail on, in the same words ---------------------


def refused_by_both(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    """check-config and run refuse *text* with the same one line: they run the same checks."""
    config = settings_file(tmp_path, text)
    lines = set()
    for argv in (["check-config", str(config)], ["run", "-c", str(config)]):
        assert main(argv) == 2
        lines.add(one_line(outcome(capsys)[1]))
    (line,) = lines
    prefix = f"convene: configuration error: {config}: "
    assert line.startswith(prefix), line
    return line.removeprefix(prefix)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "sqlite",
            "expected a sqlite:/// or postgresql:// URL, such as sqlite:///convene.db or "
            "postgresql://USER:PASSWORD@HOST:5432/DATABASE; this one cannot be read as a URL",
        ),
        (
            f"postgres://u:{PASSWORD}@[::1/db",
            "this one cannot be read as a URL (is the ] after an IPv6 address missing?)",
        ),
        (
            f"postgresql+psycopg2://convene:{PASSWORD}@db/convene",
            "the driver 'psycopg2' is not shipped with Convene; write postgresql:// and "
            "Convene uses asyncpg (got postgresql+psycopg2://…)",
        ),
        ("sqlite+pysqlite:///convene.db", "write sqlite:// and Convene uses aiosqlite"),
        (
            f"mysql://convene:{PASSWORD}@db/convene",
            "expected a sqlite:/// or postgresql:// URL, such as sqlite:///convene.db or "
            "postgresql://USER:PASSWORD@HOST:5432/DATABASE; Convene cannot keep its store in "
            "'mysql' (got mysql://…)",
        ),
        ("sqlite://convene.db", "a SQLite URL needs a file path: sqlite:///convene.db"),
        ("sqlite:///:memory:", "a SQLite store must be a file"),
        ("sqlite:///convene.db?mode=ro", "a SQLite URL takes no options"),
        (f"postgresql://u:{PASSWORD}@db:99999/convene", "port 99999 is out of range"),
        (f"postgresql://u:{PASSWORD}@db:port/convene", "this one cannot be read as a URL"),
        (f"postgresql://u:{PASSWORD}@db/c?sslmode=require", "write ssl=… instead of sslmode"),
        (f"postgresql://u:{PASSWORD}@db/c?ssl=sure", "ssl must be one of disable, allow"),
        (f"postgresql://u:{PASSWORD}@db/c?timeout=5", "unknown option 'timeout'"),
    ],
)
def test_store_url_is_checked_before_anything_connects(
    url: str, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = refused_by_both(tmp_path, capsys, f'[store]\nurl = "{url}"\n')
    assert message.startswith("[store] url: ") and reason in message, message


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///convene.db",
        "sqlite+aiosqlite:////var/lib/convene/convene.db",
        "postgres://convene@db.example.org/convene",
        f"postgresql://convene:{PASSWORD}@[::1]:5433/convene?ssl=require",
        "postgresql+asyncpg:///convene",
    ],
)
def test_store_urls_the_drivers_take(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = store_file(tmp_path, url)
    assert main(["check-config", str(config)]) == 0
    out, err = outcome(capsys)
    assert out.startswith(f"{config}: OK (store: {url.split('://')[0]}") and err == ""
    assert (":***@" in out) == (PASSWORD in url)


DISCORD = '[discord]\nenabled = true\napplication_id = 1\ntoken_env = "CONVENE_TEST_TOKEN"\n'


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "environment variable CONVENE_TEST_TOKEN is not set"),
        ("", "environment variable CONVENE_TEST_TOKEN is empty; it should hold the token"),
        (" \t\n", "environment variable CONVENE_TEST_TOKEN is empty"),
        (f"{TOKEN} {TOKEN}", "environment variable CONVENE_TEST_TOKEN holds more than a token"),
        (f"Bot\x1b{TOKEN}", "holds more than a token"),
    ],
)
def test_token_in_the_environment(
    value: str | None,
    reason: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if value is None:
        monkeypatch.delenv("CONVENE_TEST_TOKEN", raising=False)
    else:
        monkeypatch.setenv("CONVENE_TEST_TOKEN", value)
    message = refused_by_both(tmp_path, capsys, DISCORD)
    assert message.startswith("[discord] token_env: ") and reason in message, message


def token_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[bytes | None, str]] = {
        "empty": (b"", "is empty; it should hold the token"),
        "blank": (b"  \n\n", "is empty; it should hold the token"),
        "binary": (b"\xff\xfe" + TOKEN.encode() + b"\x00", "is not a text file"),
        "two lines": (f"{TOKEN}\n{TOKEN}\n".encode(), "holds more than a token"),
        "huge": (TOKEN.encode() * 10_000, "is larger than any token"),
        "missing": (None, "cannot read"),
    }
    files = {}
    for name, (content, reason) in cases.items():
        path = tmp_path / name.replace(" ", "-")
        if content is not None:
            path.write_bytes(content)
        files[name] = (path, reason)
    files["directory"] = (tmp_path, "cannot read")
    return files


@pytest.mark.parametrize(
    "kind", ["empty", "blank", "binary", "two lines", "huge", "missing", "directory"]
)
def test_token_in_a_file(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, reason = token_files(tmp_path)[kind]
    text = f'[matrix]\nenabled = true\ntoken_env = ""\ntoken_file = "{path}"\n'
    message = refused_by_both(tmp_path, capsys, text)
    assert message.startswith("[matrix] token_file: ") and str(path) in message, message
    assert reason in message, message


def test_good_tokens_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVENE_TEST_TOKEN", f"  {TOKEN}\n")
    token = tmp_path / "token"
    token.write_text(f"{TOKEN}\n")
    matrix = f'[matrix]\nenabled = true\ntoken_env = ""\ntoken_file = "{token}"\n'
    config = settings_file(tmp_path, DISCORD + matrix)
    assert main(["check-config", str(config)]) == 0
    assert "platforms: matrix, discord" in outcome(capsys)[0]


@pytest.mark.parametrize("prefix", ["a", "A", "1", "é", " !", "!a", "! ", '"', "'", "`", "\t"])
def test_prefix_that_would_turn_words_into_commands(
    prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = refused_by_both(tmp_path, capsys, f"[bot]\ncommand_prefix = {json.dumps(prefix)}\n")
    assert message.startswith("[bot] command_prefix: use punctuation or symbols only, such as '!'")


@pytest.mark.parametrize("prefix", ["!", "?", ".", "!!", "$", "»", "💬"])
def test_prefixes_apart_from_words(
    prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = f"[bot]\ncommand_prefix = {json.dumps(prefix, ensure_ascii=False)}\n"
    config = settings_file(tmp_path, text)
    assert main(["check-config", str(config)]) == 0
    assert "OK" in outcome(capsys)[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[console]\nrole = "newcomer"\n',
            "[console] role: expected contributor, mentor or organizer (got 'newcomer')",
        ),
        ("[console]\nrole = 2\n", "[console] role: expected contributor, mentor or organizer"),
        (
            '[bot]\nlog_level = "verbose"\n',
            "[bot] log_level: expected 'DEBUG', 'INFO', 'WARNING' or 'ERROR' (got 'verbose')",
        ),
        (
            '[[rooms]]\nname = "x"\nmatrix_room_id = "!x:y"\npurposes = ["party"]\n',
            "[rooms[1]] purposes[1]: expected 'announcements', 'digest', 'help', 'mentors', 'reviews' or 'welcome'",
        ),
        ('[rooms]\nname = "x"\n', "[rooms]: write each room as its own [[rooms]] table"),
        ('bot = "x"\n', "[bot]: expected a table of keys"),
        ('[web]\nenabled = "maybe"\n', "[web] enabled: expected true or false (got 'maybe')"),
        ("[web]\nport = 70000\n", "[web] port: expected 65535 or less (got 70000)"),
        ("[mentoring]\ncapacity = 0\n", "[mentoring] capacity: expected 1 or more (got 0)"),
        ('[bot]\ncommand_prefix = "!!!!"\n', "[bot] command_prefix: expected at most 3 characters"),
        ("[matrix]\ntoken_file = 5\n", "[matrix] token_file: expected a file path in quotes"),
    ],
)
def test_settings_say_what_is_expected_in_words(
    text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    said = refused_by_both(tmp_path, capsys, text)
    assert said.startswith(message), said
    assert "Input should be" not in said


# --- A platform that turns the bot away ------------------------------------------------------------


@pytest.mark.e2e
def test_run_with_a_token_the_homeserver_rejects(
    synapse: Synapse,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONVENE_TEST_TOKEN", TOKEN)
    config = settings_file(
        tmp_path,
        f'[store]\nurl = "sqlite:///{tmp_path}/convene.db"\n'
        f'[matrix]\nenabled = true\nhomeserver = "{synapse.base_url}"\n'
        f'user_id = "@convene:{synapse.server_name}"\ntoken_env = "CONVENE_TEST_TOKEN"\n',
    )
    assert main(["run", "-c", str(config)]) == 1
    outcome(capsys)
    (stopped,) = [r for r in caplog.records if r.getMessage().startswith("matrix stopped")]
    assert stopped.getMessage() == (
        "matrix stopped: the homeserver rejected the access token (M_UNKNOWN_TOKEN); "
        "check [matrix] user_id and the token"
    )
    assert stopped.exc_info is None and TOKEN not in caplog.text
