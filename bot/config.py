"""Typed settings read from one TOML file.

Settings are validated strictly (unknown keys are errors) because a typo in a key that is silently
ignored shows up weeks later as "the bot never pings the mentors". Secrets are never stored in the
file: the file names the environment variable (or a file outside the repository) that holds them.
"""

from __future__ import annotations

import os
import string
import tomllib
import zoneinfo
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.core.context import Role

Purpose = Literal["announcements", "mentors", "help", "welcome"]


class ConfigError(Exception):
    """A configuration problem, phrased for the person editing the file."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSettings(_Section):
    name: str = "Convene"
    timezone: str = "UTC"
    command_prefix: str = Field(default="!", min_length=1, max_length=3)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Europe/Paris'"
            ) from None
        return value


class StoreSettings(_Section):
    url: str = "sqlite+aiosqlite:///convene.db"

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return value


class ConsoleSettings(_Section):
    enabled: bool = True
    user: str = Field(default="you", min_length=1, max_length=64)
    role: Role = Role.ORGANIZER


def _read_secret(env: str | None, file: Path | None, where: str) -> SecretStr:
    if env:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(f"[{where}] token_env: environment variable {env} is not set")
        return SecretStr(value.strip())
    if file:
        try:
            return SecretStr(file.expanduser().read_text().strip())
        except OSError as exc:
            raise ConfigError(f"[{where}] token_file: cannot read {file}: {exc.strerror}") from None
    raise ConfigError(f"[{where}] needs token_env (an environment variable) or token_file")


class MatrixSettings(_Section):
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
        return _read_secret(self.token_env, self.token_file, "matrix")


class DiscordSettings(_Section):
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
        return _read_secret(self.token_env, self.token_file, "discord")


class RoomSettings(_Section):
    name: str = Field(min_length=1, max_length=64)
    discord_channel_id: int | None = None
    matrix_room_id: str | None = None
    purposes: list[Purpose] = []

    @field_validator("matrix_room_id")
    @classmethod
    def _room_id(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("!") and len(value) > 1):
            raise ValueError(
                "expected a Matrix room id starting with '!', such as '!abcdef:example.org' "
                "(Element: Room settings > Advanced)"
            )
        return value

    @model_validator(mode="after")
    def _somewhere(self) -> RoomSettings:
        if self.discord_channel_id is None and self.matrix_room_id is None:
            raise ValueError("a room needs discord_channel_id, matrix_room_id or both")
        return self


class WebSettings(_Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected the address people reach, e.g. https://convene.example.org")
        return value


class MentoringSettings(_Section):
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


WELCOME_PLACEHOLDERS = ("name", "guide", "next_event", "mentor")
DEFAULT_WELCOME = (
    "Welcome, {name}! 👋\n"
    "New here? The contributor guide is the place to start: {guide}\n"
    "Next event for newcomers: {next_event}\n"
    "Want one-to-one help getting set up? Ask a mentor with {mentor}"
)


class WelcomeSettings(_Section):
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


class Settings(_Section):
    bot: BotSettings = BotSettings()
    store: StoreSettings = StoreSettings()
    console: ConsoleSettings = ConsoleSettings()
    matrix: MatrixSettings = MatrixSettings()
    discord: DiscordSettings = DiscordSettings()
    rooms: list[RoomSettings] = []
    web: WebSettings = WebSettings()
    mentoring: MentoringSettings = MentoringSettings()
    welcome: WelcomeSettings = WelcomeSettings()

    @model_validator(mode="after")
    def _unique_rooms(self) -> Settings:
        names = [room.name for room in self.rooms]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"room names must be unique; repeated: {', '.join(duplicates)}")
        return self

    def check_secrets(self) -> None:
        """Fail early, naming the variable, when an enabled platform has no token."""
        if self.matrix.enabled:
            self.matrix.access_token()
        if self.discord.enabled:
            self.discord.token()


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item + 1}]" if parts else f"[{item + 1}]"
        else:
            parts.append(item)
    if not parts:
        return "(top level)"
    section, *rest = parts
    return f"[{section}] {'.'.join(rest)}" if rest else f"[{section}]"


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{_location(loc)}: unknown key (check its spelling against config.example.toml)"
    if error["type"] == "missing":
        return f"{_location(loc)}: required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    given = error.get("input")
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
    return f"{_location(loc)}: {message}{shown}"


def parse_settings(data: dict[str, Any], source: str = "config") -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(dict(error)) for error in exc.errors()]
        raise ConfigError(f"{source}: " + "\n  ".join(lines)) from None


def load_settings(path: Path | None) -> Settings:
    """Read settings from *path*, or the embedded defaults when there is no file."""
    if path is None:
        return Settings()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_settings(data, str(path))
