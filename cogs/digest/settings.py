"""`[digest]`: when rooms with purpose `digest` get the weekly summary, and in which zone."""

from __future__ import annotations

import zoneinfo
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from pydantic import Field, field_validator

from bot.core.settings import Section, iana_zone


class DigestSettings(Section):
    """A cron-like moment: `day_of_week` as cron writes it (`mon`, `mon-fri`, `mon,thu`, `*`),
    at `hour`:`minute` in `timezone` (the bot's zone when not set). One hour and one minute,
    so it comes at most once a day."""

    day_of_week: str = "mon"
    hour: int = Field(default=9, ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)
    timezone: str | None = None

    @field_validator("day_of_week")
    @classmethod
    def _days(cls, value: str) -> str:
        value = value.strip().lower()
        try:
            CronTrigger(day_of_week=value)
        except ValueError:
            raise ValueError(
                f"unknown days {value!r}; write them as cron does: mon, mon-fri, mon,thu or *"
            ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else iana_zone(value)

    def zone(self, default: str) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone or default)

    def trigger(self, default_zone: str) -> Any:
        """The schedule as APScheduler's CronTrigger: the one definition of when digests fall."""
        return CronTrigger(
            day_of_week=self.day_of_week,
            hour=self.hour,
            minute=self.minute,
            timezone=self.zone(default_zone),
        )
