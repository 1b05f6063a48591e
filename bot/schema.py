"""Applying the Alembic revisions in `migrations/`, from the app or the CLI."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations

# The advisory lock the migrations run under ("convene migrate" as a number).
_MIGRATING = 0x436F6E76_6D696772


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision; safe to run on every start. On PostgreSQL two
    instances may start at once: a transaction-level advisory lock makes them take turns, and
    the second finds the schema current."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATING}
            )
        await connection.run_sync(_upgrade)
