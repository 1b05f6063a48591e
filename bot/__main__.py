"""`convene …`: write a configuration file (`init`), run the bot, manage its store, check a
configuration file or the whole setup (`doctor`), and whatever subcommands the cogs contribute
(`convene faq import`, `convene events import`)."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cogs import discover
from bot.config import ConfigError, Settings, checked_settings
from bot.core.cli import CliCommand, CliError, CliTools
from bot.core.context import Caller, Clock, utcnow
from bot.core.diagnose import Finding
from bot.core.env import Env
from bot.db import shown_url

T = TypeVar("T")

DEFAULT_CONFIG = Path("convene.toml")
CONFIG_HELP = "settings file (default: $CONVENE_CONFIG, else ./convene.toml if present)"


def _config_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    if env := os.environ.get("CONVENE_CONFIG"):
        return Path(env)
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def _logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.bot.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("discord", "nio", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))


async def _run(settings: Settings) -> int:
    """SIGTERM and SIGINT ask the app to stop, through the event loop (never a
    KeyboardInterrupt raised wherever the code happens to be); one that comes while the app
    is being built stops it as soon as it runs."""
    loop = asyncio.get_running_loop()
    requested = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, requested.set)
    from bot.app import App

    app = App(settings)

    async def stop_when_asked() -> None:
        await requested.wait()
        app.stop()

    stopper = asyncio.create_task(stop_when_asked())
    try:
        return await app.run()
    finally:
        stopper.cancel()


class Tools:
    """What a cog's subcommand gets: the settings it may read and one transaction at a time
    on the migrated store."""

    def __init__(
        self, settings: Settings, out: TextIO, err: TextIO, *, clock: Clock = utcnow
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.env: Env = settings.env()
        console = settings.console
        self.operator = Caller("console", console.user, console.user, console.role, "console")
        self.out, self.err = out, err

    def now(self) -> datetime:
        return self.clock()

    def in_store(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        from bot.store_errors import STORE_ERRORS, describe

        opened = False

        async def run() -> T:
            nonlocal opened
            from bot.db import dispose, make_engine, make_sessions
            from bot.schema import upgrade

            engine = make_engine(self.settings.store.url)
            try:
                await upgrade(engine)
                opened = True
                async with make_sessions(engine)() as session:
                    result = await work(session)
                    await session.commit()
                    return result
            finally:
                await dispose(engine)

        try:
            return asyncio.run(run())
        except STORE_ERRORS as exc:
            raise CliError(describe(exc, self.settings.store.url, opened=opened)) from None

    async def operator_id(self, session: AsyncSession) -> int:
        from bot.identity import resolve_person

        return await resolve_person(session, self.operator, self.now())


async def _nothing(session: AsyncSession) -> None:
    return None


def _upgrade(args: argparse.Namespace, tools: CliTools) -> int:
    tools.in_store(_nothing)
    print("Store is at the newest revision.", file=tools.out)
    return 0


CORE_COMMANDS = (CliCommand(("db", "upgrade"), "apply every pending migration", _upgrade),)


def complain(message: str, stream: TextIO) -> None:
    """What went wrong, on *stream*; a control character quoted from a file (an escape
    sequence, a NUL) is shown escaped rather than acted on by the terminal."""
    shown = "".join(
        char if char.isprintable() or char in "\n\t" else char.encode("unicode_escape").decode()
        for char in message
    )
    print(f"convene: {shown}", file=stream)


def run_command(command: CliCommand, args: argparse.Namespace, tools: CliTools) -> int:
    """A subcommand's exit code; what went wrong is one line on stderr, never a traceback."""
    try:
        return command.run(args, tools)
    except CliError as exc:
        complain(str(exc), tools.err)
        return 1


def _parser(commands: Sequence[CliCommand]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convene", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the bot on the configured platforms")
    run.add_argument("-c", "--config", type=Path, help=CONFIG_HELP)
    init = sub.add_parser(
        "init",
        help="write convene.toml from the Discord token and the Matrix login",
        description=(
            "Write a working convene.toml: servers, channels, roles and rooms are named, "
            "their ids looked up. On a terminal it asks; with --yes every answer is a flag."
        ),
    )
    from bot.init import arguments

    arguments(init)
    check = sub.add_parser("check-config", help="validate a settings file without connecting")
    check.add_argument("file", type=Path)
    doctor = sub.add_parser(
        "doctor", help="check the setup: platforms, rooms, store, web port, clock"
    )
    doctor.add_argument("-c", "--config", type=Path, help=CONFIG_HELP)
    groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}
    for command in commands:
        group, name = command.words
        if group not in groups:
            holder = sub.add_parser(group, help=f"{group} commands")
            groups[group] = holder.add_subparsers(dest=f"{group}_command", required=True)
        action = groups[group].add_parser(name, help=command.help)
        if command.arguments is not None:
            command.arguments(action)
        action.add_argument("-c", "--config", type=Path, help=CONFIG_HELP)
        action.set_defaults(cli_command=command)
    return parser


def main(argv: list[str] | None = None) -> int:
    commands = [*CORE_COMMANDS, *(command for cog in discover() for command in cog.cli)]
    args = _parser(commands).parse_args(argv)
    if args.command == "init":
        return _init(args)
    try:
        if args.command == "check-config":
            settings = checked_settings(args.file)
            print(f"{args.file}: OK ({_summary(settings)})")
            return 0
        settings = checked_settings(_config_path(args.config))
    except ConfigError as exc:
        complain(f"configuration error: {exc}", sys.stderr)
        return 2
    _logging(settings)
    if args.command == "doctor":
        return _doctor(settings, sys.stdout)
    command: CliCommand | None = getattr(args, "cli_command", None)
    if command is not None:
        return run_command(command, args, Tools(settings, sys.stdout, sys.stderr))
    from bot.app import StartupError

    try:
        return asyncio.run(_run(settings))
    except StartupError as exc:
        complain(f"cannot start: {exc}", sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _init(args: argparse.Namespace) -> int:
    from bot.init import main as init

    try:
        return init(args)
    except CliError as exc:
        complain(str(exc), sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _doctor(settings: Settings, out: TextIO) -> int:
    """Every finding, problems first, each with its fix; exit 1 when there is a problem."""
    from bot.core.diagnose import Status, report, worst

    findings = asyncio.run(_examine(settings))
    print("\n".join(report(findings)), file=out)
    return 1 if worst(findings) is Status.PROBLEM else 0


async def _examine(settings: Settings, *, clock: Clock = utcnow) -> list[Finding]:
    """The app as `run` builds it, asked without running: nothing connects but to check, and
    the store is neither created nor upgraded. Rooms from chat are read when the store can be."""
    from bot.app import App
    from bot.doctor import store_findings

    app = App(settings, clock=clock, stdin=io.StringIO(), stdout=io.StringIO())
    try:
        found, state = await store_findings(app.engine, settings.store.url, app.runtime.now())
        if state == "ready":
            async with app.sessions() as session:
                await app.house.rooms.refresh(session)
        elif state == "unreadable":
            found.append(
                Finding.unknown(
                    "rooms",
                    "only the config file's rooms are checked: those added from chat are in the "
                    "store",
                    "fix the store, then run `convene doctor` again",
                )
            )
        return found + await app.runtime.doctors.examine()
    finally:
        await app.close()


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
    return (
        f"store: {shown_url(settings.store.url)}; platforms: {', '.join(platforms) or 'none'}; "
        f"{len(settings.rooms)} rooms in the file (more may be added from chat)"
    )


if __name__ == "__main__":
    sys.exit(main())
