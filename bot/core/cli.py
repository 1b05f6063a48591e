"""Subcommands of `convene` that a cog contributes (`convene faq import FILE`), and what they get.

The core owns the program: it parses arguments, loads the configuration and turns a `CliError`
into one line on stderr and a non-zero exit. A cog's command only does its work.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TextIO, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.context import Caller
from bot.core.env import Env

T = TypeVar("T")


class CliError(Exception):
    """What went wrong, in one line for the person at the terminal; the exit code is 1."""


class CliTools(Protocol):
    env: Env
    # Who acts in the store when a command needs a person (the console's configured user).
    operator: Caller
    out: TextIO
    err: TextIO

    def in_store(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run *work* in one transaction on the migrated store; a store that cannot be reached
        raises `CliError`."""

    def now(self) -> datetime: ...

    async def operator_id(self, session: AsyncSession) -> int:
        """The Person of `operator`, created on first use."""


@dataclass(frozen=True)
class CliCommand:
    words: tuple[str, ...]
    help: str
    run: Callable[[argparse.Namespace, CliTools], int]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
