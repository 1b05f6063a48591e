"""What the forges' webhooks say of issues, kept for whoever keeps issues (the sprints cog,
through `cogs.forge.api`) without this cog knowing them.

A delivery about an issue writes the issue's facts as they are now, one row per issue, and
notes `ISSUES`, published once the delivery's transaction commits. A reader keeps its own
cursor on `received_at` and applies what changed since; the row, not the wake-up, is the
truth, so an instance that did not receive the delivery finds it on its next look. A row is
kept a week: what a reader missed for longer, its own hourly read of the forge has seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.bus import note
from cogs.forge.issues import IssueFacts
from cogs.forge.models import IssueReport
from cogs.forge.topics import ISSUES

GONE = "gone"
KEPT = timedelta(days=7)


@dataclass(frozen=True)
class ReportedIssue:
    """An issue as a webhook last told it: its address lower-cased, its facts (None when it
    was deleted or moved to another repository), and when that was received."""

    url: str
    facts: IssueFacts | None
    received_at: datetime


async def record(session: AsyncSession, url: str, facts: IssueFacts | None, now: datetime) -> None:
    row = {
        "url": url.lower()[:500],
        "title": facts.title[:300] if facts else "",
        "state": facts.state if facts else GONE,
        "labels": "\n".join(facts.labels) if facts else "",
        "assignees": "\n".join(facts.assignees) if facts else "",
        "received_at": now,
    }
    # Two instances may receive two deliveries of one issue at once: the later write stays.
    table = IssueReport.__table__  # type: ignore[attr-defined]
    postgresql = session.get_bind().dialect.name == "postgresql"
    statement = (pg_insert if postgresql else sqlite_insert)(table).values(**row)
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=[table.c.url],
            set_={name: statement.excluded[name] for name in row if name != "url"},
        )
    )
    await session.exec(delete(IssueReport).where(col(IssueReport.received_at) < now - KEPT))
    note(session, ISSUES)


def _split(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split("\n") if part)


async def issue_reports(
    session: AsyncSession, since: datetime, limit: int = 500
) -> list[ReportedIssue]:
    """What webhooks said of issues at or after *since*, oldest first, at most *limit*."""
    query = (
        select(IssueReport)
        .where(col(IssueReport.received_at) >= since)
        .order_by(col(IssueReport.received_at), col(IssueReport.url))
        .limit(limit)
    )
    return [
        ReportedIssue(
            row.url,
            None
            if row.state == GONE
            else IssueFacts(row.title, row.state, _split(row.labels), _split(row.assignees)),
            row.received_at,
        )
        for row in (await session.exec(query)).all()
    ]
