"""`convene events …`: bring a community's existing schedule in."""

from __future__ import annotations

import argparse
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.cli import CliCommand, CliError, CliTools
from cogs.events.importer import ScheduleError, import_entries, read_schedule


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path)


def run_import(args: argparse.Namespace, tools: CliTools) -> int:
    path: Path = args.file
    try:
        schedule = read_schedule(path.name, path.read_bytes(), ZoneInfo(tools.env.timezone))
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    except ScheduleError as exc:
        raise CliError(f"nothing was imported from {path}:\n{exc}") from None

    async def work(session: AsyncSession) -> str:
        person = await tools.operator_id(session)
        report = await import_entries(
            session,
            schedule.entries,
            person_id=person,
            rooms=tools.env.rooms,
            now=tools.now(),
        )
        return str(report)

    print(f"{path}: {tools.in_store(work)}", file=tools.out)
    for warning in schedule.warnings:
        print(f"  warning: {warning}", file=tools.out)
    return 0


COMMANDS = (
    CliCommand(
        ("events", "import"),
        "add and update events from an .ics file or a yaml2ics YAML schedule",
        run_import,
        _import_arguments,
    ),
)
