"""Polling: the fallback that keeps the store true when a webhook is missed or none is set up.
GitHub, Forgejo (whose API v1 follows GitHub's paths, shapes and Link paging) and GitLab (its
own paths and shapes, the same paging), all through the one gidgethub client.

Each forge is polled every `poll_minutes`. One poll of a repository is one conditional listing of
its open pull requests (every page, `If-None-Match`) and one of those closed most recently (the
first page; more only while pull requests that left the open listing are not found in it);
when the forge answers 304 for every page, nothing else is asked. Otherwise the rows are updated,
those no longer open are closed or marked merged, and the reviews and CI status of each pull
request whose `updated_at` moved are read, a few at a time, each batch committed: a rate limit
that stops the poll half-way loses nothing, and the next poll goes on from there.

A newcomer's first pull request seen opened or merged by a poll is celebrated as a webhook's
would be (`celebrate`); the outbox's keys make the one a webhook also reports celebrated once.
The ETags are kept in the store (`etags`), so a restart's first poll is conditional too.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import gidgethub
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.runtime import Runtime
from cogs.forge import etags, pulls
from cogs.forge.celebrate import celebrate
from cogs.forge.etags import StoredCache
from cogs.forge.github import GitHub, Postponed
from cogs.forge.models import PullRequest
from cogs.forge.pulls import APPROVED
from cogs.forge.repos import Repositories, Repository
from cogs.forge.settings import ForgeConfig
from cogs.forge.shapes import PullView, from_github, from_gitlab_api

log = logging.getLogger(__name__)

DETAILS_BATCH = 20
# Pages of recently closed pull requests read at most, looking for those that left the open list.
CLOSED_PAGES = 5
# CI's state is read again, a few pull requests a poll, while CI runs (pending, for a day at
# most) or while none reported yet (for two hours after the push).
CI_RECHECKS = 10
RUNNING_FOR = timedelta(days=1)
REPORTS_WITHIN = timedelta(hours=2)
# A poll celebrates an opening or a merge it sees this soon after it happened, not older ones
# (a repository just configured, a poller down for a week).
CELEBRATED_WITHIN = timedelta(days=1)
# Forgejo (and Gitea) answer GitHub's paths with GitHub's shapes, but page with `limit` (at most
# 50 by default) where GitHub takes `per_page` (at most 100).
PAGE = {"github": "per_page=100", "forgejo": "limit=50"}
TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass
class PollReport:
    requests: int = 0
    fresh: int = 0
    changed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    postponed: datetime | None = None


class Poller:
    def __init__(
        self,
        runtime: Runtime,
        repositories: Repositories,
        forges: list[ForgeConfig],
        http: Callable[[], aiohttp.ClientSession] = lambda: aiohttp.ClientSession(timeout=TIMEOUT),
    ) -> None:
        self.runtime = runtime
        self.repositories = repositories
        self.forges = [forge for forge in forges if forge.polled]
        self._http = http
        self.caches = {id(forge): StoredCache(forge.api) for forge in self.forges}
        # Read once at start, so a missing token stops the start rather than a poll.
        self.tokens = {id(forge): forge.token() for forge in self.forges}
        self.due: dict[int, datetime] = {}

    async def step(self) -> float:
        now = self.runtime.now()
        for forge in self.forges:
            if self.due.get(id(forge), now) <= now:
                report = await self.poll(forge)
                wait = timedelta(minutes=forge.poll_minutes)
                self.due[id(forge)] = max(report.postponed or now, now + wait)
        soonest = min(self.due.values(), default=now + timedelta(hours=1))
        return max(1.0, (soonest - self.runtime.now()).total_seconds())

    async def poll(self, forge: ForgeConfig) -> PollReport:
        """Every repository of *forge*, once; a rate limit postpones the rest."""
        report = PollReport()
        cache = self.caches[id(forge)]
        await etags.load(self.runtime, cache)
        complete = False
        async with self._http() as http:
            github = GitHub(http, forge, cache, self.runtime.clock, self.tokens[id(forge)])
            try:
                for name in forge.repositories:
                    repo = self.repositories.on(forge, name)
                    assert repo is not None
                    try:
                        if await self.poll_repository(github, repo):
                            report.changed.append(repo.name)
                    except gidgethub.BadRequest as exc:
                        # Not there, or not visible without a token: the others still count.
                        report.refused.append(repo.name)
                        log.warning(
                            "polling %s: %s answered %s; check the repository's name, and the "
                            "token for a private one",
                            repo.url,
                            forge.api,
                            exc.status_code.value,
                        )
                complete = not report.refused
            except Postponed as stop:
                report.postponed = stop.until
                log.warning(
                    "polling %s postponed until %s: %s",
                    forge.api,
                    f"{stop.until:%H:%M:%S %Z}",
                    stop.reason,
                )
            except (aiohttp.ClientError, TimeoutError, gidgethub.GitHubBroken) as exc:
                log.warning("polling %s failed: %s; trying again at the next poll", forge.api, exc)
            report.requests, report.fresh = github.requests, github.fresh
        await etags.save(self.runtime, cache, complete, self.runtime.now())
        return report

    async def poll_repository(self, github: GitHub, repo: Repository) -> bool:
        """Whether anything about *repo*'s open pull requests changed."""
        fresh = github.fresh
        kind = repo.forge.kind
        listed = [item async for item in github.each(LIST[kind](repo))]
        gone: dict[int, datetime] = {}
        if github.fresh > fresh:
            gone = await self._record(repo, [READ[kind](item) for item in listed])
        await self._closed(github, repo, gone)
        changed = github.fresh > fresh
        while batch := await self._stale(repo):
            found = [(pull, await self._details(github, repo, pull)) for pull in batch]
            async with self.runtime.transaction() as session:
                for pull, (reviews, ci) in found:
                    row = await session.get(PullRequest, pull.id)
                    if row is None or row.head_sha != pull.head_sha:
                        continue
                    pulls.reviewed(row, reviews)
                    if ci is not None:
                        row.ci = ci
                    row.details_seen = max(pull.updated_at, row.details_seen or pull.updated_at)
                    session.add(row)
            changed = True
        # GitHub counts an anonymous 304 against its 60 requests an hour: no rechecks then.
        if kind != "github" or self.tokens[id(repo.forge)] is not None:
            await self._recheck(github, repo)
        return changed or github.fresh > fresh

    async def _record(self, repo: Repository, listed: list[PullView]) -> dict[int, datetime]:
        """Store the open listing; the rows that left it (closed or merged since, which the
        listing of closed ones tells) are closed meanwhile: either way they wait for no review.
        Those rows' numbers, and when they were updated before."""
        async with self.runtime.transaction() as session:
            known = await pulls.open_in(session, repo.key)
            others = await pulls.numbered(
                session, repo.key, [view.number for view in listed if view.number not in known]
            )
            for view in listed:
                stored = known.pop(view.number, None) or others.get(view.number)
                before = (stored.state, stored.association) if stored else None
                await self._keep(session, repo, before, pulls.record(stored, repo.key, view))
            for gone in known.values():
                gone.state = "closed"
                session.add(gone)
            return {gone.number: gone.updated_at for gone in known.values()}

    async def _keep(
        self,
        session: AsyncSession,
        repo: Repository,
        before: tuple[str, str] | None,
        pull: PullRequest,
    ) -> None:
        """Add *pull*, celebrated if it is a first contribution opened or merged just now."""
        session.add(pull)
        now = self.runtime.now()
        first = (before[1] if before else pull.association) in pulls.FIRST_TIMERS
        if first and pull.updated_at >= now - CELEBRATED_WITHIN:
            await session.flush()
            await celebrate(session, self.runtime.env, repo, before, pull, now)

    async def _closed(self, github: GitHub, repo: Repository, gone: dict[int, datetime]) -> None:
        """Read the most recently closed pull requests: the first page, conditionally, and
        further pages while some that left the open listing are not found yet."""
        fresh = github.fresh
        missing = dict(gone)
        views: list[PullView] = []
        page = 50 if repo.forge.kind == "forgejo" else 100
        async with aclosing(github.each(CLOSED[repo.forge.kind](repo))) as items:
            for _ in range(CLOSED_PAGES):
                batch = [READ[repo.forge.kind](item) async for item in islice_async(items, page)]
                views += batch
                for view in batch:
                    missing.pop(view.number, None)
                oldest = min(missing.values(), default=None)
                if len(batch) < page or oldest is None or batch[-1].updated < oldest:
                    break
        if github.fresh == fresh or not views:
            return
        async with self.runtime.transaction() as session:
            stored = await pulls.numbered(session, repo.key, [view.number for view in views])
            for view in views:
                row = stored.get(view.number)
                if row is not None and row.state != view.state:
                    before = (row.state, row.association)
                    await self._keep(session, repo, before, pulls.record(row, repo.key, view))

    async def _stale(self, repo: Repository) -> list[PullRequest]:
        query = (
            select(PullRequest)
            .where(
                col(PullRequest.repo) == repo.key,
                col(PullRequest.state) == "open",
                or_(
                    col(PullRequest.details_seen).is_(None),
                    col(PullRequest.details_seen) < col(PullRequest.updated_at),
                ),
            )
            .order_by(col(PullRequest.id))
            .limit(DETAILS_BATCH)
        )
        async with self.runtime.sessions() as session:
            return list((await session.exec(query)).all())

    async def _details(
        self, github: GitHub, repo: Repository, pull: PullRequest
    ) -> tuple[list[Mapping[str, Any]], str | None]:
        """Its reviews (GitHub's shape), and CI's state when any check reported, read only
        when its head is new to us (`record` forgets CI's state then) or CI was still running."""
        if repo.forge.kind == "gitlab":
            approvals = await github.item(f"{project(repo)}/merge_requests/{pull.number}/approvals")
            reviews: list[Mapping[str, Any]] = [
                {
                    "user": {"login": (entry.get("user") or {}).get("username", "")},
                    "state": APPROVED,
                }
                for entry in approvals.get("approved_by") or ()
            ]
        else:
            path = f"/repos/{repo.name}/pulls/{pull.number}/reviews?{PAGE[repo.forge.kind]}"
            reviews = [pulls.review_state(review) async for review in github.each(path)]
        running = pull.ci in ("unknown", "pending")
        return reviews, await self._ci(github, repo, pull) if running else None

    async def _ci(self, github: GitHub, repo: Repository, pull: PullRequest) -> str | None:
        """CI's state for *pull*'s head, None while nothing reported: GitLab's head pipeline
        (in the merge request), Forgejo's commit statuses, GitHub's commit statuses and check
        runs (GitHub Actions reports only the latter)."""
        kind = repo.forge.kind
        if kind == "gitlab":
            found = await github.item(f"{project(repo)}/merge_requests/{pull.number}")
            status = (found.get("head_pipeline") or {}).get("status")
            return pulls.ci_state(str(status)) if status else None
        if not pull.head_sha:
            return None
        commit = f"/repos/{repo.name}/commits/{pull.head_sha}"
        states: list[str] = []
        combined = await github.item(f"{commit}/status")
        if int(combined.get("total_count") or 0):
            states.append(pulls.ci_state(str(combined.get("state"))))
        if kind == "github":
            runs = await github.item(f"{commit}/check-runs?per_page=100")
            states += [
                pulls.ci_state(str(run.get("conclusion")))
                if run.get("status") == "completed"
                else "pending"
                for run in runs.get("check_runs") or ()
            ]
        for state in ("failure", "pending", "success"):
            if state in states:
                return state
        return None

    async def _recheck(self, github: GitHub, repo: Repository) -> None:
        """CI's state again for the pull requests pushed to lately whose CI had not finished
        when their head was read: a CI result does not move a pull request's `updated_at`, so
        the listing does not show it. At most CI_RECHECKS a poll, the latest pushes first,
        each conditional (kept in the store, so 304s after a restart too). GitHub counts a 304
        only with a token as free, so anonymous polling of GitHub asks nothing again."""
        now = self.runtime.now()
        query = (
            select(PullRequest)
            .where(
                col(PullRequest.repo) == repo.key,
                col(PullRequest.state) == "open",
                col(PullRequest.draft).is_(False),
                col(PullRequest.details_seen).is_not(None),
                col(PullRequest.head_sha) != "",
                or_(
                    (col(PullRequest.ci) == "pending")
                    & (col(PullRequest.waiting_since) >= now - RUNNING_FOR),
                    (col(PullRequest.ci) == "unknown")
                    & (col(PullRequest.waiting_since) >= now - REPORTS_WITHIN),
                ),
            )
            .order_by(col(PullRequest.waiting_since).desc())
            .limit(CI_RECHECKS)
        )
        async with self.runtime.sessions() as session:
            rows = list((await session.exec(query)).all())
        cache = self.caches[id(repo.forge)]
        found: list[tuple[PullRequest, str]] = []
        for pull in rows:
            for path in self._ci_paths(repo, pull):
                cache.keep(repo.forge.api + path)
            state = await self._ci(github, repo, pull)
            if state is not None and state != pull.ci:
                found.append((pull, state))
        if found:
            async with self.runtime.transaction() as session:
                for pull, state in found:
                    await pulls.set_ci(session, repo.key, pull.head_sha, state)

    @staticmethod
    def _ci_paths(repo: Repository, pull: PullRequest) -> list[str]:
        if repo.forge.kind == "gitlab":
            return [f"{project(repo)}/merge_requests/{pull.number}"]
        commit = f"/repos/{repo.name}/commits/{pull.head_sha}"
        return [f"{commit}/status", f"{commit}/check-runs?per_page=100"]


