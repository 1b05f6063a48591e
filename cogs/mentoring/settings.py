"""`[mentoring]`: capacity per mentor and when unclaimed requests escalate."""

from __future__ import annotations

from pydantic import Field, model_validator

from bot.core.settings import Section


class MentoringSettings(Section):
    capacity: int = Field(default=3, ge=1, le=50)
    escalate_after_hours: int = Field(default=24, ge=1, le=24 * 30)
    escalate_to_organizers_after_hours: int = Field(default=72, ge=1, le=24 * 90)
    nudge_after_days: int = Field(default=14, ge=1, le=365)

    @model_validator(mode="after")
    def _organizers_later(self) -> MentoringSettings:
        if self.escalate_to_organizers_after_hours <= self.escalate_after_hours:
            raise ValueError(
                "escalate_to_organizers_after_hours must be more than escalate_after_hours "
                "(mentors are reminded before organizers are told)"
            )
        return self
