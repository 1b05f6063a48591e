"""Issues organizers curate for sprints, and who is working on each.

`listed_url` is the normalised link, lower-cased, while the issue is listed and NULL once it is
removed: its unique constraint refuses a second listing of one issue, even from two organizers
at the same moment, and lets a removed issue be listed again. `event_id` is set to NULL when its
event is deleted, which lifts the wait for a sprint that will no longer happen.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime

MAX_URL = 300
MAX_PROJECT = 255


class SprintIssue(SQLModel, table=True):
    __tablename__ = "sprint_issue"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=MAX_URL)
    listed_url: str | None = Field(default=None, max_length=MAX_URL, unique=True)
    project: str = Field(max_length=MAX_PROJECT)
    number: int
    tier: str = Field(max_length=16)
    event_id: int | None = Field(
        default=None, foreign_key="event.id", ondelete="SET NULL", index=True
    )
    added_by: int = Field(foreign_key="person.id", index=True)
    added_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    claimed_by: int | None = Field(default=None, foreign_key="person.id", index=True)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    removed_by: int | None = Field(default=None, foreign_key="person.id", index=True)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # As the forge told them when the issue was listed; None when it could not be asked.
    title: str | None = Field(default=None, max_length=300)
    state: str | None = Field(default=None, max_length=8)
    labels: str | None = Field(default=None, max_length=1000)
    completed_by: int | None = Field(default=None, foreign_key="person.id", index=True)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
