"""Typed settings read from one TOML file.

The file's schema is built from what is loaded: the core's sections, each platform's, and each
cog's own section under its name, with the room purposes the cogs declare. Validation is strict,
so an unknown key is an error that names it. Secrets are never stored in the file: it names the
environment variable (or a file outside the repository) that holds each one.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    BeforeValidator,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from bot.core.cog import Cog
from bot.core.env import Env, WebAddress
from bot.core.rooms import Room, Rooms
from bot.core.settings import ConfigError, Section, iana_zone
from bot.db import store_url
from bot.platforms.settings import ConsoleSettings, DiscordSettings, MatrixSettings

S = TypeVar("S", bound=Section)

__all__ = ["ConfigError", "Settings", "checked_settings", "load_settings", "parse_settings"]


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


def _upper(value: object) -> object:
    """`info` reads as `INFO`; anything else is left for the message to quote as written."""
    if isinstance(value, str) and value.upper() in get_args(LogLevel):
        return value.upper()
    return value


class BotSettings(Section):
    name: str = "Convene"
    timezone: str = "UTC"
    command_prefix: str = Field(default="!", min_length=1, max_length=3)
    log_level: Annotated[LogLevel, BeforeValidator(_upper)] = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return iana_zone(value)

    @field_validator("command_prefix")
    @classmethod
    def _apart_from_words(cls, value: str) -> str:
        """A letter or digit in the prefix turns ordinary chat into commands: with `a`,
        "anyone around?" is read as the command `nyone`; a quote would do the same to quoted
        text, and a space would make the prefix invisible."""
        if any(char in "\"'`" or unicodedata.category(char)[0] not in "PS" for char in value):
            raise ValueError(
                "use punctuation or symbols only, such as '!', '?' or '.'; a letter, digit, "
                "space or quote would make ordinary words look like commands"
            )
        return value


class StoreSettings(Section):
    url: str = "sqlite+aiosqlite:///convene.db"

    @field_validator("url")
    @classmethod
    def _supported(cls, value: str) -> str:
        store_url(value)
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
        """Fail early, naming the variable, when an enabled platform has no token or a cog's
        section names a secret that is not there."""
        if self.matrix.enabled:
            self.matrix.access_token()
        if self.discord.enabled:
            self.discord.token()
        for section in self.sections().values():
            section.check_secrets()

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


# What pydantic's messages mean for someone editing TOML, by error type.
_EXPECTED = {
    "int_parsing": "expected an integer (a whole number)",
    "int_type": "expected an integer (a whole number)",
    "int_from_float": "expected an integer (a whole number)",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": 'expected text in quotes, such as "…"',
    "list_type": 'expected a list in brackets, such as ["a", "b"]',
    "model_type": "expected a table of keys",
    "dict_type": "expected a table of keys",
    "path_type": 'expected a file path in quotes, such as "/etc/convene/token"',
    "greater_than_equal": "expected {ge} or more",
    "greater_than": "expected more than {gt}",
    "less_than_equal": "expected {le} or less",
    "less_than": "expected less than {lt}",
    "string_too_short": "expected at least {min_length} character(s)",
    "string_too_long": "expected at most {max_length} characters",
    "too_short": "expected at least {min_length} item(s)",
    "too_long": "expected at most {max_length} items",
}


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{_location(loc)}: unknown key (check its spelling against config.example.toml)"
    if kind == "missing":
        return f"{_location(loc)}: required key is missing"
    if loc == ("rooms",) and kind == "list_type":
        return "[rooms]: write each room as its own [[rooms]] table (with two brackets)"
    if kind in ("literal_error", "enum"):
        message = f"expected {error['ctx']['expected']}"
    elif kind in _EXPECTED:
        message = _EXPECTED[kind].format(**error.get("ctx", {}))
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    return f"{_location(loc)}: {message}{_shown(loc, error.get('input'))}"


def _shown(loc: tuple[int | str, ...], given: object) -> str:
    """What the file said, to point at it; of the store's URL only the scheme, since the rest
    may hold a password."""
    if isinstance(given, dict | list) or given is None:
        return ""
    if loc == ("store", "url"):
        scheme, found, _ = str(given).partition("://")
        return f" (got {scheme}://…)" if found else ""
    return f" (got {given!r})"


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


def checked_settings(path: Path | None, cogs: Sequence[Cog] | None = None) -> Settings:
    """The settings `convene run` starts with and `convene check-config` approves, by the same
    checks: the file read and validated, and each enabled platform's token present and
    well-formed. Whatever is wrong raises `ConfigError`."""
    settings = load_settings(path, cogs)
    try:
        settings.check_secrets()
    except ConfigError as exc:
        raise ConfigError(f"{path or 'the embedded defaults'}: {exc}") from None
    return settings
