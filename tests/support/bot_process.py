"""`convene run` in a subprocess, as people and service managers run and stop it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import tomli_w

from tests.support.eventually import eventually

STOP_WITHIN = 5.0
ROOT = Path(__file__).resolve().parent.parent.parent


class Bot:
    """One `convene run` process; its output is collected as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.out: list[str] = []
        self.err: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        self._readers = [
            asyncio.create_task(_collect(process.stdout, self.out)),
            asyncio.create_task(_collect(process.stderr, self.err)),
        ]

    @classmethod
    async def start(cls, config: Path, env: dict[str, str] | None = None) -> Bot:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "-c",
            str(config),
            cwd=config.parent,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    async def started(self) -> None:
        await self.until(lambda: "Type !help." in self.stdout, "the banner")

    async def until(self, condition: Callable[[], bool], what: str, timeout: float = 30) -> None:  # noqa: ASYNC109
        """*condition* once true; fails, with what the bot said, if it exits or times out."""
        with suppress(TimeoutError):
            await eventually(
                lambda: condition() or self.process.returncode is not None,
                what=what,
                timeout=timeout,
            )
        if not condition():
            raise AssertionError(f"no {what}:\n{self.stdout}\n{self.stderr}")

    def say(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")

    async def stop(self, how: str) -> None:
        """Stop the bot by *how* (eof, SIGTERM, SIGINT); asserts a clean stop in time."""
        if how == "eof":
            assert self.process.stdin is not None
            self.process.stdin.close()
        else:
            self.process.send_signal(getattr(signal, how))
        try:
            code = await asyncio.wait_for(self.process.wait(), STOP_WITHIN)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(
                f"still running {STOP_WITHIN} s after {how}:\n{self.stderr}"
            ) from None
        await asyncio.gather(*self._readers)
        assert code == 0, f"exit status {code} after {how}:\n{self.stderr}"
        assert "Traceback" not in self.stderr, self.stderr
        assert "Unclosed" not in self.stderr, "a connection was left open:\n" + self.stderr

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        await asyncio.gather(*self._readers)


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace"))


@asynccontextmanager
async def bot(config: Path, env: dict[str, str] | None = None) -> AsyncIterator[Bot]:
    """A started bot; killed at the end if the test did not stop it."""
    running = await Bot.start(config, env)
    try:
        await running.started()
        yield running
    finally:
        await running.kill()


def write_config(tmp_path: Path, store: str, **sections: Any) -> Path:
    config = tmp_path / "convene.toml"
    data = {"store": {"url": store}, "web": {"enabled": False}, **sections}
    config.write_text(tomli_w.dumps(data))
    return config


def sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/convene.db"


def sqlite_file(tmp_path: Path) -> Path:
    """The store's file as the bot names it: the absolute path, links resolved."""
    return tmp_path.resolve() / "convene.db"
