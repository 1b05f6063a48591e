"""`[welcome]`: the greeting people get once when they first join a room with purpose `welcome`."""

from __future__ import annotations

import string

from pydantic import Field, field_validator

from bot.core.settings import Section

WELCOME_PLACEHOLDERS = ("name", "guide", "next_event", "mentor")
DEFAULT_WELCOME = (
    "Welcome, {name}! 👋\n"
    "New here? The contributor guide is the place to start: {guide}\n"
    "Next event for newcomers: {next_event}\n"
    "Want one-to-one help getting set up? Ask a mentor with {mentor}"
)


class WelcomeSettings(Section):
    """The greeting in rooms with purpose `welcome`; a template line whose placeholder has
    nothing to show (no guide set, no newcomers event planned) is left out."""

    template: str = Field(default=DEFAULT_WELCOME, min_length=1, max_length=1500)
    contributor_guide: str | None = None
    per_minute: int = Field(default=5, ge=1, le=60)

    @field_validator("template")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        allowed = ", ".join("{" + name + "}" for name in WELCOME_PLACEHOLDERS)
        try:
            fields = list(string.Formatter().parse(value))
        except ValueError as exc:
            raise ValueError(
                f"{exc}; write a literal brace as {{{{ or }}}}, placeholders as {allowed}"
            ) from None
        for _, name, spec, conversion in fields:
            if name is None:
                continue
            if name not in WELCOME_PLACEHOLDERS or spec or conversion:
                shown = "{" + name + (f"!{conversion}" if conversion else "")
                shown += (f":{spec}" if spec else "") + "}"
                raise ValueError(f"unknown placeholder {shown}; use {allowed}")
        return value

    @field_validator("contributor_guide")
    @classmethod
    def _guide(cls, value: str | None) -> str | None:
        if value is not None and (
            not value.startswith(("https://", "http://"))
            or any(char.isspace() or char in "()<>" for char in value)
        ):
            raise ValueError("expected a web address such as https://example.org/contributing")
        return value
