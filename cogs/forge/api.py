"""What other cogs may use of the forges: the review queue as the store keeps it and its
backlog, issues as the forges tell them (addresses, facts, labels' open issues, claim
comments) and as their webhooks told them (`issue_reports`, with the `ISSUES` topic that wakes
a reader), the forge logins a person linked, and whose pull requests were opened and merged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, literal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.env import Env
from cogs.forge.accounts import logins_of
from cogs.forge.issues import (
    FoundIssue,
    IssueAddress,
    IssueFacts,
    IssueRepository,
    NoSuchIssue,
    claims_commented,
    comment_claim,
    forge_hosts,
    forge_name,
    issue_address,
    issue_facts,
    issue_prefixes,
    issue_repository,
    open_issues,
)
from cogs.forge.models import ForgeAccount, PullRequest
from cogs.forge.pulls import Waiting, queue
from cogs.forge.reports import ReportedIssue, issue_reports
from cogs.forge.repos import Repositories
from cogs.forge.settings import ForgeSettings
from cogs.forge.topics import ISSUES

__all__ = [
    "ISSUES",
    "Backlog",
    "FoundIssue",
    "IssueAddress",
    "IssueFacts",
    "IssueRepository",
    "NoSuchIssue",
    "ReportedIssue",
    "Waiting",
    "authors",
    "claims_commented",
    "comment_claim",
    "configured",
    "forge_hosts",
    "forge_name",
    "issue_address",
    "issue_facts",
    "issue_prefixes",
    "issue_reports",
    "issue_repository",
    "logins_of",
    "open_issues",
    "queue",
    "review_backlog",
]


def configured(env: Env) -> bool:
    """Whether any forge is configured: until one is, nothing here has data."""
    return bool(env.section(ForgeSettings).forges)


async def authors(session: AsyncSession) -> tuple[set[int], set[int]]:
    """The people whose linked forge login opened a pull request the store knows (on a
    configured repository), and those of them with one merged."""
    same_forge = col(PullRequest.repo).startswith(col(ForgeAccount.forge) + literal("/"))
    merged = func.max(case((col(PullRequest.state) == "merged", 1), else_=0))
    query = (
        select(ForgeAccount.person_id, merged)
        .join(
            PullRequest,
            (func.lower(col(PullRequest.author)) == col(ForgeAccount.login)) & same_forge,
        )
        .where(col(ForgeAccount.proven_at).is_not(None))
        .group_by(col(ForgeAccount.person_id))
    )
    rows = (await session.exec(query)).all()
    return {person for person, _ in rows}, {person for person, done in rows if done}


@dataclass(frozen=True)
class Backlog:
    """Pull requests waiting for a review: how many, and the longest waits as (`owner/name#n`,
    its address, how long it has waited)."""

    count: int
    longest: list[tuple[str, str, timedelta]]


async def review_backlog(
    session: AsyncSession, env: Env, now: datetime, limit: int = 3
) -> Backlog | None:
    """The review queue in short, as `review queue` counts it; None with no forge configured."""
    settings = env.section(ForgeSettings)
    if not settings.forges:
        return None
    repositories = Repositories(settings)
    found, total = await queue(session, approvals_needed=settings.approvals_needed, limit=limit)
    longest = []
    for waiting in found:
        pull = waiting.pull
        repo = repositories.by_key(pull.repo)
        name = f"{repo.name if repo else pull.repo}#{pull.number}"
        longest.append((name, pull.url, now - pull.waiting_since))
    return Backlog(total, longest)
