"""A `convene run` kept running as a service manager keeps it (`Restart=always`), and asked how
it is through its `/healthz`."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.bot_process import STOP_WITHIN, Bot

# A process that exited is started again after this.
RESTART_AFTER = 1.0


class Instance:
    """One `convene run` kept running: started again whenever it exits, until the soak ends."""

    def __init__(self, name: str, config: Path, env: dict[str, str], http: aiohttp.ClientSession):
        self.name = name
        self.config = config
        self.env = env
        self.http = http
        self.bot: Bot | None = None
        self.logs: list[str] = []
        self.starts = 0
        self._ending = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise())

    async def _supervise(self) -> None:
        while not self._ending:
            self.bot = await Bot.start(self.config, self.env)
            self.starts += 1
            await self.bot.process.wait()
            await self.bot.kill()
            self.logs.append(self.bot.stderr)
            if not self._ending:
                await asyncio.sleep(RESTART_AFTER)

    def kill(self) -> None:
        if self.bot is not None and self.bot.process.returncode is None:
            self.bot.process.kill()

    async def health(self) -> dict[str, Any] | None:
        """/healthz of the process running now; None while it starts or is gone."""
        if self.bot is None or self.bot.process.returncode is not None:
            return None
        found = re.search(r"Web: (http://\S+)", self.bot.stdout)
        if found is None:
            return None
        try:
            async with self.http.get(
                found.group(1) + "/healthz", timeout=aiohttp.ClientTimeout(total=2)
            ) as response:
                body: dict[str, Any] = await response.json()
                return body
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError):
            return None

    async def serves(self, platform: str) -> bool:
        health = await self.health()
        return bool(
            health and health["platforms"].get(platform) and platform in health.get("leases", [])
        )

    async def end(self) -> None:
        """SIGTERM, and no restart; SIGKILL if it is still running after the stop's bound."""
        self._ending = True
        if self.bot is not None and self.bot.process.returncode is None:
            self.bot.process.terminate()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_WITHIN * 2)
            except TimeoutError:
                self.kill()
                await self._task
