"""The store's part of `doctor`: reachable, migrated to the newest revision, writable.

Inside the running bot the store is checked on the `doctor` command's own session: on SQLite
the process's sessions take turns, and a second connection would wait for the first. `convene
doctor` opens a connection of its own, and never creates a SQLite file that is not there yet.
Either way the write is undone: a savepoint rolled back.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Literal

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.diagnose import Finding
from bot.db import store_url
from bot.schema import alembic_config
from bot.state import BotState
from bot.store_errors import STORE_ERRORS, describe

PROBE_KEY = "doctor.probe"
UPGRADE = "run `convene db upgrade` (`convene run` also upgrades the store at start)"
REACH = "start the database, or correct [store] url"


def _revisions(connection: Connection) -> tuple[set[str], set[str], set[str]]:
    """The store's revisions, the newest this Convene knows, and those of the store it
    does not know."""
    current = set(MigrationContext.configure(connection).get_current_heads())
    script = ScriptDirectory.from_config(alembic_config())
    known = {revision.revision for revision in script.walk_revisions()}
    return current, set(script.get_heads()), current - known


async def _schema(connection: AsyncConnection) -> Finding | None:
    """What is wrong with the store's schema, if anything."""
    current, heads, unknown = await connection.run_sync(_revisions)
    if current == heads:
        return None
    if unknown:
        return Finding.problem(
            "store",
            f"its schema is at revision {', '.join(sorted(unknown))}, which this Convene does "
            "not know: a newer Convene upgraded it",
            "run that version of Convene, or a newer one",
        )
    if not current:
        return Finding.warn("store", "reachable, but no schema yet", UPGRADE)
    return Finding.warn(
        "store", f"reachable, at revision {', '.join(sorted(current))}, not the newest", UPGRADE
    )


async def _write(connection: AsyncConnection, now: datetime) -> None:
    await connection.execute(insert(BotState).values(key=PROBE_KEY, value="", updated_at=now))
    await connection.execute(delete(BotState).where(col(BotState.key) == PROBE_KEY))


async def _unwritable(connection: AsyncConnection, url: str, now: datetime) -> Finding | None:
    """Why the store cannot be written, if it cannot: a write, undone by a savepoint."""
    try:
        savepoint = await connection.begin_nested()
        await _write(connection, now)
        await savepoint.rollback()
    except STORE_ERRORS as exc:
        return Finding.problem(
            "store",
            f"cannot be written: {describe(exc, url, opened=True)}",
            "give the user the bot runs as write access to the store (SQLite: the file and its "
            "folder; PostgreSQL: make it own the database)",
        )
    return None


async def _checked(connection: AsyncConnection, url: str, now: datetime) -> list[Finding]:
    problem = await _schema(connection) or await _unwritable(connection, url, now)
    if problem is not None:
        return [problem]
    return [Finding.ok("store", "reachable, at the newest schema revision, writable")]


async def store_in_session(session: AsyncSession, now: datetime) -> list[Finding]:
    """The store, as the running bot's `doctor` command sees it through its own session."""
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    try:
        return await _checked(await session.connection(), url, now)
    except STORE_ERRORS as exc:
        return [Finding.problem("store", describe(exc, url, opened=True), REACH)]


StoreState = Literal["ready", "new", "unreadable"]


async def store_findings(
    engine: AsyncEngine, url: str, now: datetime
) -> tuple[list[Finding], StoreState]:
    """The store, from outside the bot: reachable, migrated to the newest revision, writable;
    and whether the rooms added from chat can be read from it ("new": there are none yet)."""
    missing = _missing_file(url)
    if missing is not None:
        found = _no_file_yet(missing)
        return [found], "new" if found.fix is None else "unreadable"
    try:
        async with engine.connect() as connection:
            findings = await _checked(connection, url, now)
    except STORE_ERRORS as exc:
        return [Finding.problem("store", describe(exc, url), REACH)], "unreadable"
    return findings, "ready" if all(f.fix is None for f in findings) else "unreadable"


def _missing_file(url: str) -> Path | None:
    """The SQLite store's file, when it does not exist yet."""
    parsed = store_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def _no_file_yet(path: Path) -> Finding:
    folder = path.parent
    if folder.is_dir() and os.access(folder, os.W_OK):
        return Finding.ok("store", f"no file yet at {path}; `convene run` creates it")
    return Finding.problem(
        "store",
        f"no file at {path}, and it cannot be created: {folder} is missing or not writable",
        f"create {folder} writable by the bot's user, or change [store] url",
    )
