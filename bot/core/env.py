"""What the configuration tells every feature, and nothing a feature should not see.

A command or a planner reads the bot's name, command prefix and home zone, the rooms and the
room purposes the loaded cogs give meaning to, the web address, and its own cog's section.
Tokens and store URLs stay with the parts that use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from bot.core.audience import Audience
from bot.core.rooms import Rooms
from bot.core.settings import Section

S = TypeVar("S", bound=Section)


@dataclass
class WebAddress:
    """Where people reach the web server: `public_url` when set, else where it listens (known
    for sure once it has started); None when it is off or its port is not known yet."""

    enabled: bool = False
    public_url: str | None = None
    configured: str | None = None
    listening: str | None = None

    @property
    def url(self) -> str | None:
        if not self.enabled:
            return None
        found = self.public_url or self.listening or self.configured
        return None if found is None else found.rstrip("/")


@dataclass(frozen=True)
class Env:
    name: str = "Convene"
    prefix: str = "!"
    timezone: str = "UTC"
    rooms: Rooms = field(default_factory=Rooms)
    purposes: frozenset[str] = frozenset()
    sections: Mapping[type[Section], Section] = field(default_factory=dict)
    web: WebAddress = field(default_factory=WebAddress)

    def section(self, kind: type[S]) -> S:
        """The cog's settings section *kind*, as configured (its defaults when not)."""
        found = self.sections.get(kind)
        return found if isinstance(found, kind) else kind()

    def audience(self, platform: str) -> Audience:
        return Audience.of(platform, self.prefix)
