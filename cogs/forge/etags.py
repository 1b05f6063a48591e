"""The poll's ETags, kept in the store: a restarted instance, or another one sharing the store,
polls unchanged repositories with 304s only, which cost nothing against the rate limit.

gidgethub asks its cache for every GET; this cache is the in-memory one (`github.Cache`), filled
from the `forge_etag` table before each poll and written back after it. Only the listings of
pull requests are kept (their URLs are the same every poll: a few rows per repository, pages
that are no longer asked for go after a complete poll), each body trimmed to what the readers use
(`shapes.trim`). Reviews and CI status are read only for pull requests that moved, whose answer
is new anyway, and stay in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import col, delete, select

from bot.core.runtime import Runtime
from cogs.forge.github import Cache
from cogs.forge.models import ForgeEtag
from cogs.forge.shapes import trim

# Where a forge's listings start after its API's base: GitHub's and Forgejo's, GitLab's.
LISTINGS = ("/pulls?", "/merge_requests?")


class StoredCache(Cache):
    """gidgethub's cache, which notes the listing URLs it was asked for and those it was given
    a new answer for, to write back."""

    def __init__(self, api: str) -> None:
        super().__init__()
        self.api = api
        self.asked: set[str] = set()
        self.dirty: set[str] = set()

    def kept(self, url: str) -> bool:
        """A listing of this forge (another forge may share a host, under another path)."""
        rest = url.removeprefix(self.api)
        return (
            rest != url
            and rest.startswith(("/repos/", "/projects/"))
            and any(part in rest for part in LISTINGS)
        )

    def __getitem__(self, url: str) -> Any:
        if self.kept(url):
            self.asked.add(url)
        return super().__getitem__(url)

    def __setitem__(self, url: str, value: Any) -> None:
        super().__setitem__(url, value)
        if self.kept(url):
            self.dirty.add(url)

    def put(self, url: str, value: Any) -> None:
        """Fill from the store: nothing to write back."""
        super().__setitem__(url, value)


def _ours(cache: StoredCache, rows: Iterable[ForgeEtag]) -> list[ForgeEtag]:
    return [row for row in rows if cache.kept(row.url)]


async def load(runtime: Runtime, cache: StoredCache) -> None:
    """Bring *cache* up to what the store holds, which another instance may have written."""
    query = select(ForgeEtag).where(col(ForgeEtag.url).startswith(cache.api + "/"))
    async with runtime.sessions() as session:
        rows = _ours(cache, (await session.exec(query)).all())
    for row in rows:
        held = dict.get(cache, row.url)
        if held is None or held[0] != row.etag:
            cache.put(row.url, (row.etag, row.last_modified, json.loads(row.body), row.more))
    cache.asked.clear()
    cache.dirty.clear()


async def save(runtime: Runtime, cache: StoredCache, complete: bool, now: datetime) -> None:
    """Write back the listings answered anew; after a *complete* poll, forget the pages it no
    longer asked for (a repository removed, a listing grown shorter)."""
    async with runtime.transaction() as session:
        for url in sorted(cache.dirty):
            value = dict.get(cache, url)
            if value is None:
                continue
            etag, modified, data, more = value
            body = [trim(item) for item in data] if isinstance(data, list) else trim(data)
            row = await session.get(ForgeEtag, url)
            row = row or ForgeEtag(url=url, body="", saved_at=now)
            row.etag, row.last_modified, row.more = etag, modified, more
            row.body, row.saved_at = json.dumps(body, separators=(",", ":")), now
            session.add(row)
        if complete:
            query = select(ForgeEtag.url).where(col(ForgeEtag.url).startswith(cache.api + "/"))
            gone = [
                url
                for url in (await session.exec(query)).all()
                if cache.kept(url) and url not in cache.asked and url not in cache.dirty
            ]
            if gone:
                await session.exec(delete(ForgeEtag).where(col(ForgeEtag.url).in_(gone)))
    cache.dirty.clear()
