"""Typed settings read from one TOML file.

The file's schema is built from what is loaded: the core's sections, each platform's, and each
cog's own section under its name, with the room purposes the cogs declare. Validation is strict,
so an unknown key is an error that names it. Secrets are never stored in the file: it names the
environment variable (or a file outside the repository) that holds each one.
"""

from __future__ import annotations

import tomllib
import zoneinfo
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, ValidationError, create_model, field_validator, model_validator

from bot.core.cog import Cog
from bot.core.env import Env, WebAddress
from bot.core.rooms import Room, Rooms
from bot.core.settings import ConfigError, Section
from bot.platforms.settings import ConsoleSettings, DiscordSettings, MatrixSettings

S = TypeVar("S", bound=Section)

__all__ = ["ConfigError", "Settings", "load_settings", "parse_settings"]


class BotSettings(Section):
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


class StoreSettings(Section):
    url: str = "sqlite+aiosqlite:///convene.db"

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("expected a sqlite:/// or postgresql:// URL")
        return value


class RoomSettings(Section):
    name: str = Field(min_length=1, max_length=64)
    discord_channel_id: int | None = None
    matrix_room_id: str | None = None
    purposes: list[str] = []

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

    def room(self) -> Room:
        places = {"matrix": self.matrix_room_id} if self.matrix_room_id else {}
        if self.discord_channel_id is not None:
            places["discord"] = str(self.discord_channel_id)
        return Room(self.name, places, frozenset(self.purposes))


class WebSettings(Section):
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


class Settings(Section):
    """The core's sections; `schema` adds each cog's."""

    bot: BotSettings = BotSettings()
    store: StoreSettings = StoreSettings()
    console: ConsoleSettings = ConsoleSettings()
    matrix: MatrixSettings = MatrixSettings()
    discord: DiscordSettings = DiscordSettings()
    rooms: list[RoomSettings] = []
    web: WebSettings = WebSettings()

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

    def sections(self) -> dict[type[Section], Section]:
        """The cogs' sections, by their type."""
        core = set(Settings.model_fields)
        return {
            type(value): value
            for name in type(self).model_fields
            if name not in core and isinstance(value := getattr(self, name), Section)
        }

    def section(self, kind: type[S]) -> S:
        found = self.sections().get(kind)
        return found if isinstance(found, kind) else kind()

    def env(self) -> Env:
        """What features may read of these settings."""
        return Env(
            name=self.bot.name,
            prefix=self.bot.command_prefix,
            timezone=self.bot.timezone,
            rooms=Rooms(room.room() for room in self.rooms),
            sections=self.sections(),
            web=WebAddress(
                enabled=self.web.enabled,
                public_url=self.web.public_url,
                configured=f"http://{self.web.host}:{self.web.port}" if self.web.port else None,
            ),
        )


@cache
def schema(cogs: tuple[Cog, ...]) -> type[Settings]:
    """Settings with a section per cog that has one, and rooms whose purposes the cogs know."""
    purposes = sorted({purpose for cog in cogs for purpose in cog.purposes})
    kind: Any = Literal[tuple(purposes)] if purposes else Literal["(none)"]
    room: Any = create_model("RoomSettings", __base__=RoomSettings, purposes=(list[kind], []))
    fields: dict[str, Any] = {"rooms": (list[room], [])}
    for cog in cogs:
        if cog.settings is not None:
            if cog.name in Settings.model_fields:
                raise TypeError(f"cog {cog.name!r} would replace the core section [{cog.name}]")
            fields[cog.name] = (cog.settings, cog.settings())
    model: type[Settings] = create_model("Settings", __base__=Settings, **fields)
    return model


def _loaded_cogs(cogs: Sequence[Cog] | None) -> tuple[Cog, ...]:
    if cogs is not None:
        return tuple(cogs)
    from bot.cogs import discover

    return discover()


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


def parse_settings(
    data: dict[str, Any], source: str = "config", cogs: Sequence[Cog] | None = None
) -> Settings:
    try:
        return schema(_loaded_cogs(cogs)).model_validate(data)
    except ValidationError as exc:
        lines = [_describe(dict(error)) for error in exc.errors()]
        raise ConfigError(f"{source}: " + "\n  ".join(lines)) from None


def load_settings(path: Path | None, cogs: Sequence[Cog] | None = None) -> Settings:
    """Read settings from *path*, or the embedded defaults when there is no file."""
    if path is None:
        return parse_settings({}, cogs=cogs)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_settings(data, str(path), cogs)
