"""The web server: a status page, a health check, and the pages cogs contribute.

HTML is rendered from Jinja templates with autoescaping: the core's own (`bot/templates`, whose
`base.html` every page extends) and each cog's, named "<cog>/<file>". Who may see a page is
decided here, before its handler runs, by the `Gate` that knows the viewer's session.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Mapping
from typing import NamedTuple, Protocol
from urllib.parse import urlsplit

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

from bot.config import WebSettings
from bot.core.audience import anywhere
from bot.core.diagnose import Finding
from bot.core.durations import span
from bot.core.errors import UserError
from bot.core.pages import PageRequest, PageSpec, Redirect, Unchanged, View, Viewer
from bot.core.router import Router
from bot.core.runtime import Runtime
from bot.core.webhooks import Webhook, WebhookRequest
from bot.web_login import LINK_LIFETIME

HealthProbe = Callable[[], dict[str, bool]]


class Gate(Protocol):
    """The web login: who holds this request's session, and whether a posted form came from
    a page this server gave that session (its CSRF token). Its cookies are `secure` when the
    site is served over https."""

    secure: bool

    async def viewer(self, request: web.Request) -> Viewer | None: ...

    def form_token(self, request: web.Request, viewer: Viewer) -> str: ...

    def form_ok(self, request: web.Request, viewer: Viewer, form: Mapping[str, str]) -> bool: ...

    async def log_in(self, token: str, response: web.StreamResponse) -> bool:
        """Trade a login link's secret for a session set on *response*; False when refused."""
        ...

    async def log_out(self, request: web.Request, response: web.StreamResponse) -> None: ...


class NoLogin:
    """No one logs in: every page that needs a role is refused, and so is every POST."""

    secure = False

    async def viewer(self, request: web.Request) -> Viewer | None:
        return None

    def form_token(self, request: web.Request, viewer: Viewer) -> str:
        return ""

    def form_ok(self, request: web.Request, viewer: Viewer, form: Mapping[str, str]) -> bool:
        return False

    async def log_in(self, token: str, response: web.StreamResponse) -> bool:
        return False

    async def log_out(self, request: web.Request, response: web.StreamResponse) -> None:
        return None


class LeaseReport(NamedTuple):
    held: list[str]
    standby: list[str]


def make_web_app(
    runtime: Runtime,
    router: Router,
    pages: Mapping[str, PageSpec],
    health: HealthProbe,
    leases: Callable[[], LeaseReport | None] = lambda: None,
    *,
    templates: Mapping[str, str] | None = None,
    gate: Gate | None = None,
    webhooks: Mapping[str, Webhook] | None = None,
) -> web.Application:
    gate = gate if gate is not None else NoLogin()
    site = _Site(runtime.env.name, pages, gate, runtime.env.web.public_url)

    async def index(request: web.Request) -> web.Response:
        commands = [
            ((spec.usage("text", router.prefix), spec.usage("slash", router.prefix)), spec.help)
            for spec in router.specs
        ]
        connected = [name for name, up in health().items() if up]
        view = View("index.html", {"commands": commands, "connected": connected})
        return await site.render(request, view, await gate.viewer(request))

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
    aiohttp_jinja2.setup(app, loader=_loader(templates or {}), autoescape=True)
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    login = _Login(runtime, site, gate)
    app.router.add_get("/login/{token}", login.page)
    app.router.add_post("/login", login.log_in)
    app.router.add_post("/logout", login.log_out)
    for spec in pages.values():
        serve = _page(runtime, site, spec)
        for method in spec.methods:
            app.router.add_route(method, spec.path, serve)
    for path, hook in (webhooks or {}).items():
        app.router.add_post(path, _webhook(runtime, hook))
    return app


