"""What the app needs from every platform adapter."""

from __future__ import annotations

from typing import Protocol

from bot.core.reply import Reply


class Platform(Protocol):
    name: str

    @property
    def connected(self) -> bool:
        """True while the platform can take commands; shown on /healthz."""

    async def run(self) -> None:
        """Serve until cancelled; returning means the platform is finished (console EOF)."""

    async def close(self) -> None:
        """Release connections; called once on shutdown, also after a failed start."""


def typed_buttons(reply: Reply, prefix: str) -> list[str]:
    """Buttons for platforms without them: the command to type instead."""
    return [f"[{button.label}] type: {prefix}{button.command}" for button in reply.buttons]
