"""The small web server: a status page, a health check, and the pages cogs contribute."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.core.errors import UserError
from bot.core.pages import Page, PageHandler, PageRequest
from bot.core.router import Router
from bot.core.runtime import Runtime

HealthProbe = Callable[[], dict[str, bool]]


def make_web_app(
    runtime: Runtime, router: Router, pages: Mapping[str, PageHandler], health: HealthProbe
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
        platforms = health()
        status = 200 if all(platforms.values()) else 503
        return web.json_response({"ok": status == 200, "platforms": platforms}, status=status)

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    for path, handler in pages.items():
        app.router.add_get(path, _page(runtime, handler))
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


def _quoted(etag: str) -> str:
    return f'"{etag}"'
