"""GitHub's REST API through gidgethub: conditional requests, pagination, and rate limits.
Forgejo's and GitLab's APIs page the same way (`Link: rel="next"`) and answer 429 with
`Retry-After`, so the same client asks them, with GitLab's token in `PRIVATE-TOKEN`.

gidgethub sends `If-None-Match` with the ETag it cached for a URL and, on 304, answers from the
cache, which is how a poll with nothing new costs nothing against the rate limit (with a token:
GitHub counts anonymous 304s). It follows
`Link: rel="next"` pages in `getiter`. What it does not decide is what to do when GitHub says
"slow down": here a primary limit (no requests left until the reset) or a secondary one (403 or
429, with `Retry-After` or without) becomes `Postponed`, and the poller waits that long; nothing
read so far is lost, and nothing is retried in a loop.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import gidgethub
from gidgethub.aiohttp import GitHubAPI
from pydantic import SecretStr

from bot.core.context import Clock
from cogs.forge.settings import ForgeConfig

USER_AGENT = "Convene (community bot)"
# GitHub asks to wait at least a minute after a secondary limit that names no time.
SECONDARY_WAIT = timedelta(minutes=1)
CACHE_ENTRIES = 20_000


class Postponed(Exception):
    """GitHub asked us to wait until *until*."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


class Cache(OrderedDict[str, Any]):
    """gidgethub's ETag cache, bounded: the least recently used URL goes first."""

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        super().__init__()
        self.entries = entries

    def __getitem__(self, url: str) -> Any:
        value = super().__getitem__(url)
        self.move_to_end(url)
        return value

    def __setitem__(self, url: str, value: Any) -> None:
        super().__setitem__(url, value)
        self.move_to_end(url)
        while len(self) > self.entries:
            self.popitem(last=False)


class GitHub(GitHubAPI):
    """One forge's API for one poll. `requests` and `fresh` count what went out and what came
    back other than 304, so a poll knows whether anything changed."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        forge: ForgeConfig,
        cache: Cache,
        clock: Clock,
        token: SecretStr | None = None,
    ) -> None:
        # GitLab takes its token in a header of its own; GitHub and Forgejo as `token …`.
        gitlab = forge.kind == "gitlab"
        super().__init__(
            http,
            USER_AGENT,
            oauth_token=token.get_secret_value() if token and not gitlab else None,
            cache=cache,
            base_url=forge.api,
        )
        self.headers = {"private-token": token.get_secret_value()} if token and gitlab else {}
        self.clock = clock
        self.requests = 0
        self.fresh = 0

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        status, answered, content = await super()._request(method, url, headers, body)
        self.requests += 1
        if status != 304:
            self.fresh += 1
        return status, answered, content

    async def manage_rate_limit(self, *, method: str, url: str) -> None:
        """gidgethub counts the request down before sending it: below zero, none is left."""
        limit = self.rate_limit
        if limit is not None and limit.remaining < 0 and limit.reset_datetime > self.clock():
            limit.remaining += 1
            raise Postponed(limit.reset_datetime, "no requests left until the rate limit resets")

    def _postponed(self, exc: gidgethub.HTTPException) -> Postponed | None:
        now = self.clock()
        if isinstance(exc, gidgethub.RateLimitExceeded):
            return Postponed(exc.rate_limit.reset_datetime, "rate limit reached")
        if exc.status_code not in (403, 429):
            return None
        headers = exc.headers or {}
        wait = headers.get("retry-after")
        if wait is not None and wait.strip().isdigit():
            return Postponed(now + timedelta(seconds=int(wait)), "secondary rate limit")
        if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
            reset = datetime.fromtimestamp(float(headers["x-ratelimit-reset"]), UTC)
            return Postponed(max(reset, now), "rate limit reached")
        if exc.status_code == 429 or "rate limit" in str(exc).lower():
            return Postponed(now + SECONDARY_WAIT, "secondary rate limit")
        return None

    async def each(self, path: str) -> AsyncGenerator[Any]:
        try:
            async for item in self.getiter(path, extra_headers=self.headers):
                yield item
        except gidgethub.HTTPException as exc:
            raise self._postponed(exc) or exc from None

    async def send(self, path: str, data: Any) -> Any:
        try:
            return await self.post(path, data=data, extra_headers=self.headers)
        except gidgethub.HTTPException as exc:
            raise self._postponed(exc) or exc from None

    async def item(self, path: str) -> Any:
        try:
            return await self.getitem(path, extra_headers=self.headers)
        except gidgethub.HTTPException as exc:
            raise self._postponed(exc) or exc from None
