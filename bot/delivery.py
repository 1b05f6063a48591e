"""Announcements to rooms, delivered exactly once per (key, room, platform).

A row is written for every message to send before anything is sent. An instance claims a row
with one conditional UPDATE, sends it with an idempotency key derived from the row (Matrix
transaction id, Discord nonce with enforce_nonce), then records the result. A crash between send
and record leaves the row claimed; once its lease runs out it is sent again under the same key,
which the platform deduplicates, so nothing is lost and nothing is posted twice.

Rate limits only postpone a row; a permanent refusal (no access, room gone) marks it failed for
organizers to see; a row whose moment has passed (`expires_at`) is skipped and logged, so a long
downtime never ends in a burst of stale messages.

Two kinds of row go beyond a post to a room. A direct message targets `user:<id>`; when the
platform refuses it for good (closed DMs), the row is re-pointed at its fallback room and sent
there with a mention instead. An edit (`replaces` another key) rewrites the message that key
posted in the same room; if that post was never sent, the post is dropped instead, so a stale
message never appears and nothing has to be edited.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import UniqueConstraint, and_, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import RoomSettings
from bot.core.context import Clock
from bot.core.reply import Button, Reply
from bot.db import UTCDateTime, insert_ignoring_conflicts
from bot.wakeup import WakeLoop

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
LATE_AFTER = timedelta(minutes=2)
MAX_ATTEMPTS = 8
BATCH = 50
INSERT_CHUNK = 500
POLL = 30.0


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
    status: str = Field(default="pending", max_length=12, index=True)
    attempts: int = 0
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=64)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: str | None = Field(default=None, max_length=255)
    error: str | None = Field(default=None, max_length=500)
    replaces: str | None = Field(default=None, max_length=200)
    fallback_target: str | None = Field(default=None, max_length=255)
    rerouted_from: str | None = Field(default=None, max_length=255)


@dataclass(frozen=True)
class SendResult:
    """What a platform says about one send; `retry_after` set means try again later."""

    message_id: str | None = None
    retry_after: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.retry_after is None and self.error is None


@runtime_checkable
class Sender(Protocol):
    name: str

    async def deliver(self, target: str, reply: Reply, key: str) -> SendResult:
        """Send *reply* to *target* once, idempotently under *key*: a channel or room id, or
        `user:<id>` for a direct message."""

    async def edit(self, target: str, message_id: str, reply: Reply, key: str) -> SendResult:
        """Replace the text of a message this bot posted in *target*."""


def encode(reply: Reply) -> str:
    return json.dumps(asdict(reply))


def decode(body: str) -> Reply:
    data: dict[str, Any] = json.loads(body)
    data["buttons"] = [Button(**b) for b in data.get("buttons", [])]
    data["fields"] = [tuple(f) for f in data.get("fields", [])]
    return Reply(**data)


DIRECT = "user:"
# The platforms that have direct messages (the console has none).
DIRECT_PLATFORMS = ("discord", "matrix")


@dataclass(frozen=True)
class Direct:
    """A person's direct messages on one platform, and the room to mention them in instead
    (on the same platform) when they do not take direct messages."""

    name: str
    platform: str
    user_id: str
    fallback: str | None = None


def targets(room: RoomSettings | Direct) -> list[tuple[str, str, str | None]]:
    """(platform, target, fallback target) for each place *room* is on."""
    if isinstance(room, Direct):
        return [(room.platform, DIRECT + room.user_id, room.fallback)]
    found: list[tuple[str, str, str | None]] = []
    if room.discord_channel_id is not None:
        found.append(("discord", str(room.discord_channel_id), None))
    if room.matrix_room_id is not None:
        found.append(("matrix", room.matrix_room_id, None))
    return found


@dataclass(frozen=True)
class Outgoing:
    """One message to plan: *render* gives it for one platform, since times read differently."""

    key: str
    rooms: Sequence[RoomSettings | Direct]
    render: Callable[[str], Reply]
    due_at: datetime
    expires_at: datetime | None = None
    replaces: str | None = None


async def enqueue(session: AsyncSession, messages: Sequence[Outgoing]) -> None:
    """Plan every message for every platform of its rooms; a key planned again is a no-op."""
    rows = [
        {
            "key": message.key,
            "room": room.name,
            "platform": platform,
            "target": target,
            "body": encode(message.render(platform)),
            "due_at": message.due_at,
            "expires_at": message.expires_at,
            "status": "pending",
            "attempts": 0,
            "replaces": message.replaces,
            "fallback_target": fallback,
        }
        for message in messages
        for room in message.rooms
        for platform, target, fallback in targets(room)
    ]
    for first in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[first : first + INSERT_CHUNK]
        await session.exec(insert_ignoring_conflicts(session, Delivery).values(chunk))


async def rooms_sent(session: AsyncSession, key_prefix: str) -> set[str]:
    """The rooms that already received something under *key_prefix* (e.g. one event's)."""
    query = select(Delivery.room).where(
        col(Delivery.key).startswith(key_prefix), Delivery.status == "sent"
    )
    return set((await session.exec(query)).all())


async def failures(session: AsyncSession, key_prefix: str) -> list[Delivery]:
    """Rows under *key_prefix* that a platform refused for good, newest first."""
    query = select(Delivery).where(
        col(Delivery.key).startswith(key_prefix), col(Delivery.status) == "failed"
    )
    return list((await session.exec(query.order_by(col(Delivery.id).desc()).limit(5))).all())


async def supersede(session: AsyncSession, key_prefix: str, keep: set[str]) -> None:
    """Drop pending rows under *key_prefix* whose key is no longer planned (event changed)."""
    statement = update(Delivery).where(
        col(Delivery.key).startswith(key_prefix), col(Delivery.status) == "pending"
    )
    if keep:
        statement = statement.where(col(Delivery.key).not_in(keep))
    await session.exec(statement.values(status="skipped", error="superseded by a change"))


class Dispatcher:
    """Claims due rows and sends them through the platforms that are connected."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        clock: Clock,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.clock = clock
        self.instance = secrets.token_hex(6)
        self.loop = WakeLoop("delivery", self.step)

    async def next_due(self) -> datetime | None:
        async with self.sessions() as session:
            query = select(Delivery.due_at).where(
                col(Delivery.status).in_(("pending", "sending")),
                col(Delivery.platform).in_(list(self.senders)),
            )
            return (await session.exec(query.order_by(col(Delivery.due_at)).limit(1))).first()

    async def run_due(self) -> int:
        """Send every row that is due now; returns how many were handled."""
        handled = 0
        while True:
            batch = await self._claim_batch()
            if not batch:
                return handled
            await asyncio.gather(*(self._send(row) for row in batch))
            handled += len(batch)

    async def _claim_batch(self) -> list[Delivery]:
        now = self.clock()
        claimable = or_(
            col(Delivery.status) == "pending",
            and_(col(Delivery.status) == "sending", col(Delivery.claimed_at) < now - LEASE),
        )
        async with self.sessions() as session:
            query = (
                select(Delivery)
                .where(
                    claimable,
                    col(Delivery.due_at) <= now,
                    col(Delivery.platform).in_(list(self.senders)),
                )
                .order_by(col(Delivery.due_at), col(Delivery.id))
                .limit(BATCH)
            )
            candidates = list((await session.exec(query)).all())
            claimed = []
            for row in candidates:
                if row.expires_at is not None and now > row.expires_at:
                    await self._finish(session, row, "skipped", error="its moment passed")
                    log.warning("delivery %s to %s skipped: too late", row.key, row.room)
                    continue
                result = await session.exec(
                    update(Delivery)
                    .where(col(Delivery.id) == row.id, claimable)
                    .values(
                        status="sending",
                        claimed_at=now,
                        claimed_by=self.instance,
                        attempts=Delivery.attempts + 1,
                    )
                )
                if result.rowcount == 1:
                    claimed.append(row)
            await session.commit()
        return claimed

    async def _send(self, row: Delivery) -> None:
        reply = decode(row.body)
        if row.rerouted_from is not None:
            reply.mentions = [row.rerouted_from.removeprefix(DIRECT), *reply.mentions]
        if row.replaces is None and self.clock() - row.due_at > LATE_AFTER:
            reply.text = f"(Sent late: the bot was unavailable.)\n{reply.text}"
        # A re-pointed row goes to another place, so it needs a key of its own there.
        key = f"delivery-{row.id}" + ("-r" if row.rerouted_from else "")
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
            if isinstance(outcome, str):
                await self._finish(session, fresh, "skipped", error=outcome)
            elif outcome.ok:
                await self._finish(session, fresh, "sent", message_id=outcome.message_id)
            elif outcome.retry_after is not None and (
                outcome.error is None or fresh.attempts < MAX_ATTEMPTS
            ):
                self._postpone(fresh, outcome.retry_after, outcome.error)
            elif fresh.fallback_target is not None and fresh.rerouted_from is None:
                log.info(
                    "delivery %s to %s: direct message refused, using its room", row.key, row.room
                )
                fresh.rerouted_from, fresh.target = fresh.target, fresh.fallback_target
                fresh.attempts = 0
                self._postpone(fresh, 0.0, outcome.error)
            else:
                await self._finish(session, fresh, "failed", error=outcome.error)
                log.error("delivery %s to %s failed: %s", row.key, row.room, outcome.error)
            session.add(fresh)
            await session.commit()

    def _postpone(self, row: Delivery, seconds: float, error: str | None) -> None:
        row.status = "pending"
        row.due_at = self.clock() + timedelta(seconds=seconds)
        row.error = None if error is None else error[:500]

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
            if original.status == "pending":
                dropped = await session.exec(
                    update(Delivery)
                    .where(col(Delivery.id) == original.id, col(Delivery.status) == "pending")
                    .values(status="skipped", error="replaced before it was sent")
                )
                await session.commit()
                if dropped.rowcount == 1:
                    return "the post was replaced before it was sent"
                return SendResult(retry_after=5.0)
            if original.status == "sending":
                return SendResult(retry_after=5.0)
            if original.status != "sent" or original.message_id is None:
                return "the post to edit was never sent"
            target, message_id = original.target, original.message_id
        return await self.senders[row.platform].edit(target, message_id, reply, key)

    async def _finish(
        self,
        session: AsyncSession,
        row: Delivery,
        status: str,
        *,
        message_id: str | None = None,
        error: str | None = None,
    ) -> None:
        row.status = status
        row.sent_at = self.clock() if status == "sent" else None
        row.message_id = message_id
        row.error = None if error is None else error[:500]
        session.add(row)

    async def step(self) -> float:
        """Send what is due; the seconds until the next row falls due (at most POLL)."""
        await self.run_due()
        upcoming = await self.next_due()
        if upcoming is None:
            return POLL
        return min(POLL, (upcoming - self.clock()).total_seconds())
