"""`convene …`: run the bot, manage its store, FAQ and events, check a configuration file."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from cogs.faq.service import ImportCounts

T = TypeVar("T")

DEFAULT_CONFIG = Path("convene.toml")


def _config_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    if env := os.environ.get("CONVENE_CONFIG"):
        return Path(env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def _settings(given: Path | None) -> Settings:
    settings = load_settings(_config_path(given))
    settings.check_secrets()
    return settings


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.bot.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("discord", "nio", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))


async def _run(settings: Settings) -> int:
    from bot.app import App

    app = App(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, app.stop)
    return await app.run()


async def _in_store(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run *work* in one transaction on a migrated store, as every store command does."""
    from bot.db import make_engine, make_sessions
    from bot.schema import upgrade

    engine = make_engine(settings.store.url)
    try:
        await upgrade(engine)
        async with make_sessions(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


async def _nothing(session: AsyncSession) -> None:
    return None


async def _faq_import(settings: Settings, text: str, source: str) -> ImportCounts:
    from bot.core.context import utcnow
    from cogs.faq.service import import_toml

    return await _in_store(settings, lambda s: import_toml(s, text, source, utcnow()))


async def _faq_export(settings: Settings) -> tuple[str, int]:
    from cogs.faq.service import all_entries, export_toml

    async def export(session: AsyncSession) -> tuple[str, int]:
        return await export_toml(session), len(await all_entries(session))

    return await _in_store(settings, export)


def _events(settings: Settings, args: argparse.Namespace) -> int:
    from cogs.events import cli

    def store(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        return asyncio.run(_in_store(settings, work))

    if args.events_command == "import":
        return cli.import_file(
            args.file,
            settings=settings,
            store=store,
            out=sys.stdout,
            err=sys.stderr,
            skip_invalid=args.skip_invalid,
        )
    return cli.export_file(args.file, fmt=args.format, store=store, out=sys.stdout, err=sys.stderr)


def _faq(settings: Settings, action: str, path: Path) -> int:
    """File I/O stays out of the event loop; the store work runs in one transaction."""
    from cogs.faq.service import FaqFileError

    if action == "import":
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"convene: cannot read {path}: {exc}", file=sys.stderr)
            return 1
        try:
            counts = asyncio.run(_faq_import(settings, text, str(path)))
        except FaqFileError as exc:
            print(f"convene: nothing was imported:\n{exc}", file=sys.stderr)
            return 1
        print(
            f"{path}: {counts.added} added, {counts.changed} changed, {counts.unchanged} unchanged"
        )
        return 0
    text, count = asyncio.run(_faq_export(settings))
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"convene: cannot write {path}: {exc}", file=sys.stderr)
        return 1
    print(f"{path}: {count} entries written")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convene", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    config_help = "settings file (default: $CONVENE_CONFIG, else ./convene.toml if present)"
    run = sub.add_parser("run", help="run the bot on the configured platforms")
    run.add_argument("-c", "--config", type=Path, help=config_help)
    db = sub.add_parser("db", help="manage the store")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply every pending migration")
    up.add_argument("-c", "--config", type=Path, help=config_help)
    faq = sub.add_parser("faq", help="import or export the contributor FAQ as TOML")
    faq_sub = faq.add_subparsers(dest="faq_command", required=True)
    for name, what in (
        ("import", "add and update entries from a TOML file: all of it, or nothing"),
        ("export", "write every entry to a TOML file that import reads back"),
    ):
        action = faq_sub.add_parser(name, help=what)
        action.add_argument("file", type=Path)
        action.add_argument("-c", "--config", type=Path, help=config_help)
    events = sub.add_parser("events", help="import or export events as a calendar file")
    events_sub = events.add_subparsers(dest="events_command", required=True)
    load = events_sub.add_parser(
        "import", help="add and update events from an .ics file or a yaml2ics YAML schedule"
    )
    load.add_argument("file", type=Path)
    load.add_argument(
        "--skip-invalid", action="store_true", help="import the valid events, list the others"
    )
    load.add_argument("-c", "--config", type=Path, help=config_help)
    save = events_sub.add_parser("export", help="write the events still to come")
    save.add_argument("file", type=Path, nargs="?", help="default: standard output")
    save.add_argument("--format", choices=("ics", "yaml"), default="ics")
    save.add_argument("-c", "--config", type=Path, help=config_help)
    check = sub.add_parser("check-config", help="validate a settings file without connecting")
    check.add_argument("file", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check-config":
            settings = load_settings(args.file)
            settings.check_secrets()
            print(f"{args.file}: OK ({_summary(settings)})")
            return 0
        settings = _settings(args.config)
    except ConfigError as exc:
        print(f"convene: configuration error: {exc}", file=sys.stderr)
        return 2
    _logging(settings)
    if args.command == "db":
        asyncio.run(_in_store(settings, _nothing))
        print("Store is at the newest revision.")
        return 0
    if args.command == "faq":
        return _faq(settings, args.faq_command, args.file)
    if args.command == "events":
        return _events(settings, args)
    from bot.app import StartupError

    try:
        return asyncio.run(_run(settings))
    except StartupError as exc:
        print(f"convene: cannot start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _summary(settings: Settings) -> str:
    platforms = [
        name
        for name, on in (
            ("console", settings.console.enabled),
            ("matrix", settings.matrix.enabled),
            ("discord", settings.discord.enabled),
        )
        if on
    ]
    return f"platforms: {', '.join(platforms) or 'none'}; {len(settings.rooms)} rooms"


if __name__ == "__main__":
    sys.exit(main())