async def islice_async(items: AsyncIterator[Any], most: int) -> AsyncIterator[Any]:
    """The next *most* of *items*, asking for no more than that (gidgethub fetches the next
    page only when the one before is used up)."""
    for _ in range(most):
        try:
            yield await anext(items)
        except StopAsyncIteration:
            return


def project(repo: Repository) -> str:
    """GitLab's path of a project: its full name, URL-encoded, as the id."""
    return f"/projects/{quote(repo.name, safe='')}"


LIST: dict[str, Callable[[Repository], str]] = {
    "github": lambda repo: f"/repos/{repo.name}/pulls?state=open&{PAGE['github']}",
    "forgejo": lambda repo: f"/repos/{repo.name}/pulls?state=open&{PAGE['forgejo']}",
    "gitlab": lambda repo: f"{project(repo)}/merge_requests?state=opened&per_page=100",
}
# Recently closed first: merged ones among them, on GitLab only those (closed unmerged ones need
# no more than leaving the open listing). The URL stays the same from poll to poll, so it is
# asked conditionally (GitLab's `updated_after` would change it every time).
CLOSED: dict[str, Callable[[Repository], str]] = {
    "github": lambda repo: (
        f"/repos/{repo.name}/pulls?state=closed&sort=updated&direction=desc&{PAGE['github']}"
    ),
    "forgejo": lambda repo: (
        f"/repos/{repo.name}/pulls?state=closed&sort=recentupdate&{PAGE['forgejo']}"
    ),
    "gitlab": lambda repo: (
        f"{project(repo)}/merge_requests?state=merged&order_by=updated_at&sort=desc&per_page=100"
    ),
}
READ: dict[str, Callable[[dict[str, Any]], PullView]] = {
    "github": from_github,
    "forgejo": from_github,
    "gitlab": from_gitlab_api,
}
