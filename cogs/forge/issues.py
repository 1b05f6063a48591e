"""Issues on the forges, for the sprints cog (through `cogs.forge.api`): which forge an issue's
address names, its title, state, labels and assignees, a label's open issues, and a comment
saying a claimed issue is taken.

An issue is read only from a forge that `[[forge.forges]]` names (with its token, or anonymously
for public repositories; it need list no repository). GitHub and Forgejo (whose API v1 follows
GitHub's paths) answer `/repos/{owner}/{repo}/issues/{number}`; GitLab answers
`/projects/{path}/issues/{iid}`, with its states `opened`/`closed`, labels as names and users
by `username`. Forgejo and GitHub list pull requests among issues; those are not issues here.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import gidgethub
from pydantic import SecretStr

from bot.core.audience import Audience
from bot.core.context import Clock
from bot.core.env import Env
from bot.core.errors import UserError
from bot.core.markup import code, escape
from cogs.forge.github import Cache, GitHub, Postponed
from cogs.forge.settings import ForgeConfig, ForgeSettings

TIMEOUT = aiohttp.ClientTimeout(total=10)
# A label's issues read at most from a forge that cannot list them oldest first.
MOST_READ = 1000
NAMES = {"github": "GitHub", "gitlab": "GitLab", "forgejo": "Forgejo"}
_SEGMENT = r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,99}"
# An issue's path after the forge's web address: GitLab nests groups and puts `-/` before.
_ISSUE_PATHS = {
    "github": re.compile(rf"(?P<project>{_SEGMENT}/{_SEGMENT})/issues/(?P<number>[0-9]{{1,9}})"),
    "forgejo": re.compile(rf"(?P<project>{_SEGMENT}/{_SEGMENT})/issues/(?P<number>[0-9]{{1,9}})"),
    "gitlab": re.compile(
        rf"(?P<project>{_SEGMENT}(?:/{_SEGMENT}){{1,20}})/-/issues/(?P<number>[0-9]{{1,9}})"
    ),
}
_REPOSITORIES = {
    "github": re.compile(rf"{_SEGMENT}/{_SEGMENT}"),
    "forgejo": re.compile(rf"{_SEGMENT}/{_SEGMENT}"),
    "gitlab": re.compile(rf"{_SEGMENT}(?:/{_SEGMENT}){{1,20}}"),
}


@dataclass(frozen=True)
class IssueFacts:
    title: str
    state: str  # open, closed
    labels: tuple[str, ...]
    assignees: tuple[str, ...] = ()


@dataclass(frozen=True)
class IssueAddress:
    """An issue on a configured forge: its address as the forge shows it, e.g.
    `https://codeberg.org/forgejo/website/issues/5`."""

    url: str
    project: str
    number: int
    forge: str  # GitHub, GitLab, Forgejo


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


def _web(forge: ForgeConfig) -> tuple[str, str]:
    """The forge's web address as (host, path prefix), lower-cased: a self-hosted forge may
    live under a path."""
    parts = urlsplit(forge.web)
    return parts.netloc.lower(), parts.path.strip("/").lower()


def _forge_for(env: Env, host: str) -> ForgeConfig | None:
    for forge in env.section(ForgeSettings).forges:
        if _web(forge)[0] == host.lower():
            return forge
    return None


def forge_hosts(env: Env) -> list[str]:
    """The hosts of the configured forges, as people name them in addresses."""
    return list(dict.fromkeys(_web(forge)[0] for forge in env.section(ForgeSettings).forges))


def issue_prefixes(env: Env) -> list[str]:
    """How the addresses of the configured forges' issues start, e.g. `https://codeberg.org/`."""
    return [forge.web + "/" for forge in env.section(ForgeSettings).forges]


def forge_name(env: Env, host: str) -> str:
    """GitHub, GitLab or Forgejo: how the forge at *host* is called in messages."""
    forge = _forge_for(env, host)
    return NAMES[forge.kind] if forge else host


