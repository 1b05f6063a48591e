"""Mentor requests: the queue, claiming, closing and the figures. Pure logic on a session.

Every change of status is one conditional UPDATE on the status it expects (`WHERE status='open'`
for a claim), and its row count says whether it happened. The database thus decides races:
of twenty mentors clicking Claim at once, in one process or two, on SQLite or PostgreSQL,
exactly one UPDATE matches and the others are told who was first.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NoReturn

from sqlalchemy import (
    ColumnElement,
    Exists,
    Integer,
    bindparam,
    case,
    func,
    or_,
    true,
    update,
)
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.audience import Audience
from bot.core.errors import UserError
from bot.core.markup import code, escape, mass_mention, quoted
from bot.db import UTCDateTime, connection_of, loaded, seconds_between
from bot.identity import NAMED_ACCOUNTS, Someone, display_name, display_names, people, people_of
from bot.reads import Write
from cogs.mentoring.models import (
    MAX_DETAILS,
    MAX_NOTE,
    MAX_TOPIC,
    STATUSES,
    MentorAvailability,
    MentorRequest,
)

STATS_WINDOW = timedelta(days=30)
LONG_WINDOW = timedelta(days=90)
MAX_LIST = 25


def check_text(name: str, text: str | None, limit: int) -> str | None:
    """Refuse over-long text and mass mentions; a blank optional text becomes None."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > limit:
        raise UserError(f"The {name} is too long ({len(text):,} characters; at most {limit:,}).")
    if found := mass_mention(text):
        raise UserError(
            f"Please remove {quoted(found)} from the {name}: mentor requests never ping a whole room."
        )
    return text


async def get_request(session: AsyncSession, request_id: int) -> MentorRequest:
    query = (
        select(MentorRequest)
        .where(MentorRequest.id == request_id)
        .execution_options(populate_existing=True)
    )
    found = (await session.exec(query)).first()
    if found is None:
        raise UserError(f"There is no mentor request #{request_id}.")
    return found


async def open_request_of(session: AsyncSession, person_id: int) -> MentorRequest | None:
    """The person's request still waiting or in progress, if any."""
    query = select(MentorRequest).where(
        MentorRequest.person_id == person_id,
        col(MentorRequest.status).in_(("open", "claimed")),
    )
    return (await session.exec(query.order_by(col(MentorRequest.id)))).first()


async def create_request(
    session: AsyncSession,
    *,
    person_id: int,
    topic: str,
    details: str | None,
    platform: str,
    room: str,
    now: datetime,
) -> MentorRequest:
    """A new open request; refused while the person has one open or claimed."""
    checked_topic = check_text("topic", topic, MAX_TOPIC)
    if checked_topic is None:
        raise UserError("Say what you need help with, e.g. a topic such as “dev setup”.")
    checked_details = check_text("details", details, MAX_DETAILS)
    existing = await open_request_of(session, person_id)
    if existing is not None:
        raise UserError(
            f"You already have request #{existing.id} “{escape(existing.topic)}” ({existing.status}). "
            f"Cancel it first to ask about something else."
        )
    request = MentorRequest(
        person_id=person_id,
        topic=checked_topic,
        details=checked_details,
        origin_platform=platform,
        origin_room=room[:255],
        created_at=now,
        opened_at=now,
        last_activity_at=now,
    )
    session.add(request)
    await session.flush()
    return request


async def returning_people(session: AsyncSession, people: Iterable[int]) -> set[int]:
    """Those among *people* who had a request completed before: they queue after newcomers."""
    wanted = set(people)
    if not wanted:
        return set()
    query = select(MentorRequest.person_id).where(
        MentorRequest.status == "done", col(MentorRequest.person_id).in_(wanted)
    )
    return set((await session.exec(query.distinct())).all())


def queue_order(requests: Sequence[MentorRequest], returning: set[int]) -> list[MentorRequest]:
    """First-time requesters first, then oldest first."""
    return sorted(requests, key=lambda r: (r.person_id in returning, r.created_at, r.id or 0))


async def open_queue(session: AsyncSession) -> tuple[list[MentorRequest], set[int]]:
    """Every open request in the order mentors should take them, and who is returning."""
    query = select(MentorRequest).where(MentorRequest.status == "open")
    found = list((await session.exec(query)).all())
    returning = await returning_people(session, (r.person_id for r in found))
    return queue_order(found, returning), returning


async def open_count(session: AsyncSession) -> int:
    """How many requests wait for a mentor: one count on the status index."""
    query = select(func.count()).where(MentorRequest.status == "open")
    return (await session.exec(query)).one()


