"""Curated sprint issues: listing, claiming, giving back. Pure logic on a session; no chat I/O.

A claim is one conditional UPDATE (`WHERE claimed_by IS NULL`), so of twenty people claiming
one issue at once exactly one matches. The limit of two issues per person is checked again
after that UPDATE, inside the same transaction, and the claim is rolled back when it would be a
third. On SQLite the UPDATE holds the database's single write lock until commit, so that count
sees every other claim; on PostgreSQL (read committed) two claims by one person could each miss
the other's, so the claimer's own `person` row is locked first (`FOR UPDATE`, which SQLite
leaves out), queueing one person's claims behind each other and nobody else's. A per-person
counter would also work, but it is a second copy of what the rows say, to keep right on every
give-back, removal and merge of two people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from bot.core.audience import Audience
from bot.core.context import Clock
from bot.core.env import Env
from bot.core.errors import UserError
from bot.core.markup import code, escape, mass_mention, quoted
from bot.db import aside
from bot.identity import Person, display_name
from cogs.events.api import Event, changes_of, expand, get_event
from cogs.forge.api import (
    IssueFacts,
    NoSuchIssue,
    claims_commented,
    comment_claim,
    forge_hosts,
    forge_name,
    issue_address,
    issue_facts,
    issue_repository,
    logins_of,
    open_issues,
)
from cogs.sprints.models import MAX_PROJECT, MAX_URL, SprintIssue

MAX_HELD = 2
MAX_LIST = 25
GATED_TIER = "newcomers"
EXAMPLES = (
    "https://github.com/owner/repo/issues/123 or https://gitlab.com/group/project/-/issues/45"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOSTS = {
    "github.com": "github.com",
    "www.github.com": "github.com",
    "gitlab.com": "gitlab.com",
    "www.gitlab.com": "gitlab.com",
}
_SEGMENT = r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,99}"
_PATHS = {
    "github.com": re.compile(
        r"(?P<project>[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9_.-]{1,100})"
        r"/issues/(?P<number>[0-9]{1,9})"
    ),
    "gitlab.com": re.compile(
        rf"(?P<project>{_SEGMENT}(?:/{_SEGMENT}){{1,20}})/-/issues/(?P<number>[0-9]{{1,9}})"
    ),
}
_ISSUE_PATH = {"github.com": "issues", "gitlab.com": "-/issues"}


@dataclass(frozen=True)
class IssueLink:
    url: str
    project: str
    number: int

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc


async def facts_of(
    session: AsyncSession, env: Env, clock: Clock, link: IssueLink
) -> IssueFacts | None:
    """The issue's title, state and labels from its forge, asked without keeping the store
    from other commands; refused when the forge says there is no such issue or it is closed."""
    try:
        facts = await aside(session, issue_facts(env, clock, link.host, link.project, link.number))
    except NoSuchIssue:
        raise UserError(
            f"{link.host} has no open issue {link.project}#{link.number} (a pull request, a "
            f"private or deleted issue is not listed). Give one like {EXAMPLES}.",
            plain=True,
        ) from None
    if facts is not None and facts.state == "closed":
        raise UserError(
            f"{link.project}#{link.number} is closed on {link.host}; list an open issue.",
            plain=True,
        )
    return facts


class NotOpenYet(UserError):
    """A newcomers issue whose sprint has not started; commands say when it does."""

    def __init__(self, issue: SprintIssue, event: Event, start: datetime) -> None:
        super().__init__(f"#{issue.id} is kept for newcomers until its sprint starts.")
        self.issue, self.event, self.start = issue, event, start


class AtLimit(UserError):
    """The claimer already holds MAX_HELD issues; commands list them and how to give one back."""

    def __init__(self, held: list[SprintIssue]) -> None:
        super().__init__(f"You already hold {len(held)} sprint issues, the most at once.")
        self.held = held


def refuse_mass_mention(text: str) -> None:
    if found := mass_mention(text):
        raise UserError(
            f"Please remove {quoted(found)}: sprint issues never ping a whole room. "
            f"Give the issue's link, e.g. {EXAMPLES}."
        )


def parse_link(text: str, env: Env | None = None) -> IssueLink:
    """An issue link, normalised: https, lower-case host, no query or fragment. Where
    `[[forge.forges]]` names forges, the link must be an issue's on one of them (GitHub,
    GitLab or Forgejo, self-hosted too); else on github.com or gitlab.com.

    The host must be the whole network location, so a port or user name is refused too.

    Owner and project keep their case for display; GitHub and GitLab match them without case,
    so duplicates are found on the lower-cased link.
    """
    text = text.strip()
    refuse_mass_mention(text)
    if "://" not in text:
        text = "https://" + text
    if env is not None and (hosts := forge_hosts(env)):
        return _on_forge(env, text, hosts)
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed "[" reads as an IPv6 address
        parts = None
    web = parts is not None and parts.scheme.lower() in ("http", "https")
    host = _HOSTS.get(parts.netloc.lower()) if parts is not None and web else None
    match = None if host is None or parts is None else _PATHS[host].fullmatch(parts.path.strip("/"))
    if host is None or match is None or int(match["number"]) < 1:
        raise UserError(
            f"That is not a GitHub or GitLab issue link. Give one like {EXAMPLES}.",
            show_usage=True,
        )
    project, number = match["project"], int(match["number"])
    url = f"https://{host}/{project}/{_ISSUE_PATH[host]}/{number}"
    if len(url) > MAX_URL or len(project) > MAX_PROJECT:
        raise UserError(f"That link is too long; give one like {EXAMPLES}.", show_usage=True)
    return IssueLink(url, project, number)


def _on_forge(env: Env, text: str, hosts: list[str]) -> IssueLink:
    try:
        found = issue_address(env, text.split("#")[0].split("?")[0])
    except ValueError:
        found = None
    if found is None:
        try:
            host = urlsplit(text).netloc or text
        except ValueError:
            host = text
        raise UserError(
            f"{host[:100]} is not a forge Convene reads; it reads {', '.join(hosts)}. "
            f"Give an issue's link there, e.g. https://{hosts[0]}/owner/repo/issues/123",
            show_usage=True,
        )
    if len(found.url) > MAX_URL or len(found.project) > MAX_PROJECT:
        raise UserError(f"That link is too long; give one like {EXAMPLES}.", show_usage=True)
    return IssueLink(found.url, found.project, found.number)


async def get_listed(session: AsyncSession, number: int) -> SprintIssue:
    issue = (await session.exec(_fresh(number))).first()
    if issue is None:
        raise UserError(f"There is no sprint issue #{number}.", show_usage=True)
    if issue.removed_at is not None:
        raise UserError(f"Sprint issue #{number} was removed from the list.", show_usage=True)
    return issue


async def listed_as(session: AsyncSession, url: str) -> SprintIssue | None:
    query = select(SprintIssue).where(SprintIssue.listed_url == url.lower())
    return (await session.exec(query)).first()


async def sprint_start(session: AsyncSession, event: Event, added_at: datetime) -> datetime | None:
    """When the sprint an issue was curated for starts: a one-off event's start, or the
    series' first occurrence at or after *added_at*. None when there is none (cancelled)."""
    after = _EPOCH if event.rrule is None else added_at - timedelta(microseconds=1)
    found = expand(event, await changes_of(session, event.id or 0), after=after, limit=1)
    return found[0].start if found else None


