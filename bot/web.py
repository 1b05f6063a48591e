"""The small web server: a status page, a health check, and the pages cogs contribute."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import NamedTuple

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.core.errors import UserError
from bot.core.pages import PageHandler
from bot.core.router import Router
from bot.core.runtime import Runtime

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
    return app


def _page(runtime: Runtime, handler: PageHandler) -> Handler:
    async def serve(request: web.Request) -> web.Response:
        async with runtime.sessions() as session:
            try:
                page = await handler(request.query, session, runtime.now())
            except UserError as exc:
                return web.Response(status=400, text=exc.message + "\n")
        return web.Response(body=page.body, headers={"Content-Type": page.content_type})

    return serve
