"""A REPL on stdin/stdout, acting as one configured user, so anyone can try the bot locally."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import TextIO

from bot.core.context import Caller
from bot.core.markup import to_plain
from bot.core.reply import Reply
from bot.core.router import Router
from bot.platforms.base import typed_buttons
from bot.platforms.settings import ConsoleSettings


def render(reply: Reply, prefix: str) -> str:
    lines = [to_plain(reply.body()), *typed_buttons(reply, prefix)]
    return "\n".join(line for line in lines if line)


class ConsolePlatform:
    name = "console"

    def __init__(
        self,
        router: Router,
        settings: ConsoleSettings,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self.router = router
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.caller = Caller(
            platform="console",
            user_id=settings.user,
            display_name=settings.user,
            role=settings.role,
            room_id="console",
            is_direct=True,
        )
        self._interactive = self.stdin.isatty()

    @property
    def connected(self) -> bool:
        return True

    def write(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def run(self) -> None:
        lines = self._start_reader()
        self._prompt()
        while (line := await lines.get()) != "":
            text = line.strip()
            if text:
                command = self.router.strip_prefix(text) or text.lstrip("/")
                reply = await self.router.handle_text(self.caller, command)
                if reply is not None:
                    self.write(render(reply, self.router.prefix))
            self._prompt()

    def _prompt(self) -> None:
        if self._interactive:
            self.stdout.write("> ")
            self.stdout.flush()

    def _start_reader(self) -> asyncio.Queue[str]:
        """Read stdin in a daemon thread: it works for terminals, pipes and files alike, and a
        blocked read can never hold up shutdown."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str] = asyncio.Queue()

        def read() -> None:
            while True:
                line = self.stdin.readline()
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, line)
                except RuntimeError:
                    return
                if line == "":
                    return

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        return queue

    async def close(self) -> None:
        return None
