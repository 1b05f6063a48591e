"""The poll's ETags, kept in the store: a restarted instance, or another one sharing the store,
polls unchanged repositories with 304s only, which cost nothing against the rate limit.

gidgethub asks its cache for every GET; this cache is the in-memory one (`github.Cache`), filled
from the `forge_etag` table before each poll and written back after it. Only the listings of
pull requests are kept (their URLs are the same every poll: a few rows per repository), and the
CI states read again while CI runs (at most `CI_RECHECKS` a repository); what a complete poll no
longer asked for goes. Each body is trimmed to what the readers use (`shapes.trim`). Reviews and
CI read for pull requests that moved, whose answers are new anyway, stay in memory.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select

from bot.core.runtime import Runtime
from cogs.forge.github import Cache
from cogs.forge.models import ForgeEtag
from cogs.forge.shapes import trim

# Where a forge's listings start after its API's base: GitHub's and Forgejo's, GitLab's.
LISTINGS = ("/pulls?", "/merge_requests?")


class StoredCache(Cache):
    """gidgethub's cache, which notes the URLs to keep it was asked for and those it was given
    a new answer for, to write back. *extra* names URLs to keep besides the listings (CI's
    state read again, `Poller._recheck`), for this poll."""

    def __init__(self, api: str) -> None:
        super().__init__()
        self.api = api
        self.asked: set[str] = set()
        self.dirty: set[str] = set()
        self.extra: set[str] = set()
        # The ETag the store holds for a URL, as last loaded or saved.
        self.stored: dict[str, str | None] = {}

    def keep(self, url: str) -> None:
        """Keep *url* in the store too, this poll; written back if what is held in memory (read
        before it was kept) is not there yet."""
        self.extra.add(url)
        held = dict.get(self, url)
        if held is not None and (url not in self.stored or self.stored[url] != held[0]):
            self.dirty.add(url)

    def ours(self, url: str) -> bool:
        """Under this forge's API (another forge may share a host, under another path)."""
        rest = url.removeprefix(self.api)
        return rest != url and rest.startswith(("/repos/", "/projects/"))

    def kept(self, url: str) -> bool:
        return self.ours(url) and (url in self.extra or any(part in url for part in LISTINGS))

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


async def load(runtime: Runtime, cache: StoredCache) -> None:
    """Bring *cache* up to what the store holds, which another instance may have written: the
    ETags first, the bodies only of those that differ from what is held."""
    under = col(ForgeEtag.url).startswith(cache.api + "/")
    async with runtime.sessions() as session:
        tags = (await session.exec(select(ForgeEtag.url, ForgeEtag.etag).where(under))).all()
        cache.stored = {url: etag for url, etag in tags if cache.ours(url)}
        behind = [
            url
            for url, etag in cache.stored.items()
            if (held := dict.get(cache, url)) is None or held[0] != etag
        ]
        for start in range(0, len(behind), 500):
            query = select(ForgeEtag).where(col(ForgeEtag.url).in_(behind[start : start + 500]))
            for row in (await session.exec(query)).all():
                value = (row.etag, row.last_modified, json.loads(row.body), row.more)
                cache.put(row.url, value)
    cache.asked.clear()
    cache.dirty.clear()
    cache.extra.clear()


async def save(runtime: Runtime, cache: StoredCache, complete: bool, now: datetime) -> None:
    """Write back the listings answered anew; after a *complete* poll, forget the pages it no
    longer asked for (a repository removed, a listing grown shorter)."""
    rows = []
    for url in sorted(cache.dirty):
        value = dict.get(cache, url)
        if value is not None:
            etag, modified, data, more = value
            body = [trim(item) for item in data] if isinstance(data, list) else trim(data)
            text = json.dumps(body, separators=(",", ":"))
            rows.append(
                {"url": url, "etag": etag, "last_modified": modified, "body": text, "more": more}
            )
    async with runtime.transaction() as session:
        if rows:
            # Another instance may write the same URL at the same time: the last one stays.
            table = ForgeEtag.__table__  # type: ignore[attr-defined]
            postgresql = session.get_bind().dialect.name == "postgresql"
            statement = (pg_insert if postgresql else sqlite_insert)(table)
            await session.exec(
                statement.on_conflict_do_update(
                    index_elements=[table.c.url],
                    set_={
                        name: statement.excluded[name]
                        for name in ("etag", "last_modified", "body", "more", "saved_at")
                    },
                ),
                params=[{**row, "saved_at": now} for row in rows],
            )
            cache.stored.update((row["url"], row["etag"]) for row in rows)
        if complete:
            query = select(ForgeEtag.url).where(col(ForgeEtag.url).startswith(cache.api + "/"))
            gone = [
                url
                for url in (await session.exec(query)).all()
                if cache.ours(url) and url not in cache.asked and url not in cache.dirty
            ]
            if gone:
                await session.exec(delete(ForgeEtag).where(col(ForgeEtag.url).in_(gone)))
    cache.dirty.clear()