@dataclass(frozen=True)
class Waiting:
    """The queue in two figures: how many wait, and the oldest of them."""

    count: int
    oldest_id: int | None
    longest: timedelta | None


async def waiting(session: AsyncSession, now: datetime) -> Waiting:
    """How many requests wait for a mentor and how long the oldest has waited since it was
    asked, read from the status index."""
    count = await open_count(session)
    query = (
        select(MentorRequest.id, MentorRequest.created_at)
        .where(MentorRequest.status == "open")
        .order_by(col(MentorRequest.created_at), col(MentorRequest.id))
        .limit(1)
    )
    oldest = (await session.exec(query)).first()
    if oldest is None:
        return Waiting(count, None, None)
    return Waiting(count, oldest[0], now - oldest[1])


async def queue_position(session: AsyncSession, request_id: int) -> int | None:
    queue, _ = await open_queue(session)
    return next((i for i, r in enumerate(queue, 1) if r.id == request_id), None)


async def _median_seconds(
    session: AsyncSession, start: Any, end: Any, *where: ColumnElement[bool]
) -> timedelta | None:
    """The median of *end* - *start* over the rows matching *where*.

    The database counts and orders the lengths; only the middle one or two come back.
    """
    count = (await session.exec(select(func.count()).where(*where))).one()
    if not count:
        return None
    length = seconds_between(start, end)
    middle = (
        select(length).where(*where).order_by(length).offset((count - 1) // 2).limit(2 - count % 2)
    )
    return timedelta(seconds=round(statistics.fmean((await session.exec(middle)).all()), 3))


async def median_time_to_claim(session: AsyncSession, now: datetime) -> timedelta | None:
    """Creation to first claim, over requests first claimed in the last 30 days."""
    return await _median_seconds(
        session,
        MentorRequest.created_at,
        MentorRequest.first_claimed_at,
        col(MentorRequest.first_claimed_at) >= now - STATS_WINDOW,
    )


def _returning_expression() -> Exists:
    """Whether a request's requester has had any request completed, as SQL."""
    done = aliased(MentorRequest)
    completed = select(done.id).where(done.person_id == MentorRequest.person_id)
    return completed.where(done.status == "done").exists()


# Built once: aliasing a mapped class is costly next to the query that uses it.
_RETURNING = _returning_expression()


async def list_requests(
    session: AsyncSession, which: str, person_id: int | None
) -> tuple[list[MentorRequest], set[int], int]:
    """Requests to show, in queue order, the returning requesters, and how many were left out.

    *which* is open, all, or mine (open and claimed only); *person_id* limits the list to the
    requests a person made or claimed (everyone who is not a mentor only ever sees their own).
    The order (open, claimed, done, cancelled; first-timers first; oldest first) is walked in
    slices the database reads in index order, so a long history is never loaded to show 25.
    """
    statuses = {"open": ("open",), "mine": ("open", "claimed")}.get(which, STATUSES)
    where: list[ColumnElement[bool]] = []
    if which != "all":
        where.append(col(MentorRequest.status).in_(statuses))
    if person_id is not None:
        where.append(
            or_(
                col(MentorRequest.person_id) == person_id,
                col(MentorRequest.claimed_by) == person_id,
            )
        )
    counted = select(func.count()).select_from(MentorRequest).where(*where)
    total = (await session.exec(counted)).one()
    found: list[MentorRequest] = []
    for status in statuses:
        # A done request's requester has had one completed, so is never a first-timer.
        for returning in (False, True) if status != "done" else (True,):
            room = MAX_LIST - len(found)
            if room <= 0:
                break
            query = (
                select(MentorRequest)
                .where(*where, MentorRequest.status == status)
                .where(_RETURNING if returning else ~_RETURNING)
                .order_by(col(MentorRequest.created_at), col(MentorRequest.id))
                .limit(room)
            )
            found += (await session.exec(query)).all()
    returning_ids = await returning_people(session, (r.person_id for r in found))
    return found, returning_ids, total - len(found)


async def active_claims(session: AsyncSession, mentor_id: int) -> int:
    query = select(func.count()).where(
        MentorRequest.claimed_by == mentor_id, MentorRequest.status == "claimed"
    )
    return (await session.exec(query)).one()


async def is_available(session: AsyncSession, mentor_id: int) -> bool:
    row = await session.get(MentorAvailability, mentor_id)
    return row is None or row.available


async def set_available(session: AsyncSession, mentor_id: int, available: bool) -> None:
    row = await session.get(MentorAvailability, mentor_id)
    if row is None:
        row = MentorAvailability(person_id=mentor_id)
    row.available = available
    session.add(row)


async def _transition(
    session: AsyncSession, request_id: int, expected: str, values: dict[str, Any]
) -> bool:
    """Change one request only if it is still in status *expected*; whether it changed."""
    result = await session.exec(
        update(MentorRequest)
        .where(col(MentorRequest.id) == request_id, col(MentorRequest.status) == expected)
        .values(values)
    )
    return result.rowcount == 1


def _describe_taken(request: MentorRequest, holder: str | None) -> str:
    if request.status == "claimed":
        return f"{holder or 'Another mentor'} already has #{request.id}."
    return f"Request #{request.id} is {request.status}; there is nothing to claim."


# A claim's statements, built once and in plain Core, run on the session's connection:
# building them per claim, then the ORM's execution path, cost more than running them.
_REQUESTS = MentorRequest.__table__  # type: ignore[attr-defined]
_AVAILABILITY = MentorAvailability.__table__  # type: ignore[attr-defined]
_HOLDING = (
    select(func.count())
    .where(_REQUESTS.c.claimed_by == bindparam("mentor"), _REQUESTS.c.status == "claimed")
    .scalar_subquery()
)
_AVAILABLE = (
    select(_AVAILABILITY.c.available)
    .where(_AVAILABILITY.c.person_id == bindparam("mentor"))
    .scalar_subquery()
)
_CLAIM_VIEW = select(_REQUESTS.c.status, _REQUESTS.c.person_id, _HOLDING, _AVAILABLE).where(
    _REQUESTS.c.id == bindparam("request")
)
_MOMENT = bindparam("moment", type_=UTCDateTime())
# Every rule of a claim in the one UPDATE that decides it; only a refused claim reads why.
_CLAIM = (
    update(_REQUESTS)
    .where(
        _REQUESTS.c.id == bindparam("request"),
        _REQUESTS.c.status == "open",
        _REQUESTS.c.person_id != bindparam("mentor"),
        func.coalesce(_AVAILABLE, true()),
        bindparam("capacity", type_=Integer()) > _HOLDING,
    )
    .values(
        status="claimed",
        claimed_by=bindparam("mentor"),
        claimed_at=_MOMENT,
        first_claimed_at=func.coalesce(_REQUESTS.c.first_claimed_at, _MOMENT),
        last_activity_at=_MOMENT,
    )
    .returning(*_REQUESTS.c)
)
_CLAIM_ON_SQLITE = Write(_CLAIM)
# On PostgreSQL the claim and the reading of both people are one statement; SQLite runs no
# UPDATE inside WITH, and has no round trip to save.
_CLAIMED = _CLAIM.cte("claimed")
_CLAIM_AND_PEOPLE = (
    select(*(column.label(f"request_{column.name}") for column in _CLAIMED.c), *NAMED_ACCOUNTS.c)
    .select_from(
        _CLAIMED.outerjoin(
            NAMED_ACCOUNTS,
            NAMED_ACCOUNTS.c.person_id.in_([_CLAIMED.c.person_id, bindparam("mentor")]),
        )
    )
    .order_by(NAMED_ACCOUNTS.c.platform)
)
_CLAIM_WITH_PEOPLE = Write(_CLAIM_AND_PEOPLE)
_REQUEST_NAMES = tuple(column.name for column in _CLAIMED.c)
_ACCOUNT_NAMES = tuple(column.name for column in NAMED_ACCOUNTS.c)
# A claim refused although every rule holds when asked why: the request changed in between
# (released, say); it is tried again this many times before being called taken.
_CLAIM_TRIES = 2


async def claim(
    session: AsyncSession,
    request_id: int,
    mentor_id: int,
    capacity: int,
    now: datetime,
    audience: Audience,
) -> tuple[MentorRequest, dict[int, Someone]]:
    """Give the request to *mentor_id* if it is still open: the one UPDATE decides who wins.
    With it, the requester and the mentor (`identity.people`), whom the claim shows.

    The UPDATE checks every rule itself and returns the row to the winner, so a claim costs one
    round trip, its people read in the same statement on PostgreSQL; a refused one then reads
    why. The request returned is a copy of the claimed row, not an object of the session."""
    together = session.get_bind().dialect.name == "postgresql"
    key = {"request": request_id, "mentor": mentor_id}
    for _ in range(_CLAIM_TRIES):
        values = {**key, "moment": now, "capacity": capacity}
        if together:
            rows = await _CLAIM_WITH_PEOPLE.rows(session, values)
            if rows:
                return _claimed_with_people(rows)
        elif found := await _CLAIM_ON_SQLITE.mappings(session, values):
            request = loaded(MentorRequest, found[0])
            return request, await people(session, [request.person_id, mentor_id])
        await _refuse(session, request_id, mentor_id, capacity, audience)
    await _refuse_taken(session, request_id)


def _claimed_with_people(
    rows: Sequence[Sequence[Any]],
) -> tuple[MentorRequest, dict[int, Someone]]:
    """The request and people from `_CLAIM_AND_PEOPLE`'s rows, one per account of either: the
    request's columns first, then an account's, read by position (a claim's hottest loop)."""
    width = len(_REQUEST_NAMES)
    request = dict(zip(_REQUEST_NAMES, rows[0][:width], strict=True))
    accounts = [
        dict(zip(_ACCOUNT_NAMES, row[width:], strict=True))
        for row in rows
        if row[width] is not None
    ]
    return loaded(MentorRequest, request), people_of(accounts)


async def _refuse(
    session: AsyncSession, request_id: int, mentor_id: int, capacity: int, audience: Audience
) -> None:
    """Why a claim was refused, as a `UserError` naming commands as *audience* types them;
    returns when no rule refuses it now."""
    connection = await connection_of(session)
    key = {"request": request_id, "mentor": mentor_id}
    row = (await connection.execute(_CLAIM_VIEW, key)).first()
    if row is None:
        raise UserError(f"There is no mentor request #{request_id}.")
    status, requester, holding, available = row
    if status != "open":
        await _refuse_taken(session, request_id)
    if requester == mentor_id:
        raise UserError("You cannot claim your own request.")
    if available is False:
        back = code(audience.command("mentor available", state="on"))
        raise UserError(f"You are marked unavailable. Say {back} first.")
    if holding >= capacity:
        raise UserError(
            f"You already hold {holding} requests (the limit is {capacity}). "
            "Finish or release one first."
        )


async def _refuse_taken(session: AsyncSession, request_id: int) -> NoReturn:
    request = await get_request(session, request_id)
    raise UserError(_describe_taken(request, await display_name(session, request.claimed_by)))


async def _claimed_by_caller(
    session: AsyncSession, request_id: int, person_id: int, organizer: bool, verb: str
) -> MentorRequest:
    request = await get_request(session, request_id)
    if request.status != "claimed":
        state = "still open" if request.status == "open" else f"already {request.status}"
        raise UserError(f"Request #{request_id} is {state}; only a claimed request can be {verb}.")
    if request.claimed_by != person_id and not organizer:
        holder = await display_name(session, request.claimed_by)
        raise UserError(f"Request #{request_id} is {holder}'s; only they or an organizer can.")
    return request


def _changed(request_id: int, audience: Audience) -> UserError:
    """Another command moved the request between reading it and writing it."""
    again = code(audience.command("mentor list"))
    return UserError(f"Request #{request_id} changed just now; look again with {again}.")


async def release(
    session: AsyncSession,
    request_id: int,
    person_id: int,
    organizer: bool,
    now: datetime,
    audience: Audience,
) -> MentorRequest:
    """Back to the queue as a new round, so it is announced and escalated afresh."""
    request = await _claimed_by_caller(session, request_id, person_id, organizer, "released")
    values = {
        "status": "open",
        "claimed_by": None,
        "claimed_at": None,
        "opened_at": now,
        "last_activity_at": now,
        "round": request.round + 1,
    }
    if not await _transition(session, request_id, "claimed", values):
        raise _changed(request_id, audience)
    return await get_request(session, request_id)


async def done(
    session: AsyncSession,
    request_id: int,
    person_id: int,
    organizer: bool,
    note: str | None,
    now: datetime,
    audience: Audience,
) -> MentorRequest:
    checked = check_text("note", note, MAX_NOTE)
    await _claimed_by_caller(session, request_id, person_id, organizer, "marked done")
    values = {"status": "done", "done_at": now, "done_note": checked, "last_activity_at": now}
    if not await _transition(session, request_id, "claimed", values):
        raise _changed(request_id, audience)
    return await get_request(session, request_id)


async def cancel(
    session: AsyncSession,
    request_id: int,
    person_id: int,
    organizer: bool,
    now: datetime,
    audience: Audience,
) -> MentorRequest:
    """The requester (or an organizer) withdraws a request that is open or in progress."""
    request = await get_request(session, request_id)
    if request.person_id != person_id and not organizer:
        raise UserError(f"Request #{request_id} is not yours; only its requester can cancel it.")
    if request.status not in ("open", "claimed"):
        raise UserError(f"Request #{request_id} is already {request.status}.")
    values = {"status": "cancelled", "last_activity_at": now}
    if not await _transition(session, request_id, request.status, values):
        raise _changed(request_id, audience)
    return await get_request(session, request_id)


@dataclass(frozen=True)
class MentorCounts:
    name: str
    claimed_30: int
    done_30: int
    claimed_90: int
    done_90: int


@dataclass(frozen=True)
class Stats:
    open_now: int
    median_claim: timedelta | None
    median_done: timedelta | None
    made_30: int
    never_claimed_30: int
    mentors: list[MentorCounts]


async def _mentor_counts(
    session: AsyncSession, start_30: datetime, start_90: datetime
) -> list[MentorCounts]:
    """Each mentor's claims and requests done since *start_30* and *start_90*, busiest first."""
    finished = col(MentorRequest.status) == "done"

    def per_mentor(at: Any, *where: ColumnElement[bool]) -> Any:
        """(mentor, since 30 days, since 90 days) counts of requests by the instant *at*.

        The window is materialized first: otherwise SQLite, which keeps no statistics, walks
        the claimed_by index through the whole history to spare itself sorting the window.
        """
        window = (
            select(col(MentorRequest.claimed_by).label("mentor"), at.label("at"))
            .where(at >= start_90, *where)
            .cte("window")
            .prefix_with("MATERIALIZED")
        )
        recent = func.sum(case((window.c.at >= start_30, 1), else_=0))
        return select(window.c.mentor, recent, func.count()).group_by(window.c.mentor)

    counts: dict[int, list[int]] = {}
    for offset, query in (
        (0, per_mentor(col(MentorRequest.claimed_at))),
        (1, per_mentor(col(MentorRequest.done_at), finished)),
    ):
        for mentor, in_30, in_90 in (await session.exec(query)).all():
            if mentor is not None:
                row = counts.setdefault(mentor, [0, 0, 0, 0])
                row[offset], row[offset + 2] = in_30, in_90
    names = await display_names(session, counts)
    mentors = [MentorCounts(names.get(pid, f"person {pid}"), *row) for pid, row in counts.items()]
    mentors.sort(key=lambda m: (-m.claimed_90, m.name))
    return mentors


async def stats(session: AsyncSession, now: datetime) -> Stats:
    """The queue's health over the last 30 days, and each mentor's share over 30 and 90.

    Only the windows are read, and only the columns the figures need, never whole requests.
    """
    open_now = (
        await session.exec(select(func.count()).where(MentorRequest.status == "open"))
    ).one()
    start_30, start_90 = now - STATS_WINDOW, now - LONG_WINDOW
    unclaimed = case((col(MentorRequest.first_claimed_at).is_(None), 1), else_=0)
    made_30, never_claimed_30 = (
        await session.exec(
            select(func.count(), func.coalesce(func.sum(unclaimed), 0)).where(
                col(MentorRequest.created_at) >= start_30
            )
        )
    ).one()
    finished = col(MentorRequest.status) == "done"
    median_done = await _median_seconds(
        session,
        MentorRequest.created_at,
        MentorRequest.done_at,
        finished,
        col(MentorRequest.done_at) >= start_30,
    )
    mentors = await _mentor_counts(session, start_30, start_90)
    return Stats(
        open_now=open_now,
        median_claim=await median_time_to_claim(session, now),
        median_done=median_done,
        made_30=made_30,
        never_claimed_30=never_claimed_30,
        mentors=mentors,
    )


async def last_mentor(session: AsyncSession, person_id: int) -> int | None:
    """The mentor who last took one of *person_id*'s requests, if any did."""
    query = (
        select(MentorRequest.claimed_by)
        .where(
            col(MentorRequest.person_id) == person_id,
            col(MentorRequest.claimed_by).is_not(None),
        )
        .order_by(col(MentorRequest.claimed_at).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


# Who asked the mentor request bound as `request`: another cog reads beside `mentor claim`
# what it keeps about that person, in a statement of its own that embeds this one, so the
# claim pays one round trip for it, not two.
REQUESTER = (
    select(_REQUESTS.c.person_id).where(_REQUESTS.c.id == bindparam("request")).scalar_subquery()
)
