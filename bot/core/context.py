"""Who is calling, from where, and with what rights: everything a handler may know of the caller."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from sqlmodel.ext.asyncio.session import AsyncSession

if TYPE_CHECKING:
    from bot.config import Settings

Clock = Callable[[], datetime]
CommandStyle = Literal["text", "slash"]


def style_of(platform: str) -> CommandStyle:
    """How people type commands on *platform*: Discord's are slash commands."""
    return "slash" if platform == "discord" else "text"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(enum.IntEnum):
    """Ordered so that a permission check is a comparison."""

    CONTRIBUTOR = 0
    MENTOR = 1
    ORGANIZER = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def _missing_(cls, value: object) -> Role | None:
        if isinstance(value, str):
            return cls.__members__.get(value.upper())
        return None


@dataclass(frozen=True)
class Caller:
    """What a platform adapter knows about the sender of one command."""

    platform: str
    user_id: str
    display_name: str
    role: Role
    room_id: str
    is_direct: bool = False
    style: CommandStyle = "text"


@dataclass
class Ctx:
    """One invocation: the caller, their Person, the store session, settings and the clock."""

    caller: Caller
    person_id: int
    session: AsyncSession
    settings: Settings
    clock: Clock = field(default=utcnow)
    topics: set[str] = field(default_factory=set)

    @property
    def prefix(self) -> str:
        return self.settings.bot.command_prefix

    @property
    def role(self) -> Role:
        return self.caller.role

    def changed(self, topic: str) -> None:
        """Announce a change (e.g. "events") to background planners once this command commits."""
        self.topics.add(topic)

    def now(self) -> datetime:
        return self.clock()

    def cmd(self, text: str) -> str:
        """How the caller would type *text* on their platform, e.g. `!link` or `/link`."""
        return f"{'/' if self.caller.style == 'slash' else self.prefix}{text}"
