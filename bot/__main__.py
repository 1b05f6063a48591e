"""`convene …`: run the bot, manage its store, check a configuration file."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings

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


async def _upgrade(settings: Settings) -> None:
    from bot.db import make_engine
    from bot.schema import upgrade

    engine = make_engine(settings.store.url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


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
        asyncio.run(_upgrade(settings))
        print("Store is at the newest revision.")
        return 0
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