async def waiting_for(session: AsyncSession, event: Event, now: datetime) -> list[SprintIssue]:
    """Free newcomers' issues still kept until *event*'s sprint starts: what ending the
    event opens to everyone at once."""
    query = select(SprintIssue).where(
        SprintIssue.event_id == event.id,
        SprintIssue.tier == GATED_TIER,
        col(SprintIssue.claimed_by).is_(None),
        col(SprintIssue.removed_at).is_(None),
    )
    waiting = []
    for issue in (await session.exec(query.order_by(col(SprintIssue.id)))).all():
        start = await sprint_start(session, event, issue.added_at)
        if start is not None and now < start:
            waiting.append(issue)
    return waiting


async def event_of(session: AsyncSession, issue: SprintIssue) -> Event | None:
    return None if issue.event_id is None else await session.get(Event, issue.event_id)


async def add(
    session: AsyncSession,
    link: IssueLink,
    tier: str,
    event_id: int | None,
    person_id: int,
    now: datetime,
    audience: Audience,
    facts: IssueFacts | None = None,
) -> SprintIssue:
    """List an issue, refused when it is already listed or its event cannot be a sprint.
    *facts* are what the forge said of it, when it could be asked."""
    existing = await listed_as(session, link.url)
    if existing is not None:
        raise UserError(f"That issue is already listed as #{existing.id}.")
    if event_id is not None:
        await _check_event(session, event_id, now, audience)
    issue = SprintIssue(
        url=link.url,
        listed_url=link.url.lower(),
        project=link.project,
        number=link.number,
        tier=tier,
        event_id=event_id,
        added_by=person_id,
        added_at=now,
        title=facts.title if facts else None,
        state=facts.state if facts else None,
        labels=",".join(facts.labels)[:1000] if facts else None,
    )
    session.add(issue)
    try:
        await session.flush()
    except IntegrityError:
        raise UserError(
            "That issue was listed a moment ago; see the list of sprint issues."
        ) from None
    return issue


