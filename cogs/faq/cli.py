"""`convene faq import|export FILE`: the FAQ as a TOML file organizers can keep in git."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.cli import CliCommand, CliError, CliTools
from cogs.faq.entries import all_entries
from cogs.faq.tomlfile import FaqFileError, export_toml, import_toml


def _file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path)


def run_import(args: argparse.Namespace, tools: CliTools) -> int:
    """File I/O stays out of the event loop; the store work runs in one transaction."""
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CliError(
            f"cannot read {path}: byte {exc.start + 1} is not UTF-8; expected a TOML text file"
        ) from None
    try:
        counts = tools.in_store(lambda s: import_toml(s, text, str(path), tools.now()))
    except FaqFileError as exc:
        raise CliError(f"nothing was imported:\n{exc}") from None
    print(
        f"{path}: {counts.added} added, {counts.changed} changed, {counts.unchanged} unchanged",
        file=tools.out,
    )
    return 0


def run_export(args: argparse.Namespace, tools: CliTools) -> int:
    path: Path = args.file

    async def export(session: AsyncSession) -> tuple[str, int]:
        return await export_toml(session), len(await all_entries(session))

    text, count = tools.in_store(export)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None
    print(f"{path}: {count} entries written", file=tools.out)
    return 0


COMMANDS = (
    CliCommand(
        ("faq", "import"),
        "add and update entries from a TOML file: all of it, or nothing",
        run_import,
        _file,
    ),
    CliCommand(
        ("faq", "export"),
        "write every entry to a TOML file that import reads back",
        run_export,
        _file,
    ),
)
