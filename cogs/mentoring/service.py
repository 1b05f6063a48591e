"""Mentor requests: the queue, claiming, closing and the figures. Pure logic on a session.

Every change of status is one conditional UPDATE on the status it expects (`WHERE status='open'`
for a claim), and its row count says whether it happened. The database thus decides races:
of twenty mentors clicking Claim at once, in one process or two, on SQLite or PostgreSQL,
exactly one UPDATE matches and the others are told who was first.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.errors import UserError
from bot.db import UTCDateTime
from bot.identity import Person
from cogs.mentoring.models import (
    MAX_DETAILS,
    MAX_NOTE,
    MAX_TOPIC,
    MentorAvailability,
    MentorRequest,
)

STATS_WINDOW = timedelta(days=30)
LONG_WINDOW = timedelta(days=90)
MAX_LIST = 25
# Words that would ping a whole room if a platform ever let them through.
_MASS_MENTION = re.compile(r"@(everyone|here|room)\b", re.IGNORECASE)


def check_text(name: str, text: str | None, limit: int) -> str | None:
    """Refuse over-long text and mass mentions; a blank optional text becomes None."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > limit:
        raise UserError(f"The {name} is too long ({len(text):,} characters; at most {limit:,}).")
    if match := _MASS_MENTION.search(text):
        raise UserError(
            f"Please remove {match.group(0)!r} from the {name}: mentor requests never ping "
            "a whole room."
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
            f"You already have request #{existing.id} “{existing.topic}” ({existing.status}). "
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


async def queue_position(session: AsyncSession, request_id: int) -> int | None:
    queue, _ = await open_queue(session)
    return next((i for i, r in enumerate(queue, 1) if r.id == request_id), None)


def _median(lengths: Sequence[timedelta]) -> timedelta | None:
    if not lengths:
        return None
    return timedelta(seconds=statistics.median(d.total_seconds() for d in lengths))


async def median_time_to_claim(session: AsyncSession, now: datetime) -> timedelta | None:
    """Creation to first claim, over requests first claimed in the last 30 days."""
    query = select(MentorRequest.created_at, MentorRequest.first_claimed_at).where(
        col(MentorRequest.first_claimed_at) >= now - STATS_WINDOW
    )
    rows = (await session.exec(query)).all()
    return _median([claimed - created for created, claimed in rows if claimed is not None])


async def list_requests(
    session: AsyncSession, which: str, person_id: int | None
) -> tuple[list[MentorRequest], set[int], int]:
    """Requests to show, in queue order, the returning requesters, and how many were left out.

    *which* is open, all, or mine (open and claimed only); *person_id* limits the list to the
    requests a person made or claimed (everyone who is not a mentor only ever sees their own).
    """
    query = select(MentorRequest)
    if which == "open":
        query = query.where(MentorRequest.status == "open")
    elif which == "mine":
        query = query.where(col(MentorRequest.status).in_(("open", "claimed")))
    if person_id is not None:
        query = query.where(
            or_(
                col(MentorRequest.person_id) == person_id,
                col(MentorRequest.claimed_by) == person_id,
            )
        )
    found = list((await session.exec(query)).all())
    returning = await returning_people(session, (r.person_id for r in found))
    rank = {"open": 0, "claimed": 1, "done": 2, "cancelled": 3}
    ordered = sorted(queue_order(found, returning), key=lambda r: rank.get(r.status, 4))
    return ordered[:MAX_LIST], returning, max(0, len(ordered) - MAX_LIST)


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


async def claim(
    session: AsyncSession, request_id: int, mentor_id: int, capacity: int, now: datetime
) -> MentorRequest:
    """Give the request to *mentor_id* if it is still open: the one UPDATE decides who wins."""
    request = await get_request(session, request_id)
    if request.status != "open":
        raise UserError(_describe_taken(request, await display_name(session, request.claimed_by)))
    if request.person_id == mentor_id:
        raise UserError("You cannot claim your own request.")
    if not await is_available(session, mentor_id):
        raise UserError("You are marked unavailable. Say `mentor available on` first.")
    held = await active_claims(session, mentor_id)
    if held >= capacity:
        raise UserError(
            f"You already hold {held} requests (the limit is {capacity}). "
            "Finish or release one first."
        )
    stamp = literal(now, UTCDateTime())
    won = await _transition(
        session,
        request_id,
        "open",
        {
            "status": "claimed",
            "claimed_by": mentor_id,
            "claimed_at": now,
            "first_claimed_at": func.coalesce(col(MentorRequest.first_claimed_at), stamp),
            "last_activity_at": now,
        },
    )
    request = await get_request(session, request_id)
    if not won:
        raise UserError(_describe_taken(request, await display_name(session, request.claimed_by)))
    return request


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


async def release(
    session: AsyncSession, request_id: int, person_id: int, organizer: bool, now: datetime
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
        raise UserError(f"Request #{request_id} changed just now; look again with `mentor list`.")
    return await get_request(session, request_id)


async def done(
    session: AsyncSession,
    request_id: int,
    person_id: int,
    organizer: bool,
    note: str | None,
    now: datetime,
) -> MentorRequest:
    checked = check_text("note", note, MAX_NOTE)
    await _claimed_by_caller(session, request_id, person_id, organizer, "marked done")
    values = {"status": "done", "done_at": now, "done_note": checked, "last_activity_at": now}
    if not await _transition(session, request_id, "claimed", values):
        raise UserError(f"Request #{request_id} changed just now; look again with `mentor list`.")
    return await get_request(session, request_id)


async def cancel(
    session: AsyncSession, request_id: int, person_id: int, organizer: bool, now: datetime
) -> MentorRequest:
    """The requester (or an organizer) withdraws a request that is open or in progress."""
    request = await get_request(session, request_id)
    if request.person_id != person_id and not organizer:
        raise UserError(f"Request #{request_id} is not yours; only its requester can cancel it.")
    if request.status not in ("open", "claimed"):
        raise UserError(f"Request #{request_id} is already {request.status}.")
    values = {"status": "cancelled", "last_activity_at": now}
    if not await _transition(session, request_id, request.status, values):
        raise UserError(f"Request #{request_id} changed just now; look again with `mentor list`.")
    return await get_request(session, request_id)


async def display_name(session: AsyncSession, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    person = await session.get(Person, person_id)
    return person.display_name if person else None


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


async def stats(session: AsyncSession, now: datetime) -> Stats:
    """The queue's health over the last 30 days, and each mentor's share over 30 and 90."""
    open_now = (
        await session.exec(select(func.count()).where(MentorRequest.status == "open"))
    ).one()
    start_90 = now - LONG_WINDOW
    touched = or_(
        col(MentorRequest.created_at) >= start_90,
        col(MentorRequest.claimed_at) >= start_90,
        col(MentorRequest.done_at) >= start_90,
    )
    recent = list((await session.exec(select(MentorRequest).where(touched))).all())
    start_30 = now - STATS_WINDOW
    made = [r for r in recent if r.created_at >= start_30]
    done_lengths = [
        r.done_at - r.created_at
        for r in recent
        if r.status == "done" and r.done_at is not None and r.done_at >= start_30
    ]
    counts: dict[int, list[int]] = {}
    for r in recent:
        if r.claimed_by is None or r.claimed_at is None:
            continue
        row = counts.setdefault(r.claimed_by, [0, 0, 0, 0])
        for offset, start in ((0, start_30), (2, start_90)):
            row[offset] += r.claimed_at >= start
            row[offset + 1] += r.status == "done" and r.done_at is not None and r.done_at >= start
    mentors = [
        MentorCounts(await display_name(session, pid) or f"person {pid}", *row)
        for pid, row in counts.items()
    ]
    mentors.sort(key=lambda m: (-m.claimed_90, m.name))
    return Stats(
        open_now=open_now,
        median_claim=await median_time_to_claim(session, now),
        median_done=_median(done_lengths),
        made_30=len(made),
        never_claimed_30=sum(r.first_claimed_at is None for r in made),
        mentors=mentors,
    )
