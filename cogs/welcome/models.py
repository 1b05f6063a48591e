"""Who has been welcomed, and by which message.

One row per person and platform they were welcomed on: a person is welcomed once ever, so a
second row only appears when two people who were each welcomed link their accounts, and the
unique pair keeps that merge from colliding.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime


class Welcome(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("person_id", "platform"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=16)
    room: str = Field(max_length=64)
    key: str = Field(max_length=200)
    welcomed_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
