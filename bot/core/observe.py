"""What the core tells whoever watches it, without knowing who watches.

The router reports each command's outcome and duration, the outbox each send's result, and cogs
contribute counts read from the store when someone asks (`StoreGauge`). `bot/metrics.py` turns
these into Prometheus metrics; the core stays free of any metrics library, and a house built
without an observer (most tests) reports to `NOBODY`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

# ok: answered; refused: a UserError or an error reply (bad input, not allowed now);
# forbidden: the caller's role is too low; error: a bug, answered with an apology.
Outcome = Literal["ok", "refused", "forbidden", "error"]

_NAME = re.compile(r"[a-z][a-z0-9_]*")


class Observer(Protocol):
    def command(self, name: str, outcome: Outcome, seconds: float) -> None:
        """The command *name* (its spec's name, never what was typed) ended with *outcome*."""

    def delivery(self, platform: str, status: str, lag: float | None) -> None:
        """One send on *platform* ended with *status*; *lag* is due to sent, when sent."""


class _Nobody:
    def command(self, name: str, outcome: Outcome, seconds: float) -> None:
        return None

    def delivery(self, platform: str, status: str, lag: float | None) -> None:
        return None


NOBODY: Observer = _Nobody()


@dataclass(frozen=True)
class StoreGauge:
    """A number a cog reads from the store at scrape time, e.g. open mentor requests.

    *read* must be cheap (one indexed count): it runs on every scrape."""

    name: str
    help: str
    read: Callable[[AsyncSession], Awaitable[float]]

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"gauge name {self.name!r}: lower case letters, digits and _ only")