async def say_taken(
    session: AsyncSession, env: Env, clock: Clock, issue: SprintIssue, person_id: int
) -> bool:
    """Leave the forge a comment that *issue* is taken, where configured; whether it was."""
    if not claims_commented(env):
        return False
    logins = await logins_of(session, person_id)
    host = urlsplit(issue.url).netloc
    work = comment_claim(env, clock, host, issue.project, issue.number, logins)
    return await aside(session, work)


async def import_labelled(
    session: AsyncSession,
    env: Env,
    clock: Clock,
    repo: str,
    label: str,
    tier: str,
    event_id: int | None,
    person_id: int,
    audience: Audience,
) -> tuple[list[SprintIssue], int]:
    """List every open issue of *repo* (`owner/name` or its address on a configured forge)
    with *label*; the issues listed, and how many were listed already."""
    where = issue_repository(env, repo, audience)
    try:
        found = await aside(session, open_issues(env, clock, where.host, where.project, label))
    except NoSuchIssue:
        raise UserError(f"{where.host} has no repository {where.project}.", plain=True) from None
    if found is None:
        raise UserError(
            f"{forge_name(env, where.host)} cannot be asked now; try again in a few minutes.",
            plain=True,
        )
    now = clock()
    listed: list[SprintIssue] = []
    known = 0
    for issue in found:
        link = IssueLink(issue.url, where.project, issue.number)
        if await listed_as(session, link.url) is not None:
            known += 1
            continue
        added = await add(session, link, tier, event_id, person_id, now, audience, issue.facts)
        listed.append(added)
    return listed, known


async def _check_event(
    session: AsyncSession, event_id: int, now: datetime, audience: Audience
) -> None:
    """An issue can be curated for an event that has not ended and is not cancelled."""
    try:
        event = await get_event(session, event_id, audience)
    except UserError as exc:
        raise UserError(exc.message, show_usage=True, plain=exc.plain) from None
    if event.cancelled_at is not None:
        raise UserError(
            f"Event #{event_id} is cancelled; choose one that will take place.", show_usage=True
        )
    start = await sprint_start(session, event, now)
    if start is None or start + timedelta(minutes=event.duration_min) <= now:
        raise UserError(
            f"Event #{event_id} has no occurrence ahead; choose an upcoming one.", show_usage=True
        )


async def remove(session: AsyncSession, number: int, person_id: int, now: datetime) -> SprintIssue:
    """Take an issue off the list; its row stays, so who held it is not forgotten."""
    await get_listed(session, number)
    result = await session.exec(
        update(SprintIssue)
        .where(col(SprintIssue.id) == number, col(SprintIssue.removed_at).is_(None))
        .values(removed_at=now, removed_by=person_id, listed_url=None)
    )
    if result.rowcount != 1:
        raise UserError(f"Sprint issue #{number} was removed from the list just now.")
    return (await session.exec(_fresh(number))).one()


async def held_by(session: AsyncSession, person_id: int) -> list[SprintIssue]:
    query = select(SprintIssue).where(
        SprintIssue.claimed_by == person_id, col(SprintIssue.removed_at).is_(None)
    )
    return list((await session.exec(query.order_by(col(SprintIssue.id)))).all())


async def claim(session: AsyncSession, number: int, person_id: int, now: datetime) -> SprintIssue:
    """Give the issue to *person_id* if nobody holds it, it is open to claims and they hold
    fewer than MAX_HELD; see the module docstring for why this holds under concurrency."""
    issue = await get_listed(session, number)
    if issue.claimed_by is not None:
        raise _taken(issue, person_id, await holder_name(session, issue.claimed_by))
    if issue.tier == GATED_TIER and (event := await event_of(session, issue)) is not None:
        start = await sprint_start(session, event, issue.added_at)
        if start is not None and now < start:
            raise NotOpenYet(issue, event, start)
    await session.exec(select(Person).where(Person.id == person_id).with_for_update())
    held = await held_by(session, person_id)
    if len(held) >= MAX_HELD:
        raise AtLimit(held)
    result = await session.exec(
        update(SprintIssue)
        .where(
            col(SprintIssue.id) == number,
            col(SprintIssue.claimed_by).is_(None),
            col(SprintIssue.removed_at).is_(None),
        )
        .values(claimed_by=person_id, claimed_at=now)
    )
    issue = (await session.exec(_fresh(number))).one()
    if result.rowcount != 1:
        if issue.removed_at is not None:
            raise UserError(f"Sprint issue #{number} was removed from the list just now.")
        raise _taken(issue, person_id, await holder_name(session, issue.claimed_by))
    held = await held_by(session, person_id)
    if len(held) > MAX_HELD:
        raise AtLimit([h for h in held if h.id != number])
    return issue


