"""Who is calling, from where, and with what rights: everything a handler may know of the caller."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.audience import Audience, CommandStyle
from bot.core.bus import Topic, note
from bot.core.env import Env
from bot.core.roles import KnownRoles

Clock = Callable[[], datetime]


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
    # The platform's id of the message or interaction: with two instances, or a resumed sync,
    # one event may arrive twice, and the store answers it once (see `Router`).
    event_id: str | None = None
    # The platform may bring the event again after a crash and sends an answer keyed by the
    # event at most once (Matrix's transaction ids): the answer of a command that wrote is kept
    # with the event's record and given again on a replay, so a crash between the commit and
    # the send loses no answer.
    resends: bool = False


@dataclass
class Ctx:
    """One invocation: the caller, their Person, the store session, configuration and clock."""

    caller: Caller
    person_id: int
    session: AsyncSession
    env: Env = field(default_factory=Env)
    clock: Clock = field(default=utcnow)
    roles: KnownRoles = field(default_factory=KnownRoles)

    @property
    def role(self) -> Role:
        return self.caller.role

    @property
    def audience(self) -> Audience:
        return Audience(self.caller.platform, self.caller.style, self.env.prefix)

    def changed(self, topic: Topic) -> None:
        """Wake whoever plans from *topic* once this command commits."""
        note(self.session, topic)

    def now(self) -> datetime:
        return self.clock()

    def cmd(self, name: str, /, **options: object) -> str:
        """How the caller types a command on their platform, e.g. `!link` or `/link`."""
        return self.audience.command(name, **options)
