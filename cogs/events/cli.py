"""`convene events import` and `convene events export`: a community's schedule in and out.

Reading and checking a file happens before the store is touched, so a refused file leaves no
trace. On a terminal a long import shows where it is ("event 412 of 677") on stderr, on one
line that it clears when done; redirected, it prints only the outcome.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.cli import CliCommand, CliError, CliTools
from cogs.events import export, limits
from cogs.events.importer import Report, ScheduleError, import_entries, read_schedule


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


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="import the valid events and list each skipped one with its reason",
    )


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > limits.MAX_FILE_BYTES:
            raise CliError(
                f"nothing was imported from {path}:\nthe file is larger than "
                f"{limits.MAX_FILE_BYTES / 2**20:,.0f} MiB: split it"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\0" in data[:8000]:
        raise CliError(
            f"nothing was imported from {path}:\nthe file is binary (it holds NUL bytes); "
            "expected an .ics calendar or a yaml2ics .yaml schedule"
        )
    return data


def import_file(args: argparse.Namespace, tools: CliTools) -> int:
    path: Path = args.file
    skip_invalid: bool = args.skip_invalid
    data = _read(path)
    checking = _Progress(tools.err, "checking")
    try:
        schedule = read_schedule(
            path.name,
            data,
            ZoneInfo(tools.env.timezone),
            now=tools.now(),
            skip_invalid=skip_invalid,
            opener=lambda relative: (path.parent / relative).read_bytes(),
            progress=checking,
        )
    except ScheduleError as exc:
        hint = "" if skip_invalid else "\n(--skip-invalid imports the valid events)"
        raise CliError(f"nothing was imported from {path}:\n{exc}{hint}") from None
    finally:
        checking.done()
    importing = _Progress(tools.err, "importing")

    async def work(session: AsyncSession) -> Report:
        return await import_entries(
            session,
            schedule.entries,
            person_id=await tools.operator_id(session),
            rooms=tools.env.rooms,
            now=tools.now(),
            progress=importing,
        )

    try:
        report = tools.in_store(work)
    finally:
        importing.done()
    print(f"{path}: {report}", file=tools.out)
    for warning in schedule.warnings:
        print(f"  warning: {warning}", file=tools.out)
    for skipped in schedule.skipped:
        print(f"  skipped: {skipped}", file=tools.out)
    return 0


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, nargs="?", help="where to write (default: stdout)")
    parser.add_argument("--format", choices=("ics", "yaml"), default="ics")


def export_file(args: argparse.Namespace, tools: CliTools) -> int:
    """Every event still to come, as .ics or as a yaml2ics schedule, to a file or stdout."""
    path: Path | None = args.file
    yaml = args.format == "yaml"

    async def work(session: AsyncSession) -> tuple[str, int]:
        moment = tools.now()
        pairs = await export.upcoming(session, moment)
        text = export.to_yaml(pairs, moment) if yaml else export.to_ics(pairs, moment).decode()
        return text, len(pairs)

    text, count = tools.in_store(work)
    if path is None:
        tools.out.write(text)
        return 0
    try:
        path.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"{path}: {count} events written", file=tools.out)
    return 0


COMMANDS = (
    CliCommand(
        ("events", "import"),
        "add and update events from an .ics file or a yaml2ics YAML schedule",
        import_file,
        _import_arguments,
    ),
    CliCommand(
        ("events", "export"),
        "write every event still to come as .ics or as a yaml2ics schedule",
        export_file,
        _export_arguments,
    ),
)