async def unclaim(
    session: AsyncSession, number: int, person_id: int, organizer: bool
) -> tuple[SprintIssue, int]:
    """Give an issue back: its holder may, and an organizer may for anyone. Returns the
    issue and who held it."""
    issue = await get_listed(session, number)
    holder = issue.claimed_by
    if holder is None:
        raise UserError(f"Nobody holds #{number}; there is nothing to give back.")
    if holder != person_id and not organizer:
        name = await holder_name(session, holder)
        raise UserError(
            f"#{number} is held by {escape(name)}, not you; only they or an organizer can "
            "give it back."
        )
    result = await session.exec(
        update(SprintIssue)
        .where(col(SprintIssue.id) == number, col(SprintIssue.claimed_by) == holder)
        .values(claimed_by=None, claimed_at=None)
    )
    if result.rowcount != 1:
        raise UserError(f"#{number} changed just now; look again with the list.")
    return (await session.exec(_fresh(number))).one(), holder


async def complete(
    session: AsyncSession,
    number: int,
    person_id: int,
    organizer: bool,
    now: datetime,
    audience: Audience,
) -> tuple[SprintIssue, int]:
    """Record the issue as done by whoever holds it, said by its holder or an organizer; it
    leaves the list. Returns the issue and who completed it."""
    issue = (await session.exec(_fresh(number))).first()
    if issue is None:
        raise UserError(f"There is no sprint issue #{number}.", show_usage=True)
    if issue.completed_at is not None:
        name = await holder_name(session, issue.completed_by)
        raise UserError(f"#{number} is already done, by {escape(name)}.")
    if issue.removed_at is not None:
        raise UserError(f"Sprint issue #{number} was removed from the list.", show_usage=True)
    holder = issue.claimed_by
    if holder is None:
        raise UserError(
            f"Nobody holds #{number}: an issue is done by whoever took it. "
            f"Take it first, e.g. {code(audience.command('sprint claim', number=number))}."
        )
    if holder != person_id and not organizer:
        name = await holder_name(session, holder)
        raise UserError(
            f"#{number} is held by {escape(name)}, not you; only they or an organizer can "
            "say it is done."
        )
    if not await completed(session, number, holder, now, removed_by=person_id):
        raise UserError(f"#{number} changed just now; look again with the list.")
    return (await session.exec(_fresh(number))).one(), holder


async def completed(
    session: AsyncSession, number: int, holder: int, now: datetime, *, removed_by: int | None
) -> bool:
    """The listed issue *number*, still held by *holder*, done by them at *now* and off the
    list; False when it is no longer so (given back, removed, done) and nothing changed."""
    result = await session.exec(
        update(SprintIssue)
        .where(
            col(SprintIssue.id) == number,
            col(SprintIssue.claimed_by) == holder,
            col(SprintIssue.removed_at).is_(None),
        )
        .values(
            completed_by=holder,
            completed_at=now,
            removed_at=now,
            removed_by=removed_by,
            listed_url=None,
        )
    )
    return result.rowcount == 1


async def listed(session: AsyncSession, tier: str | None) -> tuple[list[SprintIssue], int]:
    """Listed issues to show, free ones first and then held ones, each oldest first; and how
    many more there are."""
    query = select(SprintIssue).where(col(SprintIssue.removed_at).is_(None))
    if tier is not None:
        query = query.where(SprintIssue.tier == tier)
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    ordered = query.order_by(col(SprintIssue.claimed_by).is_not(None), col(SprintIssue.id))
    shown = list((await session.exec(ordered.limit(MAX_LIST))).all())
    return shown, total - len(shown)


async def holder_name(session: AsyncSession, person_id: int | None) -> str:
    return await display_name(session, person_id) or "someone"


def _fresh(number: int) -> SelectOfScalar[SprintIssue]:
    return (
        select(SprintIssue)
        .where(SprintIssue.id == number)
        .execution_options(populate_existing=True)
    )


def _taken(issue: SprintIssue, person_id: int, holder: str) -> UserError:
    if issue.claimed_by == person_id:
        return UserError(f"You already hold #{issue.id}.")
    return UserError(f"#{issue.id} is held by {escape(holder)}.")
