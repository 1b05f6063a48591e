"""Sprint issues that stay true: every hour each listed issue is read again from its forge, and
one that was closed there, or assigned there to someone who did not claim it here, leaves the list
by itself; whoever held it is told by direct message, once, through the outbox. An issue closed
while someone held it counts as completed by them, then.

Only issues of a forge that `[[forge.forges]]` names are read (`cogs.forge.api`: GitHub, GitLab,
Forgejo); a forge not answering leaves every issue as it is until the next check.

Between checks, what a forge's issue webhook said (`issue_reports`) is applied the same way as
soon as the forge cog's `ISSUES` topic wakes `reported`. Applying a fact twice changes nothing
more: the list and the completion change only while the issue is listed, and the holder's
message has one key in the outbox.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlmodel import col, or_, select, update

from bot import delivery
from bot.core.audience import Audience
from bot.core.markup import escape
from bot.core.ports import DIRECT_PLATFORMS
from bot.core.reply import Reply
from bot.core.runtime import Runtime
from bot.delivery import Direct, Key, Outgoing
from bot.identity import accounts_of
from cogs.forge.api import (
    ISSUES,
    IssueFacts,
    NoSuchIssue,
    forge_name,
    issue_facts,
    issue_prefixes,
    issue_reports,
    logins_of,
)
from cogs.sprints.models import SprintIssue
from cogs.sprints.service import completed

log = logging.getLogger(__name__)

POLL = 3600.0
# Issues read per check: a forge's anonymous limit is 60 requests an hour.
MOST = 50
# Reports another instance received wake only that instance; this one looks this often too.
REPORTS_POLL = 300.0
REPORTS_READ = 500
# A delivery's time is taken before its transaction commits, so one may commit after a later
# one was read: each look reads again this far behind its cursor (applying twice is harmless).
SETTLE = timedelta(minutes=1)
# What a forge's issue webhook said wakes `reported`.
WAKES = (ISSUES,)


def why_gone(
    facts: IssueFacts | None, holder_logins: list[str], forge: str = "GitHub"
) -> str | None:
    """Why the issue leaves the list, or None when it stays."""
    if facts is None:
        return f"deleted or moved on {forge}"
    if facts.state == "closed":
        return f"closed on {forge}"
    others = [name for name in facts.assignees if name.lower() not in holder_logins]
    if facts.assignees and others:
        return f"assigned on {forge} to {', '.join(others)}"
    return None


class SprintChecks:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        # Where the next check starts: it goes round the list, MOST at a time.
        self._after = 0
        # Reports from before this instance started are the first check's to read again.
        self._reported_since = runtime.now()

    async def check(self) -> None:
        runtime = self.runtime
        prefixes = issue_prefixes(runtime.env)
        if not prefixes:
            return
        query = (
            select(SprintIssue)
            .where(
                col(SprintIssue.id) > self._after,
                col(SprintIssue.removed_at).is_(None),
                or_(*(col(SprintIssue.url).startswith(prefix) for prefix in prefixes)),
            )
            .order_by(col(SprintIssue.id))
            .limit(MOST)
        )
        async with runtime.sessions() as session:
            listed = list((await session.exec(query)).all())
        self._after = listed[-1].id or 0 if len(listed) == MOST else 0
        for issue in listed:
            host = urlsplit(issue.url).netloc
            try:
                facts = await issue_facts(
                    runtime.env, runtime.clock, host, issue.project, issue.number
                )
            except NoSuchIssue:
                facts = None
            else:
                if facts is None:
                    return  # the forge cannot be asked now: the next check goes on
            await self._apply(issue, facts, runtime.now(), forge_name(runtime.env, host))

    async def reported(self) -> float:
        """Apply what webhooks said of listed issues since the last look."""
        runtime = self.runtime
        since = self._reported_since
        async with runtime.sessions() as session:
            reports = await issue_reports(session, since - SETTLE, REPORTS_READ)
            said = {report.url: report for report in reports}
            query = select(SprintIssue).where(col(SprintIssue.listed_url).in_(list(said)))
            listed = list((await session.exec(query)).all()) if said else []
        for issue in listed:
            report = said[issue.listed_url or ""]
            host = urlsplit(issue.url).netloc
            await self._apply(issue, report.facts, runtime.now(), forge_name(runtime.env, host))
        if reports:
            self._reported_since = reports[-1].received_at
        more = len(reports) == REPORTS_READ and self._reported_since > since
        return 0.0 if more else REPORTS_POLL

    async def _apply(
        self, issue: SprintIssue, facts: IssueFacts | None, now: datetime, forge: str
    ) -> None:
        async with self.runtime.transaction() as session:
            holder = issue.claimed_by
            logins = [n.lower() for n in await logins_of(session, holder)] if holder else []
            reason = why_gone(facts, logins, forge)
            if reason is None:
                assert facts is not None
                await session.exec(
                    update(SprintIssue)
                    .where(col(SprintIssue.id) == issue.id)
                    .values(title=facts.title, labels=",".join(facts.labels)[:1000])
                )
                return
            if facts is not None and facts.state == "closed" and holder is not None:
                if not await completed(session, issue.id or 0, holder, now, removed_by=None):
                    return
                reason = f"{reason}, which counts as done by you. Thank you"
            else:
                result = await session.exec(
                    update(SprintIssue)
                    .where(col(SprintIssue.id) == issue.id, col(SprintIssue.removed_at).is_(None))
                    .values(removed_at=now, listed_url=None)
                )
                if not result.rowcount:
                    return
            await session.exec(
                update(SprintIssue)
                .where(col(SprintIssue.id) == issue.id)
                .values(state="closed" if facts else None)
            )
            log.info("sprint issue #%s left the list: %s", issue.id, reason)
            if holder is None:
                return
            account = next(
                (a for a in await accounts_of(session, holder) if a.platform in DIRECT_PLATFORMS),
                None,
            )
            if account is None:
                return
            text = (
                f"Sprint issue #{issue.id} [{escape(f'{issue.project}#{issue.number}')}]"
                f"({issue.url}), which you held, left the sprint list: {escape(reason)}."
            )

            def shown(_audience: Audience) -> Reply:
                return Reply(text)

            direct = Direct(f"dm:{holder}", account.platform, account.platform_user_id)
            key = Key("sprint-issue-gone", issue.id or 0)
            await delivery.plan(session, self.runtime.env, [Outgoing(key, [direct], shown, now)])

    async def step(self) -> float:
        await self.check()
        return POLL
