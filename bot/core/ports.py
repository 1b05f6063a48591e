"""What the core and the platform adapters promise each other, so that adapters only translate.

An adapter sends messages (`Sender`) and remembers a little about its platform (`PlatformState`);
a send it cannot finish now goes to the outbox (`Outbox`), whose dispatcher owns every retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.core.reply import Reply

DIRECT = "user:"
# The platforms that have direct messages (the console has none).
DIRECT_PLATFORMS = ("discord", "matrix")


@dataclass(frozen=True)
class SendResult:
    """What a platform says about one send.

    `limited`: rate limited, try again after `retry_after`; a passing outage has `retry_after`
    and `error`; a refusal for good has only `error`."""

    message_id: str | None = None
    retry_after: float | None = None
    error: str | None = None
    limited: bool = False

    @property
    def ok(self) -> bool:
        return self.retry_after is None and self.error is None


@runtime_checkable
class Sender(Protocol):
    name: str

    @property
    def connected(self) -> bool:
        """False until the platform can send as it should (Matrix: room state synced)."""

    async def deliver(self, target: str, reply: Reply, key: str) -> SendResult:
        """Send *reply* to *target* once, idempotently under *key*: a channel or room id, or
        `user:<id>` for a direct message."""

    async def edit(self, target: str, message_id: str, reply: Reply, key: str) -> SendResult:
        """Replace the text of a message this bot posted in *target*."""


class Outbox(Protocol):
    async def later(
        self, platform: str, target: str, reply: Reply, key: str, result: SendResult
    ) -> None:
        """Take over a send that did not go through now (*result* says why): the dispatcher
        retries it under the same *key*, or records the refusal for organizers."""


class PlatformState(Protocol):
    """What an adapter remembers across restarts, kept in the store for it."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str) -> None: ...

    async def dm_room(self, platform: str, user_id: str) -> str | None:
        """The direct-message room the bot opened with this person, if any."""

    async def remember_dm_room(self, platform: str, user_id: str, room_id: str) -> bool:
        """Keep *room_id* as their direct-message room; False when the person is unknown."""

    async def is_dm_of(self, platform: str, room_id: str, user_id: str) -> bool: ...

    async def is_dm_room(self, platform: str, room_id: str) -> bool:
        """Whether *room_id* is the direct-message room the bot opened with anyone."""

    async def knows(self, platform: str, user_id: str) -> bool:
        """Whether the bot has met this person (and not forgotten them)."""
