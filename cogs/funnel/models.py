"""The funnel's figures as last computed, so a page shows them without computing them.

One row per summary (`name`), its figures as JSON: a few kilobytes, rewritten whole by the
timer that keeps them up to date."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime


class FunnelSummary(SQLModel, table=True):
    __tablename__ = "funnel_summary"

    name: str = Field(primary_key=True, max_length=32)
    computed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    figures: str = Field(sa_type=Text, nullable=False)
    # When the page was last viewed, on any instance: the timers keep the figures up to date
    # only while someone looks.
    viewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # Until when one instance's timer is computing new figures, so that the others skip.
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
