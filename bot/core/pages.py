"""Web pages a cog serves, written without HTTP: a request in, a page out.

A page opens the store sessions it needs itself (a cog has the runtime from its setup), so a
page that is costly to build can read what it needs, let the store go, and build off the loop.
A page may name its content with an `etag`, a tag that changes whenever its body would; the web
server then answers a client that already holds that tag with "not modified" and no body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class PageRequest:
    query: Mapping[str, str]
    now: datetime
    # The tags of the copies the client holds (HTTP's If-None-Match); "*" is any copy.
    held: frozenset[str] = field(default_factory=frozenset)

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


# A `UserError` becomes a 400 with its message.
PageHandler = Callable[[PageRequest], Awaitable[Page | Unchanged]]
