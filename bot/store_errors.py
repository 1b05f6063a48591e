"""Why the store could not be opened or used, in one line for the person at the terminal.

`convene run` and every subcommand describe a store failure here, so that PostgreSQL being
down, a wrong password or a SQLite file in a missing directory reads the same everywhere: the
store's URL without its password, and the cause in words, never a traceback.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from alembic.util.exc import CommandError
from sqlalchemy import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.db import shown_url, store_url

STORE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SQLAlchemyError,
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    CommandError,
)
"""What opening or using the store raises when the cause is outside the bot."""


# Connection exceptions (08…), the server shutting down or starting (57P01-57P03), and the
# conflicts PostgreSQL asks to retry (serialization failure, deadlock).
_TRANSIENT_STATES = {"40001", "40P01", "57P01", "57P02", "57P03"}


def transient(exc: BaseException) -> bool:
    """The store failed for a moment — a connection ended, the server restarting, a conflict
    PostgreSQL asks to retry — rather than refused the work: the transaction was rolled back
    whole, so running it again may succeed."""
    for cause in _causes(exc):
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and (state.startswith("08") or state in _TRANSIENT_STATES):
            return True
        if isinstance(cause, ConnectionError):
            return True
    return False


def describe(exc: BaseException, url: str, *, opened: bool = False) -> str:
    """One line: which store (password hidden) and what went wrong with it.

    *opened* says the store was open and migrated when *exc* came, so the failure is not one
    of reaching it."""
    where = shown_url(url)
    head = f"the store at {where} failed" if opened else f"cannot open the store at {where}"
    try:
        parsed: URL | None = store_url(url)
    except ValueError:
        parsed = None
    line = f"{head}: {_reason(_cause(exc), parsed)}"
    password = parsed.password if parsed is not None else None
    if password:
        line = line.replace(str(password), "***")
    return " ".join(line.split())


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for following in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(following, BaseException):
                todo.append(following)


def _cause(exc: BaseException) -> BaseException:
    """The driver's or the system's own error under SQLAlchemy's wrappers."""
    kinds = (asyncpg.PostgresError, sqlite3.Error, OSError, CommandError)
    return next((cause for cause in _causes(exc) if isinstance(cause, kinds)), exc)


def _reason(cause: BaseException, url: URL | None) -> str:
    if isinstance(cause, asyncpg.PostgresError):
        return _postgresql(cause, url)
    if isinstance(cause, sqlite3.Error) and url is not None and url.database:
        return _sqlite(cause, Path(url.database))
    if isinstance(cause, OSError):
        return _network(cause, url)
    if isinstance(cause, CommandError):
        unknown = re.search(r"Can't locate revision identified by '([^']*)'", str(cause))
        if unknown:
            return (
                f"its schema is at revision {unknown[1]}, which this version of Convene does "
                "not know; it was upgraded by a newer Convene, so run that one (or newer)"
            )
    return _first_line(cause)


def _postgresql(cause: asyncpg.PostgresError, url: URL | None) -> str:
    message = str(cause)
    code = cause.sqlstate or ""
    user = url.username if url is not None and url.username else "the user"
    if code == "28P01":
        return f"{message}; check the user and password in [store] url"
    if code.startswith("28"):
        return f"{message}; check the user in [store] url"
    if code == "3D000":
        name = url.database if url is not None and url.database else "NAME"
        return f"{message}; create it first, e.g. createdb -O {user} {name}"
    if code == "42501":
        return f"{message}; {user} needs to own the database (ALTER DATABASE … OWNER TO {user})"
    return message


def _sqlite(cause: sqlite3.Error, path: Path) -> str:
    message = str(cause)
    if message == "file is not a database":
        return f"{path} is not a SQLite database; name a new file, or the store's own"
    if message != "unable to open database file":
        return message
    folder = path.parent
    if path.is_dir():
        return f"{path} is a directory; name a file in it, such as {path / 'convene.db'}"
    if not folder.exists():
        return f"the directory {folder} does not exist; create it, or change [store] url"
    if not folder.is_dir():
        return f"{folder} is not a directory; change [store] url"
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"cannot write in {folder}; check its permissions for the user the bot runs as"
    return f"cannot open {path} ({message}); check the path and its permissions"


def _network(cause: OSError, url: URL | None) -> str:
    host = (url.host if url is not None else None) or "localhost"
    port = (url.port if url is not None else None) or 5432
    if isinstance(cause, socket.gaierror):
        return f"unknown host {host!r}; check the host in [store] url"
    if isinstance(cause, ConnectionRefusedError):
        return f"nothing listens on {host}:{port}; is PostgreSQL running there?"
    if isinstance(cause, TimeoutError):
        return f"no answer from {host}:{port} in time; is the host right and reachable?"
    return cause.strerror or _first_line(cause)


def _first_line(cause: BaseException) -> str:
    text = str(cause).strip().splitlines()
    first = text[0] if text else type(cause).__name__
    return re.sub(r"^\([\w.]+\) ", "", first)