def _split(forge: ForgeConfig, text: str) -> str | None:
    """The path of *text* after *forge*'s web address, or None when it is not on *forge*."""
    parts = urlsplit(text)
    host, prefix = _web(forge)
    if parts.scheme.lower() not in ("http", "https") or parts.netloc.lower() != host:
        return None
    path = parts.path.strip("/")
    if prefix and not path.lower().startswith(prefix + "/"):
        return None
    return path[len(prefix) + 1 :] if prefix else path


def issue_url(forge: ForgeConfig, project: str, number: int) -> str:
    infix = "-/issues" if forge.kind == "gitlab" else "issues"
    return f"{forge.web}/{project}/{infix}/{number}"


def issue_address(env: Env, text: str) -> IssueAddress | None:
    """The issue *text* (an address) names on a configured forge; None when it is on none.
    `UserError` when it is on one but is not an issue's address there."""
    for forge in env.section(ForgeSettings).forges:
        path = _split(forge, text)
        if path is None:
            continue
        match = _ISSUE_PATHS[forge.kind].fullmatch(path)
        if match is None or int(match["number"]) < 1:
            raise UserError(
                f"That is not the address of an issue on {_web(forge)[0]}. Give one like "
                f"{issue_url(forge, example_project(forge), 123)}",
                show_usage=True,
            )
        number = int(match["number"])
        project = match["project"]
        return IssueAddress(issue_url(forge, project, number), project, number, NAMES[forge.kind])
    return None


def example_project(forge: ForgeConfig) -> str:
    if forge.repositories:
        return forge.repositories[0]
    return "group/project" if forge.kind == "gitlab" else "owner/repo"


@dataclass(frozen=True)
class IssueRepository:
    host: str
    project: str


def issue_repository(env: Env, text: str, audience: Audience) -> IssueRepository:
    """The repository *text* names for importing its issues: its address on a configured
    forge, or `owner/name` — on the forge that lists it, else on the only forge (or GitHub).
    A refusal shows `sprint issue import` as *audience* types it."""
    forges = env.section(ForgeSettings).forges
    if not forges:
        raise UserError(
            "Issues are read from a forge that [[forge.forges]] names in the settings, and none "
            "is named here.",
            plain=True,
        )
    text = text.strip().removesuffix("/").removesuffix(".git")
    if "://" in text:
        for forge in forges:
            path = _split(forge, text)
            if path is not None:
                path = path.split("/-/")[0].removesuffix("/issues")
                if _REPOSITORIES[forge.kind].fullmatch(path):
                    return IssueRepository(_web(forge)[0], path)
                raise UserError(
                    f"That is not a repository's address on {_web(forge)[0]}; give one like "
                    f"{forge.web}/{example_project(forge)}",
                    plain=True,
                )
        example = audience.command(
            "sprint issue import", repo=example_project(forges[0]), label="sprint"
        )
        raise UserError(
            f"{escape(urlsplit(text).netloc or text)} is not a forge Convene reads; it reads "
            f"{escape(', '.join(forge_hosts(env)))}. Name the repository as owner/name or by "
            f"its address, e.g. {code(example)}"
        )
    listing = [f for f in forges if text.lower() in (name.lower() for name in f.repositories)]
    github = [f for f in forges if f.kind == "github"]
    candidates = listing or (forges if len(forges) == 1 else github)
    if not candidates:
        raise UserError(
            f"Say which forge {text} is on with its address, e.g. "
            f"{forges[0].web}/{example_project(forges[0])}",
            plain=True,
        )
    chosen = candidates[0]
    if not _REPOSITORIES[chosen.kind].fullmatch(text):
        raise UserError(
            "Name the repository as owner/name or by its address, e.g. "
            f"sprint issue import {example_project(chosen)} label=sprint",
            plain=True,
        )
    return IssueRepository(_web(chosen)[0], text)


def facts_of(kind: str, data: Mapping[str, Any]) -> IssueFacts:
    """An issue's facts from what its forge shows of it: the API's issue object, which
    GitHub's and Forgejo's webhooks send as it is, or GitLab's parts of one."""
    if kind == "gitlab":
        labels = tuple(
            # The API names a label by `name`, a webhook by `title`.
            str(label.get("name") or label.get("title") or "")
            if isinstance(label, Mapping)
            else str(label)
            for label in data.get("labels") or ()
        )
        assignees = tuple(str(user.get("username", "")) for user in data.get("assignees") or ())
    else:
        labels = tuple(str(label.get("name", "")) for label in data.get("labels") or ())
        assignees = tuple(str(user.get("login", "")) for user in data.get("assignees") or ())
    return IssueFacts(
        title=str(data.get("title") or "")[:300],
        state="closed" if data.get("state") == "closed" else "open",
        labels=labels,
        assignees=assignees,
    )


