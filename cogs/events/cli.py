"""`convene events import` and `convene events export`, as plain functions.

Each takes what it needs: the settings, a runner that does store work in one transaction on a
migrated store (the CLI entry owns the engine), paths and output streams; each returns the
exit code. Reading and checking a file happens before the store is touched, so a refused file
leaves no trace. On a terminal a long import shows where it is ("event 412 of 677") on stderr,
on one line that it clears when done; redirected, it prints only the outcome.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Literal, TextIO, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.core.context import Caller, utcnow
from bot.identity import resolve_person
from cogs.events import export, limits
from cogs.events.importer import Report, ScheduleError, import_entries, read_schedule

T = TypeVar("T")
StoreRunner = Callable[[Callable[[AsyncSession], Awaitable[T]]], T]
Format = Literal["ics", "yaml"]


class _Progress:
    """ "event N of M" on one terminal line, redrawn at most ten times a second."""

    def __init__(self, stream: TextIO, what: str) -> None:
        self.stream, self.what = stream, what
        self.shown = 0.0
        self.active = stream.isatty()

    def __call__(self, number: int, total: int) -> None:
        if not self.active or total < 2:
            return
        moment = time.monotonic()
        if number == total or moment - self.shown >= 0.1:
            self.stream.write(f"\r\x1b[K{self.what} event {number} of {total}")
            self.stream.flush()
            self.shown = moment

    def done(self) -> None:
        if self.active and self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def import_file(
    path: Path,
    *,
    settings: Settings,
    store: StoreRunner[Report],
    out: TextIO,
    err: TextIO,
    skip_invalid: bool = False,
    now: Callable[[], datetime] = utcnow,
) -> int:
    try:
        if path.stat().st_size > limits.MAX_FILE_BYTES:
            raise ScheduleError(
                f"the file is larger than {limits.MAX_FILE_BYTES / 2**20:,.0f} MiB: split it"
            )
        data = path.read_bytes()
    except OSError as exc:
        print(f"convene: cannot read {path}: {exc.strerror or exc}", file=err)
        return 1
    except ScheduleError as exc:
        print(f"convene: nothing was imported from {path}:\n{exc}", file=err)
        return 1
    checking = _Progress(err, "checking")
    try:
        schedule = read_schedule(
            path.name,
            data,
            ZoneInfo(settings.bot.timezone),
            now=now(),
            skip_invalid=skip_invalid,
            opener=lambda relative: (path.parent / relative).read_bytes(),
            progress=checking,
        )
    except ScheduleError as exc:
        checking.done()
        hint = "" if skip_invalid else "\n(--skip-invalid imports the valid events)"
        print(f"convene: nothing was imported from {path}:\n{exc}{hint}", file=err)
        return 1
    checking.done()
    console = settings.console
    importer = Caller("console", console.user, console.user, console.role, "console")
    importing = _Progress(err, "importing")

    async def work(session: AsyncSession) -> Report:
        moment = now()
        person = await resolve_person(session, importer, moment)
        return await import_entries(
            session,
            schedule.entries,
            person_id=person,
            rooms=settings.rooms,
            now=moment,
            progress=importing,
        )

    try:
        report = store(work)
    except (OSError, SQLAlchemyError) as exc:
        importing.done()
        print(f"convene: nothing was imported: the store cannot be used ({exc})", file=err)
        return 1
    importing.done()
    print(f"{path}: {report}", file=out)
    for warning in schedule.warnings:
        print(f"  warning: {warning}", file=out)
    for skipped in schedule.skipped:
        print(f"  skipped: {skipped}", file=out)
    return 0


def export_file(
    path: Path | None,
    *,
    fmt: Format,
    store: StoreRunner[tuple[str, int]],
    out: TextIO,
    err: TextIO,
    now: Callable[[], datetime] = utcnow,
) -> int:
    """Every event still to come, as .ics or as a yaml2ics schedule, to *path* or *out*."""

    async def work(session: AsyncSession) -> tuple[str, int]:
        moment = now()
        pairs = await export.upcoming(session, moment)
        text = (
            export.to_ics(pairs, moment).decode() if fmt == "ics" else export.to_yaml(pairs, moment)
        )
        return text, len(pairs)

    try:
        text, count = store(work)
    except (OSError, SQLAlchemyError) as exc:
        print(f"convene: nothing was exported: the store cannot be used ({exc})", file=err)
        return 1
    if path is None:
        out.write(text)
        return 0
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        print(f"convene: cannot write {path}: {exc.strerror or exc}", file=err)
        return 1
    print(f"{path}: {count} events written", file=out)
    return 0
