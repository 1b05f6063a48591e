"""`POST /forge/github`, `/forge/gitlab` and `/forge/forgejo`: what each forge sends, verified,
recorded once, and applied to the store.

Each forge proves a delivery its own way, checked before the body is parsed; a bad proof is a 401
and nothing is written:

- GitHub: `X-Hub-Signature-256`, an HMAC-SHA256 of the raw body with the secret (gidgethub);
- GitLab: `X-Gitlab-Token`, the secret itself;
- Forgejo and Gitea: `X-Forgejo-Signature` (or `X-Gitea-Signature`), the hex HMAC-SHA256.

The delivery id (`X-GitHub-Delivery`, `X-Gitlab-Event-UUID`, `X-Forgejo-Delivery`) is written in
the same transaction as what the event changes, so a replay, or a redelivery of one that did
arrive, changes nothing. A repository that is not configured is refused (422), so a hook left on
another repository does not fill the store.

Issue events (GitHub's and Forgejo's `issues`, GitLab's `Issue Hook`) are kept as the issue's
facts now (`reports`), for the sprints cog to apply at once instead of at its next hourly read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import gidgethub
from gidgethub.sansio import Event
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.runtime import Runtime
from bot.core.webhooks import WebhookAnswer, WebhookRequest
from bot.db import insert_ignoring_conflicts
from cogs.forge import pulls, reports
from cogs.forge.celebrate import celebrate
from cogs.forge.issues import IssueFacts, facts_of, issue_url
from cogs.forge.models import PullRequest, WebhookDelivery
from cogs.forge.repos import Repositories, Repository
from cogs.forge.settings import ForgeConfig, Kind
from cogs.forge.shapes import PullView, from_github, from_gitlab

log = logging.getLogger(__name__)

# Forges redeliver on request for a few days; an id older than this is not kept.
DELIVERIES_KEPT = timedelta(days=7)
MAX_BODY = 512 * 1024
# Issue actions after which the issue is no longer at its address.
GONE = ("deleted", "transferred")


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: which forge sent it, its id, its kind of event and its payload."""

    forge: ForgeConfig
    delivery_id: str
    event: str
    data: Any


