"""`[forge]`: the forges Convene reads, each with its repositories and where its secrets are.

```toml
[[forge.forges]]
kind = "github"
repositories = ["scikit-learn/scikit-learn"]
token_env = "CONVENE_GITHUB_TOKEN"               # none: anonymous, public repositories only
webhook_secret_env = "CONVENE_GITHUB_WEBHOOK_SECRET"
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from bot.core.settings import Section, read_secret

Kind = Literal["github", "gitlab", "forgejo"]
API_BASES: dict[str, str] = {
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.com/api/v4",
}
# What follows the web address in the API's base, on self-hosted forges.
API_PATHS: dict[str, str] = {"github": "/api/v3", "gitlab": "/api/v4", "forgejo": "/api/v1"}
WEB_BASES: dict[str, str] = {"github": "https://github.com", "gitlab": "https://gitlab.com"}
# GitLab nests groups: group/subgroup/project.
REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")


class ForgeConfig(Section):
    kind: Kind = "github"
    # The API's base for a self-hosted forge (GitHub Enterprise: https://host/api/v3).
    base_url: str | None = None
    # Where people open the pull requests, e.g. https://github.com; derived when not set.
    web_url: str | None = None
    repositories: list[str] = []
    token_env: str | None = None
    token_file: Path | None = None
    webhook_secret_env: str | None = None
    webhook_secret_file: Path | None = None
    # Polling is the fallback for missed webhooks; off, webhooks are the only way in.
    poll: bool = True
    poll_minutes: int = Field(default=10, ge=1, le=24 * 60)

    @field_validator("repositories")
    @classmethod
    def _repositories(cls, value: list[str]) -> list[str]:
        for name in value:
            if not REPOSITORY.match(name):
                raise ValueError(f"{name!r} is not owner/name, e.g. 'scikit-learn/scikit-learn'")
        return value

    @field_validator("base_url", "web_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not a web address, e.g. 'https://git.example.org'")
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _known(self) -> ForgeConfig:
        if self.kind not in API_BASES and not self.base_url:
            raise ValueError(
                f"a {self.kind} forge needs base_url, its API's address, "
                "e.g. 'https://codeberg.org/api/v1'"
            )
        if self.kind != "gitlab" and any(name.count("/") > 1 for name in self.repositories):
            raise ValueError(f"{self.kind} repositories are owner/name, e.g. 'owner/name'")
        return self

    @property
    def polled(self) -> bool:
        return self.poll and bool(self.repositories)

    @property
    def api(self) -> str:
        return self.base_url or API_BASES[self.kind]

    @property
    def web(self) -> str:
        if self.web_url:
            return self.web_url
        if self.base_url:
            return self.base_url.removesuffix(API_PATHS[self.kind])
        return WEB_BASES[self.kind]

    def token(self) -> SecretStr | None:
        if not (self.token_env or self.token_file):
            return None
        return read_secret(self.token_env, self.token_file, f"forge.forges {self.kind} token")

    def webhook_secret(self) -> SecretStr | None:
        if not (self.webhook_secret_env or self.webhook_secret_file):
            return None
        return read_secret(
            self.webhook_secret_env,
            self.webhook_secret_file,
            f"forge.forges {self.kind} webhook_secret (_env or _file)",
        )


class ForgeSettings(Section):
    forges: list[ForgeConfig] = []
    # How many pull requests a review hour posts.
    review_hour_size: int = Field(default=5, ge=1, le=25)
    # Approvals a pull request needs; with fewer it waits for a review.
    approvals_needed: int = Field(default=2, ge=1, le=10)
    # A claim of a sprint issue in chat leaves a comment on the forge issue (GitLab: a note) saying it is taken,
    # naming the claimer's linked login (needs the forge's token, allowed to comment).
    comment_on_claim: bool = False

    def check_secrets(self) -> None:
        for forge in self.forges:
            forge.token()
            forge.webhook_secret()

    @model_validator(mode="after")
    def _once(self) -> ForgeSettings:
        seen: set[tuple[str, str]] = set()
        for forge in self.forges:
            for name in forge.repositories:
                key = (forge.web, name.lower())
                if key in seen:
                    raise ValueError(f"repository {name!r} is listed twice")
                seen.add(key)
        return self