def _issues_path(forge: ForgeConfig, project: str) -> str:
    if forge.kind == "gitlab":
        return f"/projects/{quote(project, safe='')}/issues"
    return f"/repos/{project}/issues"


async def issue_facts(
    env: Env, clock: Clock, host: str, project: str, number: int
) -> IssueFacts | None:
    """What the forge at *host* says of issue *number* of *project*; None when it cannot be
    asked now (not a configured forge, no network, a rate limit). `NoSuchIssue` when the forge
    says there is none."""
    forge = _forge_for(env, host)
    if forge is None:
        return None
    try:
        async with _asking(forge, clock, forge.token(), NoSuchIssue) as client:
            data = await client.item(f"{_issues_path(forge, project)}/{number}")
    except _Unreachable:
        return None
    # GitHub marks a pull request by the key, Forgejo by a value that is null for issues.
    if not isinstance(data, dict) or data.get("pull_request"):
        raise NoSuchIssue
    return facts_of(forge.kind, data)


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
    url: str


def _listing(forge: ForgeConfig, project: str, label: str) -> str:
    """A label's open issues, oldest first where the forge sorts so, all pages."""
    path = _issues_path(forge, project)
    if forge.kind == "gitlab":
        return (
            f"{path}?state=opened&labels={quote(label)}&order_by=created_at&sort=asc&per_page=100"
        )
    if forge.kind == "forgejo":
        return f"{path}?state=open&type=issues&labels={quote(label)}&limit=50"
    return f"{path}?state=open&labels={quote(label)}&sort=created&direction=asc&per_page=100"


async def open_issues(
    env: Env, clock: Clock, host: str, project: str, label: str, limit: int = 100
) -> list[FoundIssue] | None:
    """The open issues of *project* with *label*, oldest first, at most *limit*; None when the
    forge cannot be asked now. `NoSuchIssue` when the forge has no such repository."""
    forge = _forge_for(env, host)
    if forge is None:
        return None
    number = "iid" if forge.kind == "gitlab" else "number"
    issues: list[FoundIssue] = []
    try:
        async with _asking(forge, clock, forge.token(), NoSuchIssue) as client:
            async for data in client.each(_listing(forge, project, label)):
                if data.get("pull_request"):
                    continue
                found = int(data[number])
                url = issue_url(forge, project, found)
                issues.append(FoundIssue(found, facts_of(forge.kind, data), url))
                # Forgejo's issue listing takes no order: read on (to a bound), sorted below.
                if len(issues) >= (limit if forge.kind != "forgejo" else MOST_READ):
                    break
    except _Unreachable:
        return None
    return sorted(issues, key=lambda issue: issue.number)[:limit]


def claims_commented(env: Env) -> bool:
    """Whether claims are to be said on the forge (`[forge] comment_on_claim`)."""
    return env.section(ForgeSettings).comment_on_claim


async def comment_claim(
    env: Env, clock: Clock, host: str, project: str, number: int, logins: list[str]
) -> bool:
    """Say on the issue that it is taken for the sprint, when `[forge] comment_on_claim` is on
    and the forge has a token; whether the comment was left. GitLab calls comments notes."""
    forge = _forge_for(env, host)
    token = forge.token() if forge else None
    if not env.section(ForgeSettings).comment_on_claim or forge is None or token is None:
        return False
    who = f" by @{logins[0]}" if logins else ""
    body = f"This issue is taken for the sprint{who} (noted by Convene)."
    replies = "notes" if forge.kind == "gitlab" else "comments"
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            client = GitHub(http, forge, Cache(1), clock, token)
            await client.send(f"{_issues_path(forge, project)}/{number}/{replies}", {"body": body})
    except (Postponed, gidgethub.GitHubException, aiohttp.ClientError, TimeoutError):
        return False
    return True
