"""A REPL on stdin/stdout, acting as one configured user, so anyone can try the bot locally."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.core.context import Caller
from bot.core.markup import to_plain
from bot.core.reply import Attachment, Reply
from bot.core.router import Router
from bot.platforms.base import typed_buttons
from bot.platforms.settings import ConsoleSettings


def render(reply: Reply, prefix: str, file_note: str = "") -> str:
    lines = [to_plain(reply.body()), *typed_buttons(reply, prefix), file_note]
    return "\n".join(line for line in lines if line)


def save(folder: Path, attachment: Attachment) -> Path:
    """Write a file the bot sent, readable by its owner only (it may hold personal data)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(attachment.filename).name
    path.touch(mode=0o600)
    path.write_bytes(attachment.data)
    return path.resolve()


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
        self.files = settings.files
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
                    self.write(render(reply, self.router.prefix, self._keep(reply)))
            self._prompt()

    def _keep(self, reply: Reply) -> str:
        """Write the reply's file, if any, and say where (or why not)."""
        if reply.attachment is None:
            return ""
        try:
            return f"File: {save(self.files, reply.attachment)}"
        except OSError as exc:
            return f"Could not write the file {reply.attachment.filename} in {self.files}: {exc}"

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
