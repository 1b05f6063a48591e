"""A platform that pushes text through the real registry and records the Replies.

The shape of maubot's testing bot: tests speak as people on a platform and read what the bot
answered, with no network.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bot.core.context import Caller, CommandStyle, Role
from bot.core.markup import to_plain
from bot.core.reply import Reply
from bot.core.router import Router


@dataclass
class Said:
    reply: Reply

    @property
    def text(self) -> str:
        return to_plain(self.reply.body())


@dataclass
class FakePlatform:
    registry: Router
    name: str = "matrix"
    style: CommandStyle = "text"
    log: list[tuple[Caller, str, Reply]] = field(default_factory=list)

    def person(
        self, user_id: str, role: Role = Role.CONTRIBUTOR, name: str | None = None
    ) -> FakeUser:
        return FakeUser(self, user_id, role, name or user_id.lstrip("@").split(":")[0])


@dataclass
class FakeUser:
    platform: FakePlatform
    user_id: str
    role: Role
    name: str
    room_id: str = "room"
    is_direct: bool = False

    @property
    def caller(self) -> Caller:
        return Caller(
            platform=self.platform.name,
            user_id=self.user_id,
            display_name=self.name,
            role=self.role,
            room_id=self.room_id,
            is_direct=self.is_direct,
            style=self.platform.style,
        )

    async def post(self, text: str, purposes: tuple[str, ...] = ("help",)) -> Said | None:
        """An ordinary (non-command) message in a room with *purposes*; None when unanswered."""
        reply = await self.platform.registry.handle_message(self.caller, text, purposes)
        return None if reply is None else Said(reply)

    async def join(self, purposes: tuple[str, ...] = ("welcome",)) -> None:
        """Join `room_id`, a room with *purposes*, as a platform reports a member joining."""
        await self.platform.registry.handle_join(self.caller, {self.room_id: purposes})

    async def say(self, line: str) -> Said:
        """Send a chat line such as `!link`; a line without the prefix is an error here."""
        registry = self.platform.registry
        text = registry.strip_prefix(line)
        assert text is not None, f"{line!r} is not a command line"
        reply = await registry.handle_text(self.caller, text)
        assert reply is not None, "a command without an event id is always answered"
        self.platform.log.append((self.caller, line, reply))
        return Said(reply)

    async def send(self, line: str, event_id: str, *, resends: bool = False) -> Said | None:
        """The chat line as the platform's event *event_id*; None when that event was
        answered before (a replay), unless the platform *resends* the answer it kept."""
        registry = self.platform.registry
        text = registry.strip_prefix(line)
        assert text is not None, f"{line!r} is not a command line"
        caller = replace(self.caller, event_id=event_id, resends=resends)
        reply = await registry.handle_text(caller, text)
        return None if reply is None else Said(reply)
