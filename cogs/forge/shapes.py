"""What each forge says of a pull (merge) request, read into one shape: `PullView`.

GitHub's and Forgejo's pull request objects (REST and webhooks alike) are close; GitLab's merge
request (`object_attributes` of a webhook, or an item of the REST API's list) names things its
own way. Only the fields the review
queue needs are read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Forgejo and Gitea mark a work in progress by the title's prefix.
WIP = re.compile(r"^\s*(wip:|\[wip\])", re.IGNORECASE)


@dataclass(frozen=True)
class PullView:
    number: int
    title: str
    url: str
    state: str  # open, closed, merged
    draft: bool
    author: str
    association: str  # GitHub's author_association; FIRST_TIME_CONTRIBUTOR where a forge says so
    head: str
    created: datetime
    updated: datetime
    requested: Sequence[str] = ()
    labels: Sequence[str] = ()
    # When the head moved, where the forge says (a push's webhook).
    pushed: datetime | None = None


def when(text: str) -> datetime:
    """A forge's timestamp: ISO 8601 (`2013-12-03T17:23:34Z`, with an offset or without) or
    GitLab's `2013-12-03 17:23:34 UTC`."""
    text = text.strip().replace(" UTC", "+00:00").replace("Z", "+00:00")
    found = datetime.fromisoformat(text)
    return found.replace(tzinfo=UTC) if found.tzinfo is None else found.astimezone(UTC)


def _login(user: Any, key: str = "login") -> str:
    return str(user.get(key, "")) if isinstance(user, Mapping) else ""


def from_github(data: Mapping[str, Any], *, pushed: bool = False) -> PullView:
    """GitHub's pull request object, as the REST API and webhooks give it; Forgejo's too.

    *pushed*: the webhook is for a push, so the head moved when the pull request was updated."""
    merged = bool(data.get("merged_at") or data.get("merged"))
    updated = when(data["updated_at"])
    title = str(data.get("title") or "")
    return PullView(
        number=int(data["number"]),
        title=title,
        url=str(data.get("html_url") or ""),
        state="merged" if merged else ("closed" if data.get("state") == "closed" else "open"),
        draft=bool(data.get("draft", False)) or bool(WIP.match(title)),
        author=_login(data.get("user")),
        association=str(data.get("author_association") or "NONE"),
        head=str((data.get("head") or {}).get("sha") or ""),
        created=when(data["created_at"]),
        updated=updated,
        requested=[_login(user) for user in data.get("requested_reviewers") or ()],
        labels=[str(label.get("name", "")) for label in data.get("labels") or ()],
        pushed=updated if pushed else None,
    )


def from_gitlab(attributes: Mapping[str, Any], payload: Mapping[str, Any]) -> PullView:
    """A GitLab merge request webhook: its `object_attributes`, and the payload for the
    author and reviewers (GitLab names the author only by id in the attributes)."""
    state = str(attributes.get("state", "opened"))
    updated = when(str(attributes["updated_at"]))
    author = payload.get("user") if attributes.get("action") == "open" else None
    return PullView(
        number=int(attributes["iid"]),
        title=str(attributes.get("title") or ""),
        url=str(attributes.get("url") or ""),
        state={"opened": "open", "merged": "merged"}.get(state, "closed"),
        draft=bool(attributes.get("draft") or attributes.get("work_in_progress")),
        author=_login(author, "username"),
        association="FIRST_TIME_CONTRIBUTOR" if attributes.get("first_contribution") else "NONE",
        head=str((attributes.get("last_commit") or {}).get("id") or ""),
        created=when(str(attributes["created_at"])),
        updated=updated,
        requested=[_login(user, "username") for user in payload.get("reviewers") or ()],
        labels=[str(label.get("title", "")) for label in attributes.get("labels") or ()],
        pushed=updated if attributes.get("oldrev") else None,
    )


def from_gitlab_api(data: Mapping[str, Any]) -> PullView:
    """A merge request as GitLab's REST API v4 lists it."""
    state = str(data.get("state", "opened"))
    labels = [
        str(label.get("name", "")) if isinstance(label, Mapping) else str(label)
        for label in data.get("labels") or ()
    ]
    return PullView(
        number=int(data["iid"]),
        title=str(data.get("title") or ""),
        url=str(data.get("web_url") or ""),
        state={"opened": "open", "merged": "merged"}.get(state, "closed"),
        draft=bool(data.get("draft") or data.get("work_in_progress")),
        author=_login(data.get("author"), "username"),
        association="FIRST_TIME_CONTRIBUTOR" if data.get("first_contribution") else "NONE",
        head=str(data.get("sha") or ""),
        created=when(str(data["created_at"])),
        updated=when(str(data["updated_at"])),
        requested=[_login(user, "username") for user in data.get("reviewers") or ()],
        labels=labels,
    )


_KEPT = (
    "number",
    "iid",
    "title",
    "html_url",
    "web_url",
    "state",
    "draft",
    "work_in_progress",
    "merged",
    "merged_at",
    "author_association",
    "first_contribution",
    "sha",
    "created_at",
    "updated_at",
    "total_count",
)


def _named(users: Any, key: str) -> list[dict[str, Any]]:
    return [{key: user.get(key)} for user in users or () if isinstance(user, Mapping)]


def trim(item: Any) -> Any:
    """A listed pull (merge) request of any forge with only what `from_github` and
    `from_gitlab_api` read (and a CI state's answer with what `Poller._ci` reads), which is
    what the store keeps: GitHub's pull request is about 17 kB in full, 370 bytes so."""
    if not isinstance(item, Mapping):
        return item
    kept: dict[str, Any] = {key: item[key] for key in _KEPT if key in item}
    for key, name in (("user", "login"), ("author", "username"), ("head", "sha")):
        if isinstance(item.get(key), Mapping):
            kept[key] = {name: item[key].get(name)}
    if "requested_reviewers" in item:
        kept["requested_reviewers"] = _named(item["requested_reviewers"], "login")
    if "reviewers" in item:
        kept["reviewers"] = _named(item["reviewers"], "username")
    if isinstance(item.get("head_pipeline"), Mapping):
        kept["head_pipeline"] = {"status": item["head_pipeline"].get("status")}
    if "check_runs" in item:
        kept["check_runs"] = [
            {"status": run.get("status"), "conclusion": run.get("conclusion")}
            for run in item["check_runs"] or ()
            if isinstance(run, Mapping)
        ]
    if "labels" in item:
        kept["labels"] = [
            {"name": label.get("name")} if isinstance(label, Mapping) else label
            for label in item["labels"] or ()
        ]
    return kept
