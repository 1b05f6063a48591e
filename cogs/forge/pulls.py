"""Pull requests in the store, from what a forge sends (a webhook) or answers (a poll), and the
review queue read from them. Pure logic on a session; no network.

Both paths write through `record`, so a poll after a webhook (or the reverse) agrees. The wait
counts from when the pull request last became reviewable: opened ready, marked ready for review,
or pushed to (a new head commit), so a contributor who answered a review is at the back of
nobody's queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.forge.models import PullRequest
from cogs.forge.shapes import PullView

FIRST_TIMERS = frozenset({"FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER"})
# A review's state on GitHub, as the REST API (upper case) and webhooks (lower case) write it.
APPROVED, CHANGES, DISMISSED = "APPROVED", "CHANGES_REQUESTED", "DISMISSED"
# CI results as GitHub (checks, statuses), GitLab (pipelines) and Forgejo (statuses) name them.
FAILED_CHECKS = frozenset(
    {"failure", "failed", "error", "timed_out", "cancelled", "canceled", "action_required"}
)
PASSED_CHECKS = frozenset({"success", "neutral", "skipped"})


def logins(names: Iterable[str]) -> str:
    """`,alice,bob,`: lower-cased and between commas, so one LIKE finds a login."""
    return "," + "".join(f"{name.lower()}," for name in sorted(set(names)))


def split(stored: str) -> list[str]:
    return [name for name in stored.split(",") if name]


def record(pull: PullRequest | None, repo: str, view: PullView) -> PullRequest:
    """*pull* (or a new row) brought up to date with what a forge says of it.

    A new head commit counts from `view.pushed` when the forge says when the push was (a
    webhook for the push), else from the pull request's `updated_at`."""
    if pull is None:
        pull = PullRequest(
            repo=repo,
            number=view.number,
            title="",
            url="",
            state="open",
            author="",
            head_sha=view.head,
            waiting_since=view.created,
            updated_at=view.updated,
        )
    elif view.updated < pull.updated_at:
        return pull  # an older view than the one kept (a late poll after a webhook)
    else:
        if view.head and view.head != pull.head_sha:
            pull.waiting_since = max(pull.waiting_since, view.pushed or view.updated)
            pull.head_sha = view.head
            pull.ci = "unknown"
            pull.changes_requested = False
        if pull.draft and not view.draft:
            pull.waiting_since = max(pull.waiting_since, view.updated)
    pull.title = view.title[:300]
    pull.url = view.url[:500]
    pull.state = view.state
    pull.draft = view.draft
    # GitLab names the author only when the merge request is opened.
    pull.author = view.author[:100] or pull.author
    pull.association = view.association[:32]
    pull.requested = logins(view.requested)[:2000]
    pull.labels = ",".join(view.labels)[:2000]
    pull.updated_at = view.updated
    return pull


def review_state(review: Mapping[str, Any]) -> Mapping[str, Any]:
    """A review with its state as GitHub writes it: Forgejo writes `REQUEST_CHANGES`."""
    if str(review.get("state", "")).upper() == "REQUEST_CHANGES":
        return {**review, "state": CHANGES}
    return review


def reviewed(pull: PullRequest, reviews: Sequence[Mapping[str, Any]]) -> None:
    """Approvals from each reviewer's latest review that counts (a comment changes nothing)."""
    latest: dict[str, str] = {}
    for review in reviews:
        state = str(review.get("state", "")).upper()
        login = str((review.get("user") or {}).get("login", "")).lower()
        if login and state in (APPROVED, CHANGES, DISMISSED):
            latest[login] = state
    _set_reviews(pull, latest)


def review_event(pull: PullRequest, login: str, state: str) -> None:
    """One review submitted or dismissed, as a webhook tells it. Changes asked for stay asked
    for until the next push or poll, which reads every review again."""
    state = state.upper()
    if state not in (APPROVED, CHANGES, DISMISSED):
        return
    latest = {name: APPROVED for name in split(pull.approvers)}
    latest[login.lower()] = state
    asked = pull.changes_requested
    _set_reviews(pull, latest)
    pull.changes_requested = asked or state == CHANGES


