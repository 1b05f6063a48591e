"""The base of every settings section (the core's, each platform's and each cog's), how
secrets are read (named in the file, kept outside it), and how an enum is written in the file:
by its name."""

from __future__ import annotations

import enum
import os
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr

E = TypeVar("E", bound=enum.Enum)

# A token is a few hundred bytes; a file much larger is the wrong file, and reading it all
# (say /dev/zero) would never end.
MAX_SECRET_BYTES = 64 * 1024


class ConfigError(Exception):
    """A configuration problem, phrased for the person editing the file."""


class Section(BaseModel):
    """Strict: an unknown key is an error, since a misspelt key silently ignored shows up weeks
    later as "the bot never pings the mentors"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def check_secrets(self) -> None:
        """Read every secret the section names, raising `ConfigError` for one that is missing:
        `check-config` and `run` call it before anything connects."""


def words(choices: list[str]) -> str:
    """`a, b or c`, as a message lists what is allowed."""
    return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"


def by_name(kind: type[E]) -> Callable[[object], E]:
    """A pydantic before-validator that reads a member of *kind* from its lowercase name, so
    the file says `role = "mentor"`, and a wrong value is told the names, not the numbers
    behind them."""
    names = {member.name.lower(): member for member in kind}

    def read(value: object) -> E:
        if isinstance(value, kind):
            return value
        found = names.get(value.strip().lower()) if isinstance(value, str) else None
        if found is None:
            raise ValueError(f"expected {words(list(names))}")
        return found

    return read


def name_of(member: enum.Enum) -> str:
    """How *member* is written in the file, so that settings dumped as JSON read back."""
    return member.name.lower()


def iana_zone(value: str) -> str:
    """A settings validator's check of a time zone name, worded as every section words it."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as 'Europe/Paris'"
        ) from None
    return value


def secret_source(env: str | None, file: Path | None) -> str:
    """Where `read_secret` reads the secret from, as a person would write it."""
    return f"${env}" if env else str(file or "the token file")


def read_secret(env: str | None, file: Path | None, where: str) -> SecretStr:
    """The secret in environment variable *env*, else in *file*; never in the settings file.

    A refusal names the key and the variable or file, never the value."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConfigError(f"[{where}] token_env: environment variable {env} is not set")
        return _token(value, f"[{where}] token_env: environment variable {env}")
    if file:
        source = f"[{where}] token_file: {file}"
        try:
            with file.expanduser().open("rb") as stream:
                raw = stream.read(MAX_SECRET_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"[{where}] token_file: cannot read {file}: {exc.strerror}") from None
        if len(raw) > MAX_SECRET_BYTES:
            raise ConfigError(f"{source} is larger than any token; is it the right file?")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(
                f"{source} is not a text file; expected the token alone on one line"
            ) from None
        return _token(text, source)
    raise ConfigError(f"[{where}] needs token_env (an environment variable) or token_file")


def _token(value: str, source: str) -> SecretStr:
    token = value.strip()
    if not token:
        raise ConfigError(f"{source} is empty; it should hold the token")
    if not (token.isascii() and token.isprintable()) or any(c.isspace() for c in token):
        raise ConfigError(
            f"{source} holds more than a token (spaces, line breaks, control or non-ASCII "
            "characters); expected the token alone on one line"
        )
    return SecretStr(token)
