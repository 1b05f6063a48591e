"""The base of every settings section (the core's, each platform's and each cog's), and how
secrets are read: named in the file, kept outside it."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr


class ConfigError(Exception):
    """A configuration problem, phrased for the person editing the file."""


class Section(BaseModel):
    """Strict: an unknown key is an error, since a misspelt key silently ignored shows up weeks
    later as "the bot never pings the mentors"."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_secret(env: str | None, file: Path | None, where: str) -> SecretStr:
    """The secret in environment variable *env*, else in *file*; never in the settings file."""
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
