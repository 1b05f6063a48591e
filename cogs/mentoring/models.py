"""Mentor requests and mentors' availability.

A request keeps the platform and room it came from, so the requester can be told there who took
it. `round` counts how often the request went back to the queue: every announcement key carries
it, so a released request is announced (and escalated) again exactly once per round.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime

STATUSES = ("open", "claimed", "done", "cancelled")
MAX_TOPIC = 200
MAX_DETAILS = 2000
MAX_NOTE = 500


class MentorRequest(SQLModel, table=True):
    __tablename__ = "mentor_request"
    # Lists walk one status oldest first and ask of every row whether its requester is returning
    # (has a request done); figures read recent windows of a long history, from the index alone.
    __table_args__ = (
        Index("ix_mentor_request_status_created", "status", "created_at"),
        Index("ix_mentor_request_person_status", "person_id", "status"),
        Index("ix_mentor_request_created", "created_at", "first_claimed_at"),
        Index("ix_mentor_request_first_claimed", "first_claimed_at", "created_at"),
        Index("ix_mentor_request_claimed", "claimed_at", "claimed_by"),
        Index("ix_mentor_request_done", "status", "done_at", "claimed_by", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id")
    topic: str = Field(max_length=MAX_TOPIC)
    details: str | None = Field(default=None, max_length=MAX_DETAILS)
    status: str = Field(default="open", max_length=12)
    origin_platform: str = Field(max_length=16)
    origin_room: str = Field(max_length=255)
    round: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    opened_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    first_claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: int | None = Field(default=None, foreign_key="person.id", index=True)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_note: str | None = Field(default=None, max_length=MAX_NOTE)
    last_activity_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class MentorAvailability(SQLModel, table=True):
    """Only mentors who said something are stored; no row means available."""

    __tablename__ = "mentor_availability"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    available: bool = True
