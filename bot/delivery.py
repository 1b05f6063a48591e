"""The outbox: messages to rooms and people, delivered exactly once per (key, room, platform).

Features plan, amend, drop and ask about their messages through the functions here, by typed
`Key`; nothing outside this module reads or writes a `Delivery` row or takes a key apart.

A row is written for every message before anything is sent. An instance claims a row with one
conditional UPDATE, sends it with an idempotency key derived from the row (Matrix transaction
id, Discord nonce with enforce_nonce), then records the result. A crash between send and record
leaves the row claimed; once its lease runs out it is sent again under the same key, which the
platform deduplicates, so nothing is lost and nothing is posted twice.

Rate limits only postpone a row (a row may cap how many times, as a command's answer does); a
passing outage is retried a bounded number of times; a permanent refusal (no access, room gone)
marks it failed for organizers to see; a row whose moment has passed (`expires_at`) is skipped
and logged, so a long downtime never ends in a burst of stale messages.

Two kinds of row go beyond a post to a room. A direct message targets `user:<id>`; when the
platform refuses it for good (closed DMs), the row is re-pointed at its fallback room and sent
there with a mention instead. An edit (`replaces` another key) rewrites the message that key
posted in the same room; it is planned only where that message was planned, and if the post
was never sent, the post is dropped instead, so a stale message never appears and nothing has
to be edited.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Enum,
    UniqueConstraint,
    and_,
    bindparam,
    delete,
    func,
    or_,
    update,
)
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.audience import Audience
from bot.core.bus import DELIVERIES, note
from bot.core.context import Clock
from bot.core.env import Env
from bot.core.observe import NOBODY, Observer
from bot.core.ports import DIRECT, DIRECT_PLATFORMS, Sender, SendResult
from bot.core.reply import Reply, decode, encode
from bot.core.rooms import Room
from bot.core.runtime import Runtime
from bot.core.wakeup import WakeLoop
from bot.db import UTCDateTime, connection_of, dialect_insert, insert_ignoring_conflicts
from bot.reads import Read, Write

__all__ = [
    "DIRECT_PLATFORMS",
    "Direct",
    "Dispatcher",
    "Handover",
    "Key",
    "Outgoing",
    "Refusal",
    "Status",
    "amend",
    "backlog",
    "drop",
    "forget_recipient",
    "pending_subjects",
    "plan",
    "planned",
    "redact",
    "refusals",
    "sent_rooms",
    "waiting",
    "within",
]

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
LATE_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 8
BATCH = 50
POLL = 30.0
# How soon to look again while a platform with messages to send is not connected.
RECONNECT_POLL = 2.0


class Status(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Delivery(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("key", "room", "platform"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, index=True)
    room: str = Field(max_length=64)
    platform: str = Field(max_length=16)
    target: str = Field(max_length=255)
    body: str
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: Status = Field(
        default=Status.PENDING,
        sa_type=Enum(
            Status,
            native_enum=False,
            length=12,
            values_callable=lambda members: [member.value for member in members],
        ),
        index=True,
    )
    attempts: int = 0
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: str | None = Field(default=None, max_length=255)
    error: str | None = Field(default=None, max_length=500)
    replaces: str | None = Field(default=None, max_length=200)
    fallback_target: str | None = Field(default=None, max_length=255)
    rerouted_from: str | None = Field(default=None, max_length=255)
    # A send a platform began itself keeps the idempotency key it began with.
    send_key: str | None = Field(default=None, max_length=255)
    # How many rate-limited tries before giving up; None waits out every rate limit.
    max_attempts: int | None = None


_DELIVERIES = Delivery.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, init=False)
class Key:
    """A message's identity: its kind, the subject it is about, and details that tell one
    message about that subject from another, e.g. `Key("event", 12, "20270105T1700Z", "r15")`.

    Messages are asked about by scope: `Key("event", 12)` covers every message of event 12."""

    kind: str
    subject: str
    detail: tuple[str, ...]

    def __init__(self, kind: str, subject: object, *detail: object) -> None:
        parts = [kind, str(subject), *map(str, detail)]
        if any(not part or ":" in part for part in parts):
            raise ValueError(f"key parts must be non-empty and without ':': {parts!r}")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "subject", parts[1])
        object.__setattr__(self, "detail", tuple(parts[2:]))

    def __str__(self) -> str:
        return ":".join([self.kind, self.subject, *self.detail])

    def child(self, *detail: object) -> Key:
        return Key(self.kind, self.subject, *self.detail, *detail)

    @classmethod
    def parse(cls, text: str) -> Key:
        """The key *text* was written from, as a feature that keeps keys in its own rows
        reads them back."""
        return cls(*text.split(":"))


def within(column: Any, scope: Key) -> ColumnElement[bool]:
    """*column*, which holds keys, holds *scope* or a key within it."""
    text = str(scope)
    return or_(column == text, column.startswith(text + ":"))


def _under(scope: Key) -> ColumnElement[bool]:
    return within(col(Delivery.key), scope)


Render = Callable[[Audience], Reply]


@dataclass(frozen=True)
class Direct:
    """A person's direct messages on one platform, and the room to mention them in instead
    (on the same platform) when they do not take direct messages."""

    name: str
    platform: str
    user_id: str
    fallback: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """One message to plan: *render* gives it for each audience, since times and commands read
    differently on each platform."""

    key: Key
    rooms: Sequence[Room | Direct]
    render: Render
    due_at: datetime
    expires_at: datetime | None = None
    replaces: Key | None = None


@dataclass(frozen=True)
class Refusal:
    """A message a platform refused for good, as organizers see it."""

    room: str
    platform: str
    error: str


def _targets(room: Room | Direct) -> list[tuple[str, str, str | None]]:
    """(platform, target, fallback target) for each place *room* is on."""
    if isinstance(room, Direct):
        return [(room.platform, DIRECT + room.user_id, room.fallback)]
    return [(platform, target, None) for platform, target in sorted(room.places.items())]


async def plan(session: AsyncSession, env: Env, messages: Sequence[Outgoing]) -> None:
    """Plan every message for every platform of its rooms; a key planned again is a no-op,
    and an edit is planned only where the message it replaces was planned, in the same room
    and platform. The dispatcher is woken once the session commits."""
    bodies: dict[tuple[Render, str], str] = {}

    def body(render: Render, platform: str) -> str:
        found = bodies.get((render, platform))
        if found is None:
            found = bodies[(render, platform)] = encode(render(env.audience(platform)))
        return found

    rows = [
        {
            "key": str(message.key),
            "room": room.name,
            "platform": platform,
            "target": target,
            "body": body(message.render, platform),
            "due_at": message.due_at,
            "expires_at": message.expires_at,
            "status": Status.PENDING,
            "attempts": 0,
            "replaces": None if message.replaces is None else str(message.replaces),
            "fallback_target": fallback,
        }
        for message in messages
        for room in message.rooms
        for platform, target, fallback in _targets(room)
    ]
    if rows:
        # The rows as parameters of one statement compiled once: a statement built from
        # them would be compiled afresh for every plan.
        await _plan_statement(session.get_bind().dialect.name).many(session, rows)
        note(session, DELIVERIES)


_PLANNED_COLUMNS = (
    "key",
    "room",
    "platform",
    "target",
    "body",
    "due_at",
    "expires_at",
    "status",
    "attempts",
    "replaces",
    "fallback_target",
)
_PLANS: dict[str, Write] = {}


def _plan_statement(dialect: str) -> Write:
    """One INSERT for posts and edits alike, so that a feature editing its posts (a claimed
    mentor request) plans the edits in the round trip that plans its other messages, rather
    than first asking which of its posts were planned."""
    found = _PLANS.get(dialect)
    if found is None:
        table = _DELIVERIES
        values = {name: bindparam(name, type_=table.c[name].type) for name in _PLANNED_COLUMNS}
        original = table.alias("original")
        posted = (
            select(original.c.id)
            .where(
                original.c.key == values["replaces"],
                original.c.room == values["room"],
                original.c.platform == values["platform"],
            )
            .exists()
        )
        chosen = select(*values.values()).where(or_(values["replaces"].is_(None), posted))
        insert = dialect_insert(dialect)(table).from_select(list(_PLANNED_COLUMNS), chosen)
        found = _PLANS[dialect] = Write(insert.on_conflict_do_nothing())
    return found


async def amend(session: AsyncSession, env: Env, key: Key, render: Render) -> None:
    """Rewrite the message *key* wherever it is still waiting to be sent."""
    query = select(Delivery).where(
        col(Delivery.key) == str(key), col(Delivery.status) == Status.PENDING
    )
    for row in (await session.exec(query)).all():
        row.body = encode(render(env.audience(row.platform)))
        session.add(row)


async def drop(session: AsyncSession, scope: Key, keep: Collection[Key] = ()) -> None:
    """Drop the messages under *scope* still waiting to be sent, but those in *keep*: what
    was planned is no longer wanted (an event moved, a reminder was turned off)."""
    statement = update(Delivery).where(_under(scope), col(Delivery.status) == Status.PENDING)
    if keep:
        statement = statement.where(col(Delivery.key).not_in([str(key) for key in keep]))
    await session.exec(statement.values(status=Status.SKIPPED, error="superseded by a change"))


async def drop_kind(session: AsyncSession, kind: str, keep: Collection[Key] = ()) -> None:
    """`drop` for every subject of *kind*."""
    statement = update(Delivery).where(
        col(Delivery.key).startswith(kind + ":"), col(Delivery.status) == Status.PENDING
    )
    if keep:
        statement = statement.where(col(Delivery.key).not_in([str(key) for key in keep]))
    await session.exec(statement.values(status=Status.SKIPPED, error="superseded by a change"))


_PLANNED = select(_DELIVERIES.c.key).where(_DELIVERIES.c.key.in_(bindparam("keys", expanding=True)))
# A few keys, the common case (the digest and the review hour ask after one, the escalator
# after what one pass finds due), by a statement of that many parameters: an expanding IN has
# its SQL written out anew for every execution.
_PLANNED_FEW = {
    n: Read(
        select(_DELIVERIES.c.key).where(
            _DELIVERIES.c.key.in_([bindparam(f"k{i}") for i in range(n)])
        )
    )
    for n in range(1, 5)
}


async def planned(session: AsyncSession, keys: Iterable[Key]) -> set[Key]:
    """Which of *keys* were planned already, whatever became of them."""
    texts = {str(key): key for key in keys}
    if not texts:
        return set()
    if (few := _PLANNED_FEW.get(len(texts))) is not None:
        rows = await few.rows(session, {f"k{i}": text for i, text in enumerate(texts)})
        return {texts[text] for (text,) in rows}
    connection = await connection_of(session)
    found = await connection.execute(_PLANNED, {"keys": list(texts)})
    return {texts[text] for text in found.scalars()}


async def backlog(session: AsyncSession) -> dict[str, int]:
    """How many messages wait to be sent (or are being sent), by platform."""
    query = (
        select(Delivery.platform, func.count())
        .where(col(Delivery.status).in_((Status.PENDING, Status.SENDING)))
        .group_by(col(Delivery.platform))
    )
    return {platform: count for platform, count in (await session.exec(query)).all()}


async def pending_subjects(session: AsyncSession, kind: str) -> set[str]:
    """The subjects of *kind* with messages still waiting to be sent."""
    query = select(Delivery.key).where(
        col(Delivery.status) == Status.PENDING, col(Delivery.key).startswith(kind + ":")
    )
    return {Key.parse(text).subject for text in (await session.exec(query)).all()}


async def sent_rooms(session: AsyncSession, scope: Key) -> set[str]:
    """The rooms that already received something under *scope* (e.g. one event's)."""
    query = select(Delivery.room).where(_under(scope), col(Delivery.status) == Status.SENT)
    return set((await session.exec(query)).all())


async def refusals(session: AsyncSession, scope: Key, limit: int = 5) -> list[Refusal]:
    """Messages under *scope* that a platform refused for good, newest first."""
    query = (
        select(Delivery.room, Delivery.platform, Delivery.error)
        .where(_under(scope), col(Delivery.status) == Status.FAILED)
        .order_by(col(Delivery.id).desc())
        .limit(limit)
    )
    return [
        Refusal(room, platform, error or "refused")
        for room, platform, error in (await session.exec(query)).all()
    ]


@dataclass(frozen=True)
class Failed:
    """A message a platform refused for good, as the organizers' page lists it."""

    id: int
    key: str
    room: str
    platform: str
    direct: bool
    error: str
    due_at: datetime
    # When it stops being worth sending (a reminder after its event); a retry is refused then.
    expires_at: datetime | None
    text: str


async def failed(session: AsyncSession, limit: int = 100) -> tuple[list[Failed], int]:
    """The newest messages a platform refused for good, and how many there are in all."""
    where = col(Delivery.status) == Status.FAILED
    total = (await session.exec(select(func.count()).where(where))).one()
    query = select(Delivery).where(where).order_by(col(Delivery.id).desc()).limit(limit)
    found: list[Failed] = []
    for row in (await session.exec(query)).all():
        assert row.id is not None
        reply = decode(row.body)
        found.append(
            Failed(
                row.id,
                row.key,
                row.room,
                row.platform,
                row.target.startswith(DIRECT),
                row.error or "refused",
                row.due_at,
                row.expires_at,
                reply.body(),
            )
        )
    return found, total


async def retry(session: AsyncSession, delivery_id: int, now: datetime) -> bool:
    """Send a refused message again, now, with a fresh count of attempts; False when it is
    not refused (any more), or has expired. The dispatcher is woken once the session commits."""
    still = or_(col(Delivery.expires_at).is_(None), col(Delivery.expires_at) > now)
    changed = await session.exec(
        update(Delivery)
        .where(col(Delivery.id) == delivery_id, col(Delivery.status) == Status.FAILED, still)
        .values(
            status=Status.PENDING,
            due_at=now,
            attempts=0,
            error=None,
            claimed_at=None,
            claimed_by=None,
        )
    )
    if changed.rowcount != 1:
        return False
    note(session, DELIVERIES)
    return True


async def waiting(
    session: AsyncSession, scope: Key, platform: str, room: str, after: datetime
) -> Key | None:
    """The newest message under *scope* for *room* on *platform* that is still to be sent and
    not due before *after*; locked until the session ends, so that whoever amends it next
    sees this amendment."""
    query = (
        select(Delivery.key)
        .where(
            _under(scope),
            col(Delivery.platform) == platform,
            col(Delivery.room) == room,
            col(Delivery.status) == Status.PENDING,
            col(Delivery.due_at) > after,
        )
        .order_by(col(Delivery.id).desc())
        .limit(1)
        .with_for_update()
    )
    found = (await session.exec(query)).first()
    return None if found is None else Key.parse(found)


def settle(row: Delivery, outcome: SendResult | str, now: datetime) -> None:
    """The one retry policy: what an attempt's outcome (or a reason to skip) makes of its row.

    A rate limit postpones, up to the row's `max_attempts` when it has one; a passing outage
    postpones up to MAX_ATTEMPTS; a refused direct message goes to its fallback room; anything
    else fails for good."""
    if isinstance(outcome, str):
        _finish(row, Status.SKIPPED, now, error=outcome)
    elif outcome.ok:
        _finish(row, Status.SENT, now, message_id=outcome.message_id)
    elif outcome.limited and (row.max_attempts is None or row.attempts <= row.max_attempts):
        _postpone(row, now, outcome.retry_after or 1.0, outcome.error)
    elif outcome.retry_after is not None and not outcome.limited and row.attempts < MAX_ATTEMPTS:
        _postpone(row, now, outcome.retry_after, outcome.error)
    elif row.fallback_target is not None and row.rerouted_from is None:
        log.info("delivery %s to %s: direct message refused, using its room", row.key, row.room)
        row.rerouted_from, row.target = row.target, row.fallback_target
        row.attempts = 0
        _postpone(row, now, 0.0, outcome.error)
    else:
        error = outcome.error or "still rate limited"
        _finish(row, Status.FAILED, now, error=error)
        log.error("delivery %s to %s failed: %s", row.key, row.room, error)


def _postpone(row: Delivery, now: datetime, seconds: float, error: str | None) -> None:
    row.status = Status.PENDING
    row.due_at = now + timedelta(seconds=seconds)
    row.error = None if error is None else error[:500]


def _finish(
    row: Delivery,
    status: Status,
    now: datetime,
    *,
    message_id: str | None = None,
    error: str | None = None,
) -> None:
    row.status = status
    row.sent_at = now if status == Status.SENT else None
    row.message_id = message_id
    row.error = None if error is None else error[:500]
    row.body = _without_file(row.body)


def _without_file(body: str) -> str:
    """A row done with keeps no file: a file is someone's data (`me export`), the outbox only
    carried it."""
    reply = decode(body)
    if reply.attachment is None:
        return body
    reply.attachment = None
    return encode(reply)


class Handover:
    """The outbox's door for platforms: a send an adapter began and could not finish now."""

    def __init__(self, runtime: Runtime, rate_limit_tries: Mapping[str, int | None]) -> None:
        self.runtime = runtime
        self.tries = rate_limit_tries

    async def later(
        self, platform: str, target: str, reply: Reply, key: str, result: SendResult
    ) -> None:
        """Record the first attempt as the dispatcher would have, and leave the rest to it."""
        now = self.runtime.now()
        row = Delivery(
            key=str(Key("answer", platform, key.replace(":", "_"))),
            room=target[:64],
            platform=platform,
            target=target,
            body=encode(reply),
            due_at=now,
            status=Status.SENDING,
            attempts=1,
            send_key=key,
            max_attempts=self.tries.get(platform),
        )
        settle(row, result, now)
        async with self.runtime.transaction() as session:
            values = row.model_dump(exclude={"id"})
            await session.exec(insert_ignoring_conflicts(session, Delivery).values(values))
            note(session, DELIVERIES)


# Which of the given instances (dispatcher names) still run; without it (one process per
# SQLite store), a claim is trusted until its LEASE runs out.
Alive = Callable[[AsyncSession, set[str]], Awaitable[set[str]]]


class Dispatcher:
    """Claims due rows and sends them through the platforms that are connected."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        clock: Clock,
        observer: Observer = NOBODY,
        alive: Alive | None = None,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.clock = clock
        self.observer = observer
        self.alive = alive
        self.instance = secrets.token_hex(6)
        self.loop = WakeLoop("delivery", self.step)

    def _connected(self) -> list[str]:
        """Only a connected platform sends: Matrix, say, needs its rooms synced to know whom a
        message pings."""
        return [name for name, sender in self.senders.items() if sender.connected]

    async def next_due(self) -> datetime | None:
        async with self.sessions() as session:
            query = select(Delivery.due_at).where(
                col(Delivery.status).in_((Status.PENDING, Status.SENDING)),
                col(Delivery.platform).in_(self._connected()),
            )
            return (await session.exec(query.order_by(col(Delivery.due_at)).limit(1))).first()

    async def run_due(self) -> int:
        """Send every row that is due now; returns how many were handled."""
        handled = 0
        while not self.loop.stopping:
            batch = await self._claim_batch()
            if not batch:
                return handled
            await asyncio.gather(*(self._send(row) for row in batch))
            handled += len(batch)
        return handled

    async def release(self) -> int:
        """Give back the rows this instance claimed and did not finish, as it stops: they are
        due again at once, for the next start (or another instance) to send under the same
        idempotency key, so a send that was cut off mid-way still posts once. The attempt is
        not counted, since it never came back. Returns how many were given back."""
        async with self.sessions() as session:
            result = await session.exec(
                update(Delivery)
                .where(
                    col(Delivery.claimed_by) == self.instance,
                    col(Delivery.status) == Status.SENDING,
                )
                .values(
                    status=Status.PENDING,
                    claimed_at=None,
                    claimed_by=None,
                    attempts=Delivery.attempts - 1,
                )
            )
            await session.commit()
        released: int = result.rowcount
        if released:
            log.info("released %d deliveries claimed but not sent, for the next start", released)
        return released

    async def _claim_batch(self) -> list[Delivery]:
        now = self.clock()
        claimable = or_(
            col(Delivery.status) == Status.PENDING,
            and_(col(Delivery.status) == Status.SENDING, col(Delivery.claimed_at) < now - LEASE),
        )
        async with self.sessions() as session:
            query = (
                select(Delivery)
                .where(
                    claimable,
                    col(Delivery.due_at) <= now,
                    col(Delivery.platform).in_(self._connected()),
                )
                .order_by(col(Delivery.due_at), col(Delivery.id))
                .limit(BATCH)
            )
            candidates = list((await session.exec(query)).all())
            orphans = await self._orphans(session, now)
            orphaned = {row.id for row in orphans}
            claimed = []
            for row in candidates + orphans:
                if row.expires_at is not None and now > row.expires_at:
                    _finish(row, Status.SKIPPED, now, error="its moment passed")
                    session.add(row)
                    log.warning("delivery %s to %s skipped: too late", row.key, row.room)
                    self.observer.delivery(row.platform, Status.SKIPPED, None)
                    continue
                still = (
                    and_(
                        col(Delivery.status) == Status.SENDING,
                        col(Delivery.claimed_by) == row.claimed_by,
                    )
                    if row.id in orphaned
                    else claimable
                )
                result = await session.exec(
                    update(Delivery)
                    .where(col(Delivery.id) == row.id, still)
                    .values(
                        status=Status.SENDING,
                        claimed_at=now,
                        claimed_by=self.instance,
                        attempts=Delivery.attempts + 1,
                    )
                )
                if result.rowcount == 1:
                    claimed.append(row)
            await session.commit()
        return claimed

    async def _orphans(self, session: AsyncSession, now: datetime) -> list[Delivery]:
        """Rows claimed, within their LEASE, by an instance that is gone (killed mid-send), when
        the store can tell (`alive`); sending them again now cannot double them, since the send
        repeats the idempotency key."""
        if self.alive is None:
            return []
        query = (
            select(Delivery)
            .where(
                col(Delivery.status) == Status.SENDING,
                col(Delivery.claimed_at) >= now - LEASE,
                col(Delivery.claimed_by) != self.instance,
                col(Delivery.due_at) <= now,
                col(Delivery.platform).in_(self._connected()),
            )
            .limit(BATCH)
        )
        claimed = list((await session.exec(query)).all())
        if not claimed:
            return []
        living = await self.alive(session, {row.claimed_by for row in claimed if row.claimed_by})
        return [row for row in claimed if row.claimed_by not in living]

    async def _send(self, row: Delivery) -> None:
        reply = decode(row.body)
        if row.rerouted_from is not None:
            reply.mentions = [row.rerouted_from.removeprefix(DIRECT), *reply.mentions]
        if row.replaces is None and self.clock() - row.due_at > LATE_AFTER:
            reply.text = f"(Sent late: the bot was unavailable.)\n{reply.text}"
        # A re-pointed row goes to another place, so it needs a key of its own there.
        key = row.send_key or f"delivery-{row.id}"
        key += "-r" if row.rerouted_from else ""
        outcome: SendResult | str
        try:
            if row.replaces is not None:
                outcome = await self._edit(row, reply, key)
            else:
                outcome = await self.senders[row.platform].deliver(row.target, reply, key)
        except Exception as exc:
            log.exception("delivery %s to %s/%s crashed", row.key, row.platform, row.target)
            outcome = SendResult(retry_after=30.0, error=f"{type(exc).__name__}: {exc}")
        async with self.sessions() as session:
            fresh = await session.get(Delivery, row.id)
            assert fresh is not None
            settle(fresh, outcome, self.clock())
            session.add(fresh)
            await session.commit()
        self._observe(row, fresh)

    def _observe(self, claimed: Delivery, settled: Delivery) -> None:
        """A postponed row counts as a retry; lag runs from when the row was due as claimed
        (after a postponement, from the moment it was postponed to)."""
        if settled.status == Status.PENDING:
            self.observer.delivery(claimed.platform, "retry", None)
            return
        lag = None
        if settled.sent_at is not None:
            lag = max(0.0, (settled.sent_at - claimed.due_at).total_seconds())
        self.observer.delivery(claimed.platform, settled.status, lag)

    async def _edit(self, row: Delivery, reply: Reply, key: str) -> SendResult | str:
        """Edit the message the replaced key posted here; a reason to skip when there is none."""
        async with self.sessions() as session:
            query = select(Delivery).where(
                Delivery.key == row.replaces,
                Delivery.room == row.room,
                Delivery.platform == row.platform,
            )
            original = (await session.exec(query)).first()
            if original is None:
                return "there is no post to edit"
            if original.status == Status.PENDING:
                dropped = await session.exec(
                    update(Delivery)
                    .where(col(Delivery.id) == original.id, col(Delivery.status) == Status.PENDING)
                    .values(status=Status.SKIPPED, error="replaced before it was sent")
                )
                await session.commit()
                if dropped.rowcount == 1:
                    return "the post was replaced before it was sent"
                return SendResult(retry_after=5.0, limited=True)
            if original.status == Status.SENDING:
                return SendResult(retry_after=5.0, limited=True)
            if original.status != Status.SENT or original.message_id is None:
                return "the post to edit was never sent"
            target, message_id = original.target, original.message_id
        return await self.senders[row.platform].edit(target, message_id, reply, key)

    async def step(self) -> float:
        """Send what is due; the seconds until the next row falls due (at most POLL)."""
        # Read before the work: a platform that connects meanwhile is seen on the next turn.
        poll = POLL if len(self._connected()) == len(self.senders) else RECONNECT_POLL
        await self.run_due()
        upcoming = await self.next_due()
        if upcoming is None:
            return poll
        return min(poll, (upcoming - self.clock()).total_seconds())


async def forget_recipient(
    session: AsyncSession, platform: str, user_id: str, room: str | None = None
) -> None:
    """Remove every message to this person's direct messages (`user:<id>`, or *room*, their
    direct-message room), sent or waiting, and those that went to a room in their stead: their
    bodies are about them. The outbox keeps no trace."""
    targets = [DIRECT + user_id, *([room] if room else [])]
    await session.exec(
        delete(Delivery).where(
            col(Delivery.platform) == platform,
            or_(col(Delivery.target).in_(targets), col(Delivery.rerouted_from).in_(targets)),
        )
    )


REDACTED = Reply("(removed)")


async def redact(session: AsyncSession, scope: Key) -> None:
    """Blank what the outbox remembers of messages under *scope* that are done with (sent,
    failed or skipped): they named someone who has since asked to be forgotten. Messages still
    to be sent keep their bodies; the feature drops or rewrites those."""
    await session.exec(
        update(Delivery)
        .where(
            _under(scope), col(Delivery.status).in_((Status.SENT, Status.FAILED, Status.SKIPPED))
        )
        .values(body=encode(REDACTED))
    )
