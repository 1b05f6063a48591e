"""Which repositories Convene reads, and how a person names one: `owner/name`, or its address
on the forge. A name that is not configured, or the address of another forge, is refused with
the names that would work."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.core.audience import Audience
from bot.core.errors import UserError
from bot.core.markup import code, escape
from cogs.forge.settings import ForgeConfig, ForgeSettings


@dataclass(frozen=True)
class Repository:
    forge: ForgeConfig
    name: str  # owner/name as configured

    @property
    def key(self) -> str:
        """The store's name of it: unique across forges."""
        return f"{self.forge.web}/{self.name}".lower()

    @property
    def url(self) -> str:
        return f"{self.forge.web}/{self.name}"


class Repositories:
    def __init__(self, settings: ForgeSettings) -> None:
        self.all = [
            Repository(forge, name) for forge in settings.forges for name in forge.repositories
        ]
        self._by_key = {repo.key: repo for repo in self.all}

    def by_key(self, key: str) -> Repository | None:
        return self._by_key.get(key.lower())

    def on(self, forge: ForgeConfig, full_name: str) -> Repository | None:
        return self._by_key.get(f"{forge.web}/{full_name}".lower())

    def find(self, text: str, audience: Audience) -> Repository:
        """The configured repository *text* names: `owner/name` or its web address. A refusal
        shows `review queue` as *audience* types it."""
        if not self.all:
            raise UserError(
                "No repository is configured: add one under [[forge.forges]] in the settings, "
                'e.g. repositories = ["owner/name"]',
                plain=True,
            )
        example = self.all[0].name
        text = text.strip().removesuffix("/").removesuffix(".git")
        if "://" in text:
            parts = urlsplit(text)
            base = f"{parts.scheme}://{parts.netloc}".lower()
            path = [p for p in parts.path.split("/") if p]
            forges = {repo.forge.web.lower() for repo in self.all}
            matching = [f for f in forges if base == f or (base + parts.path.lower()).startswith(f)]
            if not matching:
                raise UserError(
                    f"{parts.netloc or text} is not a forge Convene reads; it reads "
                    f"{', '.join(sorted(forges))}. Name the repository, e.g. {example}",
                    plain=True,
                )
            prefix = len([p for p in urlsplit(matching[0]).path.split("/") if p])
            rest = [part.lower() for part in path[prefix:]]
            named = [
                repo.name
                for repo in self.all
                if repo.forge.web.lower() == matching[0]
                and rest[: repo.name.count("/") + 1] == repo.name.lower().split("/")
            ]
            text = named[0] if named else "/".join(path[prefix : prefix + 2])
        matches = [repo for repo in self.all if repo.name.lower() == text.lower()]
        if not matches:
            known = ", ".join(repo.name for repo in self.all[:10])
            shown = text if re.fullmatch(r"[\w.-]+/[\w.-]+", text) else "that"
            queue = code(audience.command("review queue", repo=example))
            raise UserError(
                f"{escape(shown)} is not a repository Convene reads (it reads {escape(known)}). "
                f"Name one as owner/name, e.g. {queue}"
            )
        return matches[0]