class _Login:
    """The web side of `web login`: the link from chat, the login it leads to, and logging
    out."""

    def __init__(self, runtime: Runtime, site: _Site, gate: Gate) -> None:
        self._runtime = runtime
        self._site = site
        self._gate = gate

    async def page(self, request: web.Request) -> web.Response:
        """The link from chat: a button to press, not a login yet, so a link preview (which
        follows links posted in chat) cannot spend it, and the session cookie is set by a
        same-site request, which SameSite=Strict needs to send it on the next page."""
        token = request.match_info["token"]
        browser = secrets.token_urlsafe(24)
        context = {"token": token, "proof": _proof(browser, token), "lasts": span(LINK_LIFETIME)}
        response = await self._site.render(
            request, View("login.html", context, title="Log in"), None
        )
        response.headers.update(_PRIVATE)
        response.set_cookie(
            _BROWSER,
            browser,
            max_age=_BROWSER_AGE,
            path="/login",
            secure=self._gate.secure,
            httponly=True,
            samesite="Strict",
        )
        return response

    async def log_in(self, request: web.Request) -> web.StreamResponse:
        if not self._site.same_origin(request):
            return await self._site.refuse(request, 403, _FOREIGN, None)
        posted = await request.post()
        token, proof = posted.get("token"), posted.get("proof")
        browser = request.cookies.get(_BROWSER, "")
        response = web.Response(status=303, headers={"Location": "/"})
        response.del_cookie(_BROWSER, path="/login")
        if (
            isinstance(token, str)
            and isinstance(proof, str)
            and token
            and browser
            and hmac.compare_digest(_proof(browser, token).encode(), proof.encode())
            and await self._gate.log_in(token, response)
        ):
            return response
        message = (
            f"This login link is used, expired or unknown: {_ask(self._runtime)} for a new one."
        )
        refused = await self._site.refuse(request, 403, message, None)
        refused.headers.update(_PRIVATE)
        return refused

    async def log_out(self, request: web.Request) -> web.StreamResponse:
        if not self._site.same_origin(request):
            return await self._site.refuse(request, 403, _FOREIGN, None)
        viewer = await self._gate.viewer(request)
        if viewer is not None:
            posted = await request.post()
            form = {key: value for key, value in posted.items() if isinstance(value, str)}
            if not self._gate.form_ok(request, viewer, form):
                return await self._site.refuse(request, 403, _EXPIRED, viewer)
        response = web.Response(status=303, headers={"Location": "/"})
        await self._gate.log_out(request, response)
        return response


def _loader(templates: Mapping[str, str]) -> jinja2.BaseLoader:
    cogs = {cog: jinja2.PackageLoader(package, "templates") for cog, package in templates.items()}
    return jinja2.ChoiceLoader(
        [jinja2.PackageLoader("bot", "templates"), jinja2.PrefixLoader(cogs, delimiter="/")]
    )


class _Site:
    """What every HTML page shares: the site's name, the navigation the viewer may follow,
    and the token a form must carry back."""

    def __init__(
        self, name: str, pages: Mapping[str, PageSpec], gate: Gate, public_url: str | None
    ) -> None:
        self.name = name
        self.gate = gate
        self.public = urlsplit(public_url) if public_url else None
        self.links = [
            (spec.title, spec.path, spec.role)
            for spec in pages.values()
            if spec.title is not None and "{" not in spec.path
        ]

    def same_origin(self, request: web.Request) -> bool:
        """Whether a POST comes from one of our own pages, as its `Origin` (else `Referer`)
        says: another site's form, even with a stolen CSRF token, writes nothing. Browsers send
        `Origin` with every form POST; a POST that names no origin at all is refused too.

        Ours is `public_url`'s origin, or, without one, the host the request was sent to (a
        proxy in front may end TLS, so the scheme is not compared then)."""
        sent = request.headers.get("Origin") or request.headers.get("Referer")
        if not sent or sent == "null":
            return False
        found = urlsplit(sent)
        if self.public is not None:
            return (found.scheme, found.netloc) == (self.public.scheme, self.public.netloc)
        return bool(found.netloc) and found.netloc == request.host

    async def render(self, request: web.Request, view: View, viewer: Viewer | None) -> web.Response:
        nav = [
            (title, path)
            for title, path, role in self.links
            if role is None or (viewer is not None and viewer.role >= role)
        ]
        shared = {
            "site": self.name,
            "title": view.title,
            "nav": nav,
            "here": request.path,
            "viewer": viewer,
            "form_token": self.gate.form_token(request, viewer) if viewer is not None else "",
        }
        response = aiohttp_jinja2.render_template(
            view.template, request, {**view.context, **shared}, status=view.status
        )
        if viewer is not None:
            # Rendered for one person: no cache between them and us may keep it.
            response.headers["Cache-Control"] = "no-store"
        return response

    async def refuse(
        self, request: web.Request, status: int, message: str, viewer: Viewer | None
    ) -> web.Response:
        view = View("message.html", {"message": message}, title=_REFUSALS[status], status=status)
        return await self.render(request, view, viewer)


