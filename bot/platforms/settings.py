"""Each platform's settings section: `[console]`, `[matrix]` and `[discord]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    SecretStr,
    field_validator,
    model_validator,
)

from bot.core.context import Role
from bot.core.settings import Section, by_name, name_of, read_secret

RoleName = Annotated[
    Role, BeforeValidator(by_name(Role)), PlainSerializer(name_of, when_used="json")
]


class ConsoleSettings(Section):
    enabled: bool = True
    user: str = Field(default="you", min_length=1, max_length=64)
    role: RoleName = Role.ORGANIZER
    # Where files the bot sends (a `me export`) are written; the console prints each path.
    files: Path = Path("convene-files")


class MatrixSettings(Section):
    enabled: bool = False
    homeserver: str = "https://matrix.example.org"
    user_id: str = "@convene:example.org"
    device_id: str = "CONVENE"
    token_env: str | None = "CONVENE_MATRIX_TOKEN"
    token_file: Path | None = None
    organizers: list[str] = []
    mentors: list[str] = []
    organizer_power_level: int = Field(default=50, ge=0, le=100)
    mentor_power_level: int | None = Field(default=None, ge=0, le=100)
    max_send_retries: int = Field(default=5, ge=0, le=20)
    sync_timeout_ms: int = Field(default=30_000, ge=0, le=300_000)

    @field_validator("homeserver")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                "expected a URL starting with https:// (or http:// for a local server)"
            )
        return value.rstrip("/")

    @field_validator("user_id")
    @classmethod
    def _mxid(cls, value: str) -> str:
        if not (value.startswith("@") and ":" in value):
            raise ValueError("expected a full Matrix user id such as '@convene:example.org'")
        return value

    def access_token(self) -> SecretStr:
        return read_secret(self.token_env, self.token_file, "matrix")


class DiscordSettings(Section):
    enabled: bool = False
    token_env: str | None = "CONVENE_DISCORD_TOKEN"
    token_file: Path | None = None
    application_id: int = Field(default=0, ge=0)
    guild_ids: list[int] = []
    organizer_roles: list[str] = ["Organizers"]
    mentor_roles: list[str] = ["Mentors"]
    api_base_url: str | None = None
    gateway_url: str | None = None
    message_content: bool = False
    members_intent: bool = False

    @model_validator(mode="after")
    def _application(self) -> DiscordSettings:
        if self.enabled and not self.application_id:
            raise ValueError(
                "application_id is required when Discord is enabled "
                "(Developer Portal > your application > General Information)"
            )
        return self

    def token(self) -> SecretStr:
        return read_secret(self.token_env, self.token_file, "discord")
