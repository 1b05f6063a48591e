"""`POST /forge/github`: what GitHub sends, verified, recorded once, and applied to the store.

The signature (`X-Hub-Signature-256`, an HMAC of the raw body with the forge's webhook secret)
is checked before the body is parsed: a bad one is a 401 and nothing is written. The delivery id
(`X-GitHub-Delivery`) is written in the same transaction as what the event changes, so a replay,
or GitHub's redelivery of a delivery that did arrive, changes nothing. A repository that is not
configured is refused (422), so a hook left on another repository does not fill the store.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import gidgethub
from gidgethub.sansio import Event
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.runtime import Runtime
from bot.core.webhooks import WebhookAnswer, WebhookRequest
from bot.db import insert_ignoring_conflicts
from cogs.forge import pulls
from cogs.forge.models import WebhookDelivery
from cogs.forge.repos import Repositories, Repository
from cogs.forge.settings import ForgeConfig

log = logging.getLogger(__name__)

# GitHub redelivers on request for a few days; an id older than this is not kept.
DELIVERIES_KEPT = timedelta(days=7)
MAX_BODY = 512 * 1024


class GitHubHook:
    def __init__(
        self, runtime: Runtime, repositories: Repositories, forges: list[ForgeConfig]
    ) -> None:
        self.runtime = runtime
        self.repositories = repositories
        self.secrets = [
            (forge, secret.get_secret_value())
            for forge in forges
            if forge.kind == "github" and (secret := forge.webhook_secret()) is not None
        ]

    def _event(self, request: WebhookRequest) -> tuple[ForgeConfig, Event] | WebhookAnswer:
        if not self.secrets:
            return WebhookAnswer(404, "no GitHub webhook secret is configured here")
        if request.header("x-hub-signature-256") is None:
            return WebhookAnswer(401, "X-Hub-Signature-256 is missing")
        headers = dict(request.headers)
        # Only the SHA-256 signature counts: SHA-1 is not accepted in its place.
        headers.pop("x-hub-signature", None)
        if not request.header("x-github-event") or not request.header("x-github-delivery"):
            return WebhookAnswer(400, "X-GitHub-Event and X-GitHub-Delivery are required")
        for forge, secret in self.secrets:
            try:
                return forge, Event.from_http(headers, request.body, secret=secret)
            except gidgethub.ValidationFailure:
                continue
            except gidgethub.BadRequest:
                return WebhookAnswer(400, "the body is not JSON")
        return WebhookAnswer(401, "the signature does not match")

    async def __call__(self, request: WebhookRequest) -> WebhookAnswer:
        found = self._event(request)
        if isinstance(found, WebhookAnswer):
            if found.status == 401:
                log.warning("GitHub webhook refused: %s", found.text)
            return found
        forge, event = found
        if event.event == "ping":
            return WebhookAnswer(200, "pong")
        data = event.data
        if not isinstance(data, dict) or not isinstance(data.get("repository"), dict):
            return WebhookAnswer(400, "the body is not a repository's event")
        full_name = str(data["repository"].get("full_name", ""))
        repo = self.repositories.on(forge, full_name)
        if repo is None:
            return WebhookAnswer(422, f"repository {full_name[:100]!r} is not configured here")
        async with self.runtime.transaction() as session:
            if not await _first_delivery(session, event.delivery_id[:100], request):
                return WebhookAnswer(200, "already handled")
            applied = await apply(session, repo, event.event, data)
        return WebhookAnswer(200 if applied else 202, "ok" if applied else "ignored")


async def _first_delivery(session: AsyncSession, delivery: str, request: WebhookRequest) -> bool:
    await session.exec(
        delete(WebhookDelivery).where(
            col(WebhookDelivery.received_at) < request.now - DELIVERIES_KEPT
        )
    )
    result = await session.exec(
        insert_ignoring_conflicts(session, WebhookDelivery).values(
            kind="github", delivery_id=delivery, received_at=request.now
        )
    )
    return bool(result.rowcount)


async def apply(
    session: AsyncSession, repo: Repository, kind: str, data: Mapping[str, Any]
) -> bool:
    """Whether the event changed what the store keeps."""
    action = data.get("action")
    if kind in ("pull_request", "pull_request_review") and isinstance(
        data.get("pull_request"), dict
    ):
        pr = data["pull_request"]
        pushed = pulls.when(pr["updated_at"]) if action == "synchronize" else None
        pull = pulls.record(
            await pulls.find(session, repo.key, int(pr["number"])), repo.key, pr, pushed=pushed
        )
        if kind == "pull_request_review" and isinstance(data.get("review"), dict):
            review = data["review"]
            pulls.review_event(
                pull, str((review.get("user") or {}).get("login", "")), str(review.get("state", ""))
            )
        session.add(pull)
        return True
    if (
        kind == "check_suite"
        and action == "completed"
        and isinstance(data.get("check_suite"), dict)
    ):
        suite = data["check_suite"]
        await pulls.set_ci(
            session, repo.key, str(suite.get("head_sha")), pulls.ci_state(suite.get("conclusion"))
        )
        return True
    if kind == "status" and data.get("sha"):
        await pulls.set_ci(
            session, repo.key, str(data["sha"]), pulls.ci_state(str(data.get("state")))
        )
        return True
    return False