_REFUSALS = {
    400: "That did not work",
    401: "Log in first",
    403: "Not for your role",
}
_EXPIRED = "This form has expired: reload the page and send it again."
_FOREIGN = "This form was sent from another site: open the page here and send it again."
# A page whose address holds a secret: not kept by caches, nor named to other sites (only to
# this one: with no referrer at all, a browser names no origin on the page's POST).
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}
# The login page's cookie: the login POST must come from the browser that opened the link, so
# another site cannot log someone's browser in to the other site's owner's session.
_BROWSER = "convene_login"
_BROWSER_AGE = 600


def _ask(runtime: Runtime) -> str:
    """How to ask for a login link: the reader of a page may be on any platform."""
    typed, slash = anywhere(runtime.env.prefix, "web login")
    return f"type {typed} in chat (Discord: {slash})"


def _proof(browser: str, token: str) -> str:
    """Ties the login form to the browser that got it: its cookie and the link's secret."""
    return hashlib.sha256(f"{browser}:{token}".encode()).hexdigest()


def _page(runtime: Runtime, site: _Site, spec: PageSpec) -> Handler:
    async def serve(request: web.Request) -> web.StreamResponse:
        viewer = await site.gate.viewer(request)
        if spec.role is not None and viewer is None:
            ask = _ask(runtime)
            message = f"This page is for organizers. To log in, {ask}: the bot sends you a link."
            return await site.refuse(request, 401, message, viewer)
        if spec.role is not None and viewer is not None and viewer.role < spec.role:
            return await site.refuse(
                request, 403, f"This page is for the {spec.role.label} role and up.", viewer
            )
        form: dict[str, str] = {}
        if request.method == "POST":
            if not site.same_origin(request):
                return await site.refuse(request, 403, _FOREIGN, viewer)
            posted = await request.post()
            form = {key: value for key, value in posted.items() if isinstance(value, str)}
            if viewer is None or not site.gate.form_ok(request, viewer, form):
                return await site.refuse(request, 403, _EXPIRED, viewer)
        held = frozenset(tag.value for tag in request.if_none_match or ())
        asked = PageRequest(
            request.query, runtime.now(), held, request.method, form, viewer, request.match_info
        )
        try:
            page = await spec.handler(asked)
        except UserError as exc:
            if spec.title is None:
                return web.Response(status=400, text=exc.message + "\n")
            return await site.refuse(request, 400, exc.message, viewer)
        match page:
            case Unchanged(etag):
                return web.Response(status=304, headers={"ETag": _quoted(etag)})
            case Redirect(location):
                raise web.HTTPSeeOther(location)
            case View():
                return await site.render(request, page, viewer)
        headers = {"Content-Type": page.content_type}
        if page.etag is not None:
            if asked.holds(page.etag):
                return web.Response(status=304, headers={"ETag": _quoted(page.etag)})
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
