"""The web login's place in tests of organizer pages, until the login exists: one viewer holds
every session, and a form is good when it carries back the token its page gave."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from bot.core.pages import Viewer

TOKEN = "token"


class LetIn:
    secure = False

    def __init__(self, viewer: Viewer) -> None:
        self._viewer = viewer

    async def viewer(self, request: web.Request) -> Viewer | None:
        return self._viewer

    def form_token(self, request: web.Request, viewer: Viewer) -> str:
        return TOKEN

    def form_ok(self, request: web.Request, viewer: Viewer, form: Mapping[str, str]) -> bool:
        return form.get("csrf") == TOKEN
