"""The small web server: a status page, a health check, and the pages cogs contribute."""

from __future__ import annotations

import asyncio
import html
import os
from collections.abc import Callable, Mapping
from typing import NamedTuple

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.config import WebSettings
from bot.core.diagnose import Finding
from bot.core.errors import UserError
from bot.core.pages import Page, PageHandler, PageRequest
from bot.core.router import Router
from bot.core.runtime import Runtime
from bot.core.webhooks import Webhook, WebhookRequest

HealthProbe = Callable[[], dict[str, bool]]


class LeaseReport(NamedTuple):
    held: list[str]
    standby: list[str]


def make_web_app(
    runtime: Runtime,
    router: Router,
    pages: Mapping[str, PageHandler],
    health: HealthProbe,
    leases: Callable[[], LeaseReport | None] = lambda: None,
    webhooks: Mapping[str, Webhook] | None = None,
) -> web.Application:
    name = runtime.env.name

    async def index(_request: web.Request) -> web.Response:
        rows = "\n".join(
            f"<li><code>{html.escape(spec.usage(prefix=router.prefix))}</code> — "
            f"{html.escape(spec.help)}</li>"
            for spec in router.specs
        )
        platforms = ", ".join(name for name, up in health().items() if up) or "none yet"
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(name)}"
            f"</title></head><body><h1>{html.escape(name)}</h1>"
            f"<p>Connected: {html.escape(platforms)}</p><h2>Commands</h2><ul>{rows}</ul>"
            "</body></html>"
        )
        return web.Response(text=page, content_type="text/html")

    async def healthz(_request: web.Request) -> web.Response:
        """Healthy when every platform this instance serves is connected; a standby, whose
        platforms another instance holds, is healthy too, and says which it holds."""
        platforms, report = health(), leases()
        standby = set(report.standby) if report is not None else set()
        ok = all(up for name, up in platforms.items() if name not in standby)
        body: dict[str, object] = {"ok": ok, "platforms": platforms}
        if report is not None:
            body["leases"] = report.held
            body["standby"] = report.standby
        return web.json_response(body, status=200 if ok else 503)

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    for path, handler in pages.items():
        app.router.add_get(path, _page(runtime, handler))
    for path, hook in (webhooks or {}).items():
        app.router.add_post(path, _webhook(runtime, hook))
    return app


def _page(runtime: Runtime, handler: PageHandler) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        held = frozenset(tag.value for tag in request.if_none_match or ())
        asked = PageRequest(request.query, runtime.now(), held)
        try:
            page = await handler(asked)
        except UserError as exc:
            return web.Response(status=400, text=exc.message + "\n")
        if page.etag is not None and asked.holds(page.etag):
            return web.Response(status=304, headers={"ETag": _quoted(page.etag)})
        assert isinstance(page, Page)
        headers = {"Content-Type": page.content_type}
        if page.etag is not None:
            headers["ETag"] = _quoted(page.etag)
        return web.Response(body=page.body, headers=headers)

    return serve


def _webhook(runtime: Runtime, hook: Webhook) -> Handler:
    async def receive(request: web.Request) -> web.Response:
        too_big = web.Response(status=413, text=f"the body is larger than {hook.max_body} bytes\n")
        if (request.content_length or 0) > hook.max_body:
            return too_big
        body = bytearray()
        async for chunk in request.content.iter_chunked(64 * 1024):
            body += chunk
            if len(body) > hook.max_body:
                return too_big
        headers = {name.lower(): value for name, value in request.headers.items()}
        answer = await hook.handler(WebhookRequest(headers, bytes(body), runtime.now()))
        return web.Response(status=answer.status, text=answer.text + "\n" if answer.text else "")

    return receive


def _quoted(etag: str) -> str:
    return f'"{etag}"'


class WebCheck:
    """The web port: free before the bot starts, serving once it runs."""

    name = "web"

    def __init__(self, settings: WebSettings, serving: Callable[[], str | None]) -> None:
        self.settings = settings
        self.serving = serving

    async def diagnose(self) -> list[Finding]:
        if not self.settings.enabled:
            return [Finding.ok("web", "off ([web] enabled = false)")]
        url = self.serving()
        if url is not None:
            return [Finding.ok("web", f"serving at {url}")]
        host, port = self.settings.host, self.settings.port
        if port == 0:
            return [Finding.ok("web", "takes any free port at start ([web] port = 0)")]
        try:
            server = await asyncio.get_running_loop().create_server(asyncio.Protocol, host, port)
        except OSError as exc:
            if await _convene_at(host, port):
                return [
                    Finding.ok("web", f"a Convene already serves at http://{host}:{port} (running)")
                ]
            return [
                Finding.problem(
                    "web",
                    f"cannot listen on {host}:{port} ({_reason(exc)}): another program holds it",
                    "stop that program, or set [web] port to a free port "
                    "(or [web] enabled = false)",
                )
            ]
        server.close()
        await server.wait_closed()
        return [Finding.ok("web", f"{host}:{port} is free")]


def _reason(exc: OSError) -> str:
    return os.strerror(exc.errno).lower() if exc.errno else str(exc)


async def _convene_at(host: str, port: int) -> bool:
    """Whether what holds the port is a Convene, by its health check's answer."""
    try:
        timeout = aiohttp.ClientTimeout(total=1)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(f"http://{host}:{port}/healthz") as response,
        ):
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
        return False
    return isinstance(body, dict) and "platforms" in body
