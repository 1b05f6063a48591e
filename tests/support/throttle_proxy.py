"""A reverse proxy in front of Synapse that can answer with 429s, as a homeserver under load does.

Synapse's own limits (`rc_message`) are read once at start and are per user, so a storm that
comes and goes within a run, on a server already up, is made here instead: while a storm lasts,
every message sent (`PUT …/send/…`) is refused with `M_LIMIT_EXCEEDED` and a `retry_after_ms`, as
Synapse refuses it; everything else passes through. With Synapse down, it answers 502, as a
reverse proxy in front of a stopped homeserver does. While it holds (`hold`), messages sent are
kept unanswered and never reach Synapse, as when a bot dies with its send on the wire.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web

# What a proxy must not pass on: they describe one hop, not the request.
_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"}


class ThrottleProxy:
    def __init__(self, upstream: str, retry_after_ms: int = 1000) -> None:
        self.upstream = upstream
        self.retry_after_ms = retry_after_ms
        self.port = 0
        self.refused = 0
        self._storm_until = 0.0
        self.held = 0
        self._holding: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    def storm(self, seconds: float) -> None:
        """Refuse every message sent for the next *seconds*."""
        self._storm_until = asyncio.get_running_loop().time() + seconds

    def calm(self) -> None:
        self._storm_until = 0.0

    def hold(self) -> None:
        """Keep every message sent from now on unanswered, never passed on, until `release`."""
        self._holding = asyncio.Event()

    def release(self) -> None:
        """Pass messages on again; those held are answered 502 and never sent."""
        if self._holding is not None:
            self._holding.set()
        self._holding = None

    def _storming(self) -> bool:
        return asyncio.get_running_loop().time() < self._storm_until

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if request.method == "PUT" and "/send/" in request.path and self._holding is not None:
            self.held += 1
            await self._holding.wait()
            return web.json_response({"errcode": "M_UNKNOWN", "error": "held"}, status=502)
        if request.method == "PUT" and "/send/" in request.path and self._storming():
            self.refused += 1
            body = {
                "errcode": "M_LIMIT_EXCEEDED",
                "error": "Too Many Requests",
                "retry_after_ms": self.retry_after_ms,
            }
            return web.json_response(body, status=429)
        assert self._http is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        try:
            async with self._http.request(
                request.method,
                self.upstream + request.rel_url.raw_path_qs,
                headers=headers,
                data=await request.read(),
                allow_redirects=False,
            ) as upstream:
                body_bytes = await upstream.read()
                reply_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
                reply_headers.pop("Content-Encoding", None)
                return web.Response(body=body_bytes, status=upstream.status, headers=reply_headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return web.json_response(
                {"errcode": "M_UNKNOWN", "error": f"bad gateway: {exc}"}, status=502
            )