class Hook:
    """What the three forges' hooks share: secrets, the repository check, the record of ids."""

    kind: Kind = "github"

    def __init__(
        self, runtime: Runtime, repositories: Repositories, forges: list[ForgeConfig]
    ) -> None:
        self.runtime = runtime
        self.repositories = repositories
        self.secrets = [
            (forge, secret.get_secret_value())
            for forge in forges
            if forge.kind == self.kind and (secret := forge.webhook_secret()) is not None
        ]

    def verify(self, request: WebhookRequest) -> Delivery | WebhookAnswer:
        raise NotImplementedError

    def repository_of(self, data: Mapping[str, Any]) -> str:
        return str((data.get("repository") or {}).get("full_name", ""))

    async def apply(
        self,
        session: AsyncSession,
        repo: Repository,
        event: str,
        data: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        raise NotImplementedError

    async def record(
        self, session: AsyncSession, repo: Repository, view: PullView
    ) -> tuple[PullRequest, tuple[str, str] | None]:
        """The row brought up to date, and its (state, association) before."""
        stored = await pulls.find(session, repo.key, view.number)
        before = (stored.state, stored.association) if stored else None
        return pulls.record(stored, repo.key, view), before

    async def added(
        self,
        session: AsyncSession,
        repo: Repository,
        before: tuple[str, str] | None,
        pull: PullRequest,
    ) -> None:
        session.add(pull)
        await session.flush()
        await celebrate(session, self.runtime.env, repo, before, pull, self.runtime.now())

    async def issue(
        self,
        session: AsyncSession,
        repo: Repository,
        number: Any,
        facts: IssueFacts | None,
        now: datetime,
    ) -> bool:
        """Keep what the delivery says of issue *number* of *repo*; False when it names none."""
        if not isinstance(number, int) or number < 1:
            return False
        url = issue_url(repo.forge, repo.name, number)
        await reports.record(session, url, facts, now)
        return True

    async def __call__(self, request: WebhookRequest) -> WebhookAnswer:
        if not self.secrets:
            return WebhookAnswer(404, f"no {self.kind} webhook secret is configured here")
        found = self.verify(request)
        if isinstance(found, WebhookAnswer):
            if found.status == 401:
                log.warning("%s webhook refused: %s", self.kind, found.text)
            return found
        if found.event in ("ping", "System Hook"):
            return WebhookAnswer(200, "pong")
        data = found.data
        if not isinstance(data, dict):
            return WebhookAnswer(400, "the body is not a repository's event")
        name = self.repository_of(data)
        repo = self.repositories.on(found.forge, name)
        if repo is None:
            return WebhookAnswer(422, f"repository {name[:100]!r} is not configured here")
        async with self.runtime.transaction() as session:
            if not await _first_delivery(session, self.kind, found.delivery_id[:100], request):
                return WebhookAnswer(200, "already handled")
            applied = await self.apply(session, repo, found.event, data, request.now)
        return WebhookAnswer(200 if applied else 202, "ok" if applied else "ignored")


def _json(body: bytes) -> Any | WebhookAnswer:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return WebhookAnswer(400, "the body is not JSON")


class GitHubHook(Hook):
    kind: Kind = "github"

    def verify(self, request: WebhookRequest) -> Delivery | WebhookAnswer:
        if request.header("x-hub-signature-256") is None:
            return WebhookAnswer(401, "X-Hub-Signature-256 is missing")
        headers = dict(request.headers)
        # Only the SHA-256 signature counts: SHA-1 is not accepted in its place.
        headers.pop("x-hub-signature", None)
        event, delivery = request.header("x-github-event"), request.header("x-github-delivery")
        if not event or not delivery:
            return WebhookAnswer(400, "X-GitHub-Event and X-GitHub-Delivery are required")
        for forge, secret in self.secrets:
            try:
                found = Event.from_http(headers, request.body, secret=secret)
            except gidgethub.ValidationFailure:
                continue
            except gidgethub.BadRequest:
                return WebhookAnswer(400, "the body is not JSON")
            return Delivery(forge, found.delivery_id, found.event, found.data)
        return WebhookAnswer(401, "the signature does not match")

    async def apply(
        self,
        session: AsyncSession,
        repo: Repository,
        event: str,
        data: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        action = data.get("action")
        if event == "issues" and isinstance(issue := data.get("issue"), dict):
            facts = None if action in GONE else facts_of("github", issue)
            return await self.issue(session, repo, issue.get("number"), facts, now)
        if event in ("pull_request", "pull_request_review") and isinstance(
            data.get("pull_request"), dict
        ):
            view = from_github(data["pull_request"], pushed=action == "synchronize")
            pull, before = await self.record(session, repo, view)
            if event == "pull_request_review" and isinstance(data.get("review"), dict):
                review = data["review"]
                login = str((review.get("user") or {}).get("login", ""))
                pulls.review_event(pull, login, str(review.get("state", "")))
            await self.added(session, repo, before, pull)
            return True
        suite = data.get("check_suite")
        if event == "check_suite" and action == "completed" and isinstance(suite, dict):
            state = pulls.ci_state(suite.get("conclusion"))
            await pulls.set_ci(session, repo.key, str(suite.get("head_sha")), state)
            return True
        if event == "status" and data.get("sha"):
            state = pulls.ci_state(str(data.get("state")))
            await pulls.set_ci(session, repo.key, str(data["sha"]), state)
            return True
        return False


class GitLabHook(Hook):
    kind: Kind = "gitlab"

    def verify(self, request: WebhookRequest) -> Delivery | WebhookAnswer:
        token = request.header("x-gitlab-token")
        if token is None:
            return WebhookAnswer(401, "X-Gitlab-Token is missing")
        event = request.header("x-gitlab-event")
        delivery = request.header("x-gitlab-event-uuid") or request.header("idempotency-key")
        forge = next(
            (
                f
                for f, secret in self.secrets
                if hmac.compare_digest(token.encode(), secret.encode())
            ),
            None,
        )
        if forge is None:
            return WebhookAnswer(401, "the token does not match")
        if not event or not delivery:
            return WebhookAnswer(400, "X-Gitlab-Event and X-Gitlab-Event-UUID are required")
        data = _json(request.body)
        if isinstance(data, WebhookAnswer):
            return data
        return Delivery(forge, delivery, event, data)

    def repository_of(self, data: Mapping[str, Any]) -> str:
        return str((data.get("project") or {}).get("path_with_namespace", ""))

    async def apply(
        self,
        session: AsyncSession,
        repo: Repository,
        event: str,
        data: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        attributes = data.get("object_attributes")
        if not isinstance(attributes, dict):
            return False
        if event == "Issue Hook" and data.get("object_kind") == "issue":
            shown = {
                "title": attributes.get("title"),
                "state": attributes.get("state"),
                "labels": data.get("labels") or attributes.get("labels"),
                "assignees": data.get("assignees"),
            }
            facts = facts_of("gitlab", shown)
            return await self.issue(session, repo, attributes.get("iid"), facts, now)
        if event == "Merge Request Hook":
            view = from_gitlab(attributes, data)
            pull, before = await self.record(session, repo, view)
            action = attributes.get("action")
            login = str((data.get("user") or {}).get("username", ""))
            if action in ("approved", "approval"):
                pulls.review_event(pull, login, pulls.APPROVED)
            elif action in ("unapproved", "unapproval"):
                pulls.review_event(pull, login, pulls.DISMISSED)
            await self.added(session, repo, before, pull)
            return True
        if event == "Pipeline Hook" and attributes.get("sha"):
            state = pulls.ci_state(str(attributes.get("status")))
            await pulls.set_ci(session, repo.key, str(attributes["sha"]), state)
            return True
        return False


class ForgejoHook(Hook):
    kind: Kind = "forgejo"

    def verify(self, request: WebhookRequest) -> Delivery | WebhookAnswer:
        signature = request.header("x-forgejo-signature") or request.header("x-gitea-signature")
        if not signature:
            return WebhookAnswer(401, "X-Forgejo-Signature is missing")
        event = request.header("x-forgejo-event") or request.header("x-gitea-event")
        delivery = request.header("x-forgejo-delivery") or request.header("x-gitea-delivery")
        forge = next(
            (
                f
                for f, secret in self.secrets
                if hmac.compare_digest(
                    signature.strip().lower(),
                    hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest(),
                )
            ),
            None,
        )
        if forge is None:
            return WebhookAnswer(401, "the signature does not match")
        if not event or not delivery:
            return WebhookAnswer(400, "X-Forgejo-Event and X-Forgejo-Delivery are required")
        data = _json(request.body)
        if isinstance(data, WebhookAnswer):
            return data
        return Delivery(forge, delivery, event, data)

    async def apply(
        self,
        session: AsyncSession,
        repo: Repository,
        event: str,
        data: Mapping[str, Any],
        now: datetime,
    ) -> bool:
        # Forgejo sends its issue, assignment and label events all as `issues`.
        if event == "issues" and isinstance(issue := data.get("issue"), dict):
            if issue.get("pull_request"):
                return False
            action = data.get("action")
            facts = None if action in GONE else facts_of("forgejo", issue)
            return await self.issue(session, repo, issue.get("number"), facts, now)
        if not event.startswith("pull_request") or not isinstance(data.get("pull_request"), dict):
            return False
        view = from_github(data["pull_request"], pushed=data.get("action") == "synchronized")
        pull, before = await self.record(session, repo, view)
        login = str((data.get("sender") or {}).get("login", ""))
        if event == "pull_request_review_approved":
            pulls.review_event(pull, login, pulls.APPROVED)
        elif event == "pull_request_review_rejected":
            pulls.review_event(pull, login, pulls.CHANGES)
        await self.added(session, repo, before, pull)
        return True


HOOKS: dict[Kind, type[Hook]] = {"github": GitHubHook, "gitlab": GitLabHook, "forgejo": ForgejoHook}


async def _first_delivery(
    session: AsyncSession, kind: str, delivery: str, request: WebhookRequest
) -> bool:
    await session.exec(
        delete(WebhookDelivery).where(
            col(WebhookDelivery.received_at) < request.now - DELIVERIES_KEPT
        )
    )
    result = await session.exec(
        insert_ignoring_conflicts(session, WebhookDelivery).values(
            kind=kind, delivery_id=delivery, received_at=request.now
        )
    )
    return bool(result.rowcount)
