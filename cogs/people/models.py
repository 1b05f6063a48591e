from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime


class LinkCode(SQLModel, table=True):
    """A one-time code; only its hash is stored, so a database dump cannot hijack an account."""

    __tablename__ = "link_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
