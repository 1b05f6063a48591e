"""Events as their organizers describe them: local wall time, zone, and an RFC 5545 rule.

Occurrences are never stored one by one; they are expanded from the rule in the event's zone,
with skipped and moved ones recorded as changes. `next_start` caches the next occurrence so that
listing upcoming events does not expand every series. `planned_sequence` and `plan_at` are the
announcement planner's bookmark: the `sequence` (bumped by every change) it last planned, and
when the event next needs planning (None: not unless it changes).

An all-day event (`all_day`) starts at midnight in its zone and lasts whole days; the feed
writes it as dates. An occurrence added beside the rule (an RDATE) is an `EventChange` with
`added`: its `original_start` identifies it, `new_start` is where it is (itself, or where it
was moved), or None once skipped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime

KINDS = ("meeting", "sprint", "docathon", "office-hours", "review-hour", "other")
TIERS = ("everyone", "newcomers", "contributors", "core")
RSVP_STATUSES = ("going", "maybe", "no")


class Event(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=80, unique=True)
    title: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    tier: str = Field(max_length=16)
    timezone: str = Field(max_length=64)
    start_local: datetime = Field(sa_type=DateTime(timezone=False), nullable=False)
    rrule: str | None = Field(default=None, max_length=500)
    duration_min: int
    all_day: bool = False
    link: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=2000)
    reminders: str = Field(default="", max_length=200)
    mention_role: str | None = Field(default=None, max_length=100)
    next_start: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sequence: int = 0
    planned_sequence: int | None = None
    plan_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_by: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class EventRoom(SQLModel, table=True):
    __tablename__ = "event_room"

    event_id: int = Field(foreign_key="event.id", primary_key=True)
    room: str = Field(max_length=64, primary_key=True)


class EventChange(SQLModel, table=True):
    """One occurrence skipped (no new start) or moved, or one added beside the rule."""

    __tablename__ = "event_change"
    __table_args__ = (UniqueConstraint("event_id", "original_start"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    original_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    new_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    added: bool = False


class Rsvp(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("event_id", "person_id", "occurrence"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="event.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    occurrence: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(max_length=8)
    remind_minutes: int | None = None
    remind_platform: str | None = Field(default=None, max_length=16)
    remind_room: str | None = Field(default=None, max_length=255)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class PersonZone(SQLModel, table=True):
    """A person's own zone, for showing times on platforms without Discord's `<t:…>` markup."""

    __tablename__ = "person_zone"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    timezone: str = Field(max_length=64)
