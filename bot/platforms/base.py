"""What the app needs from every platform adapter."""

from __future__ import annotations

from typing import Protocol

from bot.core.audience import Audience
from bot.core.reply import Reply


class Refused(Exception):
    """The platform turned the bot away (a rejected token): retrying cannot help, and a
    traceback would not either, so the app says it in one line."""


class Platform(Protocol):
    name: str

    @property
    def connected(self) -> bool:
        """True while the platform can take commands; shown on /healthz."""

    async def run(self) -> None:
        """Serve until cancelled; returning means the platform is finished (console EOF)."""

    async def close(self) -> None:
        """Release connections; called once on shutdown, also after a failed start."""


def reaction_buttons(reply: Reply) -> dict[str, str]:
    """Buttons labelled with an emoji, which chat apps without buttons offer as reactions."""
    return {
        b.label: b.command
        for b in reply.buttons
        if b.label and not any(c.isalnum() for c in b.label)
    }


def typed_buttons(reply: Reply, prefix: str) -> list[str]:
    """Buttons for platforms without them: the command to type instead."""
    typing = Audience("text", "text", prefix)
    return [f"[{button.label}] type: {typing.command(button.command)}" for button in reply.buttons]
