"""How often one person may run a command: declared on the command, enforced once by the router.

Commands that write, or that could be guessed at (a link code), declare `limit=Limit(…)`. The
count is kept in the store (see `bot.limits`), so two instances on one PostgreSQL share it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.durations import span


@dataclass(frozen=True)
class Limit:
    """At most *times* runs per *per* (a fixed window that starts with the first run)."""

    times: int
    per: timedelta

    def __post_init__(self) -> None:
        if self.times < 1 or self.per <= timedelta(0):
            raise ValueError(f"a limit needs at least one run in a positive time, not {self}")

    @property
    def shown(self) -> str:
        return f"{self.times} times in {span(self.per)}"


# Counts one run of *bucket* by *person_id* at *now*; None when it may go ahead, else when the
# person may try again. Runs in its own transaction, so a refused attempt counts too.
Throttle = Callable[[AsyncSession, str, int, Limit, datetime], Awaitable[datetime | None]]


def try_again(limit: Limit, what: str, wait: timedelta) -> str:
    """The message a limited person gets: what they did too often, and when to try again."""
    return f"You have used {what} {limit.shown}, the most allowed. Try again in {span(wait)}."
