"""Web pages a cog serves, written without HTTP: a request in, a page out.

A page opens the store sessions it needs itself (a cog has the runtime from its setup), so a
page that is costly to build can read what it needs, let the store go, and build off the loop.
A page may name its content with an `etag`, a tag that changes whenever its body would; the web
server then answers a client that already holds that tag with "not modified" and no body.

An HTML page answers with a `View`: one of its cog's templates and the values to fill it with.
The web server renders it with autoescaping, so a cog never builds HTML by hand and text a
person wrote can never become markup. A page that needs a role says so when it registers; the
web server checks the viewer's role, read from the store on every request, before the handler
runs, so a handler never sees a request it may not answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.context import Role


@dataclass(frozen=True)
class Viewer:
    """The person logged in to the web pages, with their role as the store says it now."""

    person_id: int
    name: str
    role: Role


@dataclass(frozen=True)
class PageRequest:
    query: Mapping[str, str]
    now: datetime
    # The tags of the copies the client holds (HTTP's If-None-Match); "*" is any copy.
    held: frozenset[str] = field(default_factory=frozenset)
    method: str = "GET"
    # A POST's form fields; the web server has checked its CSRF token before the handler runs.
    form: Mapping[str, str] = field(default_factory=dict)
    viewer: Viewer | None = None
    # The values of the path's {placeholders}, e.g. {"id": "12"} for /events/{id}.
    path: Mapping[str, str] = field(default_factory=dict)

    def holds(self, etag: str) -> bool:
        return etag in self.held or "*" in self.held


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str
    # One tag, one body: the same etag must never name two different bodies.
    etag: str | None = None


@dataclass(frozen=True)
class Unchanged:
    """The client's copy, named by *etag*, is current: nothing is sent again."""

    etag: str


@dataclass(frozen=True)
class View:
    """An HTML page: *template* is "<cog>/<file>" under the cog's `templates/` folder, or a
    template of the core's own; it extends the core's "base.html" for the common layout."""

    template: str
    context: Mapping[str, object] = field(default_factory=dict)
    title: str = ""
    status: int = 200


@dataclass(frozen=True)
class Redirect:
    """After a POST: the browser goes to *location* (303 See Other), so a reload never posts
    twice."""

    location: str


# A `UserError` becomes a 400 with its message.
PageHandler = Callable[[PageRequest], Awaitable[Page | View | Redirect | Unchanged]]


@dataclass(frozen=True)
class PageSpec:
    """A page as a cog registers it: who may see it and where it appears in the navigation."""

    path: str
    handler: PageHandler
    # None: anyone, without logging in; else the least role that may see it.
    role: Role | None = None
    # Shown in the navigation of every page, to viewers who may see it; None keeps it out.
    title: str | None = None
    methods: tuple[str, ...] = ("GET",)