def _set_reviews(pull: PullRequest, latest: Mapping[str, str]) -> None:
    approvers = [login for login, state in latest.items() if state == APPROVED]
    pull.approvers = logins(approvers)[:2000]
    pull.approvals = len(approvers)
    pull.changes_requested = any(s == CHANGES for s in latest.values())


def ci_state(conclusion: str | None) -> str:
    if conclusion in FAILED_CHECKS:
        return "failure"
    if conclusion in PASSED_CHECKS:
        return "success"
    return "pending"


async def set_ci(session: AsyncSession, repo: str, sha: str, state: str) -> int:
    """CI's state for the pull requests whose head is *sha*; how many rows it changed."""
    result = await session.exec(
        update(PullRequest)
        .where(col(PullRequest.repo) == repo, col(PullRequest.head_sha) == sha)
        .values(ci=state)
    )
    return int(result.rowcount or 0)


async def find(session: AsyncSession, repo: str, number: int) -> PullRequest | None:
    query = select(PullRequest).where(
        col(PullRequest.repo) == repo, col(PullRequest.number) == number
    )
    return (await session.exec(query)).first()


async def open_in(session: AsyncSession, repo: str) -> dict[int, PullRequest]:
    query = select(PullRequest).where(
        col(PullRequest.repo) == repo, col(PullRequest.state) == "open"
    )
    return {pull.number: pull for pull in (await session.exec(query)).all()}


async def numbered(
    session: AsyncSession, repo: str, numbers: Sequence[int]
) -> dict[int, PullRequest]:
    found: dict[int, PullRequest] = {}
    for start in range(0, len(numbers), 500):
        query = select(PullRequest).where(
            col(PullRequest.repo) == repo, col(PullRequest.number).in_(numbers[start : start + 500])
        )
        found.update((pull.number, pull) for pull in (await session.exec(query)).all())
    return found


@dataclass(frozen=True)
class Waiting:
    pull: PullRequest
    first_timer: bool
    second_approval: bool
    ci_failing: bool
    yours: bool


async def queue(
    session: AsyncSession,
    *,
    repos: Sequence[str] | None = None,
    mine: Sequence[str] = (),
    approvals_needed: int = 2,
    limit: int = 10,
) -> tuple[list[Waiting], int]:
    """Open pull requests waiting for a review, longest wait first, and how many there are.

    Drafts, and pull requests with all the approvals they need, wait for nobody's review."""
    where = [
        col(PullRequest.state) == "open",
        col(PullRequest.draft).is_(False),
        col(PullRequest.approvals) < approvals_needed,
    ]
    if repos is not None:
        where.append(col(PullRequest.repo).in_(repos))
    rows = (
        select(PullRequest)
        .where(*where)
        .order_by(col(PullRequest.waiting_since), col(PullRequest.id))
        .limit(limit)
    )
    total = select(func.count()).select_from(PullRequest).where(*where)
    found = (await session.exec(rows)).all()
    count = (await session.exec(total)).one()
    names = {name.lower() for name in mine}
    return [
        Waiting(
            pull,
            first_timer=pull.association in FIRST_TIMERS,
            second_approval=pull.approvals == approvals_needed - 1 and pull.approvals > 0,
            ci_failing=pull.ci == "failure",
            yours=bool(names.intersection(split(pull.requested))),
        )
        for pull in found
    ], int(count)


async def for_reviewer(
    session: AsyncSession,
    *,
    mine: Sequence[str],
    labels: Sequence[str],
    approvals_needed: int,
    limit: int,
) -> list[PullRequest]:
    """Open pull requests waiting for a review that ask *mine* for it or carry one of *labels*,
    longest wait first."""
    wanted = [col(PullRequest.requested).contains(f",{name.lower()},") for name in mine]
    wrapped = literal(",") + col(PullRequest.labels) + literal(",")
    wanted += [wrapped.contains(f",{label},") for label in labels]
    if not wanted:
        return []
    query = (
        select(PullRequest)
        .where(
            col(PullRequest.state) == "open",
            col(PullRequest.draft).is_(False),
            col(PullRequest.approvals) < approvals_needed,
            or_(*wanted),
        )
        .order_by(col(PullRequest.waiting_since), col(PullRequest.id))
        .limit(limit)
    )
    return list((await session.exec(query)).all())
