"""An issue's title, state and labels, read from GitHub when someone lists it (`sprint issue
add`): for the sprints cog, through `cogs.forge.api`.

An issue is read only from a GitHub forge that `[[forge.forges]]` names (with its token, or
anonymously for public repositories; it need list no repository); GitLab issues are not read
yet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import gidgethub
from pydantic import SecretStr

from bot.core.context import Clock
from bot.core.env import Env
from cogs.forge.github import Cache, GitHub, Postponed
from cogs.forge.settings import ForgeConfig, ForgeSettings

TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class IssueFacts:
    title: str
    state: str  # open, closed
    labels: tuple[str, ...]
    assignees: tuple[str, ...] = ()


class NoSuchIssue(Exception):
    """The forge says there is no such issue (or it is private, or a pull request)."""


class _Unreachable(Exception):
    """The forge cannot be asked now: no network, a rate limit, an error of its own."""


@asynccontextmanager
async def _asking(
    forge: ForgeConfig,
    clock: Clock,
    token: SecretStr | None,
    missing: type[Exception],
    gone: tuple[int, ...] = (404, 410),
) -> AsyncIterator[GitHub]:
    """A client for one short exchange, whose failures come out as the two answers callers
    tell apart: *missing* when the forge says what was asked is not there (a status in *gone*),
    `_Unreachable` for everything else."""
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            yield GitHub(http, forge, Cache(1), clock, token)
    except gidgethub.BadRequest as exc:
        if exc.status_code in gone:
            raise missing from None
        raise _Unreachable from None
    except (Postponed, gidgethub.GitHubException, aiohttp.ClientError, TimeoutError):
        raise _Unreachable from None


def _forge_for(env: Env, host: str) -> tuple[ForgeConfig, SecretStr | None] | None:
    settings = env.section(ForgeSettings)
    for forge in settings.forges:
        if forge.kind == "github" and urlsplit(forge.web).netloc.lower() == host:
            return forge, forge.token()
    return None


async def issue_facts(
    env: Env, clock: Clock, host: str, project: str, number: int
) -> IssueFacts | None:
    """What GitHub says of issue *number* of *project* on *host*; None when it cannot be asked
    now (not a GitHub address, no network, a rate limit). `NoSuchIssue` when GitHub says so."""
    found = _forge_for(env, host.lower())
    if found is None:
        return None
    forge, token = found
    try:
        async with _asking(forge, clock, token, NoSuchIssue) as github:
            data = await github.item(f"/repos/{project}/issues/{number}")
    except _Unreachable:
        return None
    if not isinstance(data, dict) or "pull_request" in data:
        raise NoSuchIssue
    return IssueFacts(
        title=str(data.get("title") or "")[:300],
        state="closed" if data.get("state") == "closed" else "open",
        labels=tuple(str(label.get("name", "")) for label in data.get("labels") or ()),
        assignees=tuple(str(user.get("login", "")) for user in data.get("assignees") or ()),
    )


class NoSuchLogin(Exception):
    """The forge has no account of that login."""


async def profile(forge: ForgeConfig, clock: Clock, login: str) -> tuple[Any, list[Any]] | None:
    """A login's profile on *forge*, and its public gists on GitHub; None when the forge cannot
    be asked now. `NoSuchLogin` when it has no such account. GitHub keeps a bio in `bio`,
    Forgejo in `description`; GitLab finds a user by name first, then shows its `bio`."""
    try:
        async with _asking(forge, clock, forge.token(), NoSuchLogin, gone=(404,)) as client:
            if forge.kind == "gitlab":
                found = await client.item(f"/users?username={quote(login)}")
                if not found:
                    raise NoSuchLogin
                return await client.item(f"/users/{int(found[0]['id'])}"), []
            user = await client.item(f"/users/{login}")
            if forge.kind != "github":
                return user, []
            gists = await client.item(f"/users/{login}/gists?per_page=30")
    except _Unreachable:
        return None
    return user, gists if isinstance(gists, list) else []


@dataclass(frozen=True)
class FoundIssue:
    number: int
    facts: IssueFacts


async def open_issues(
    env: Env, clock: Clock, host: str, project: str, label: str, limit: int = 100
) -> list[FoundIssue] | None:
    """The open issues of *project* with *label*, oldest first, at most *limit*; None when the
    forge cannot be asked now. `NoSuchIssue` when GitHub has no such repository."""
    found = _forge_for(env, host.lower())
    if found is None:
        return None
    forge, token = found
    path = f"/repos/{project}/issues?state=open&labels={quote(label)}&sort=created&direction=asc&per_page=100"
    issues: list[FoundIssue] = []
    try:
        async with _asking(forge, clock, token, NoSuchIssue) as github:
            async for data in github.each(path):
                if "pull_request" in data:
                    continue
                labels = tuple(str(item.get("name", "")) for item in data.get("labels") or ())
                facts = IssueFacts(str(data.get("title") or "")[:300], "open", labels)
                issues.append(FoundIssue(int(data["number"]), facts))
                if len(issues) >= limit:
                    break
    except _Unreachable:
        return None
    return issues


def claims_commented(env: Env) -> bool:
    """Whether claims are to be said on the forge (`[forge] comment_on_claim`)."""
    return env.section(ForgeSettings).comment_on_claim


async def comment_claim(
    env: Env, clock: Clock, host: str, project: str, number: int, logins: list[str]
) -> bool:
    """Say on the issue that it is taken for the sprint, when `[forge] comment_on_claim` is on
    and the forge has a token; whether the comment was left."""
    found = _forge_for(env, host.lower())
    if not env.section(ForgeSettings).comment_on_claim or found is None or found[1] is None:
        return False
    forge, token = found
    who = f" by @{logins[0]}" if logins else ""
    body = f"This issue is taken for the sprint{who} (noted by Convene)."
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            github = GitHub(http, forge, Cache(1), clock, token)
            await github.send(f"/repos/{project}/issues/{number}/comments", {"body": body})
    except (Postponed, gidgethub.GitHubException, aiohttp.ClientError, TimeoutError):
        return False
    return True
