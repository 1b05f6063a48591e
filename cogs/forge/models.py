"""What Convene keeps of the forges: open pull requests as reviewers need them, the webhook
deliveries already handled, what webhooks last said of issues, and the forge accounts people
linked.

`repo` is `<web base>/<owner>/<name>` lower-cased (`https://github.com/scikit-learn/scikit-learn`),
so two forges never share a key. `requested` and `approvers` are lower-cased logins between
commas (`,alice,bob,`), so "requested from you" is one LIKE on the row. `waiting_since` is when
the pull request last became ready for a review: opened ready, marked ready, or pushed to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime

MAX_REPO = 300


class PullRequest(SQLModel, table=True):
    __tablename__ = "forge_pull"
    __table_args__ = (
        UniqueConstraint("repo", "number"),
        Index("ix_forge_pull_queue", "state", "draft", "waiting_since"),
        Index("ix_forge_pull_head", "repo", "head_sha"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(max_length=MAX_REPO)
    number: int
    title: str = Field(max_length=300)
    url: str = Field(max_length=500)
    state: str = Field(max_length=8)  # open, closed, merged
    draft: bool = False
    author: str = Field(max_length=100)
    association: str = Field(default="NONE", max_length=32)
    head_sha: str = Field(default="", max_length=64)
    waiting_since: datetime = Field(sa_type=UTCDateTime, nullable=False)
    approvers: str = Field(default=",", max_length=2000)
    approvals: int = 0
    changes_requested: bool = False
    ci: str = Field(default="unknown", max_length=16)  # success, failure, pending, unknown
    requested: str = Field(default=",", max_length=2000)
    labels: str = Field(default="", max_length=2000)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # The `updated_at` at which reviews and CI were last read; behind it, a poll reads them.
    details_seen: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    """A delivery id handled once: a replayed delivery changes nothing."""

    __tablename__ = "forge_delivery"

    kind: str = Field(max_length=16, primary_key=True)
    delivery_id: str = Field(max_length=100, primary_key=True)
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class IssueReport(SQLModel, table=True):
    """What a webhook last said of one issue, keyed by its address lower-cased as
    `cogs.forge.api.issue_address` gives it: whoever keeps issues reads it when the `ISSUES`
    topic wakes them, so a second instance, or a restart, reads the same facts. `labels` and
    `assignees` are between newlines; `state` is open, closed, or gone (deleted or moved)."""

    __tablename__ = "forge_issue"

    url: str = Field(primary_key=True, max_length=500)
    title: str = Field(max_length=300)
    state: str = Field(max_length=8)
    labels: str = Field(default="", sa_type=Text)
    assignees: str = Field(default="", sa_type=Text)
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class ForgeAccount(SQLModel, table=True):
    """A person's login on a forge: asked for with a proof `code`, linked once proven (the code
    found on the forge) or confirmed by an organizer. Only linked rows count."""

    __tablename__ = "forge_account"
    __table_args__ = (UniqueConstraint("forge", "login", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    forge: str = Field(max_length=200)
    login: str = Field(max_length=100)
    code: str | None = Field(default=None, max_length=40)
    asked_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    proven_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReviewNudge(SQLModel, table=True):
    """A reviewer's wish for a daily direct message of what waits for them, and where to send it
    (the platform and account they asked from, their room as the fallback)."""

    __tablename__ = "forge_nudge"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=255)
    room: str | None = Field(default=None, max_length=64)
    most: int = 5
    labels: str = Field(default="", max_length=500)
    # The reviewer's local day of the last nudge (YYYY-MM-DD): one a day at most.
    last_day: str | None = Field(default=None, max_length=10)


class ForgeEtag(SQLModel, table=True):
    """What a poll last read of one listing URL: its ETag, and the body trimmed to what the
    readers use (`shapes.trim`), so a restarted instance, or another one, asks conditionally
    at once. Only listings of pull requests are kept, a few rows per repository."""

    __tablename__ = "forge_etag"

    url: str = Field(primary_key=True, max_length=1000)
    etag: str | None = Field(default=None, max_length=200)
    last_modified: str | None = Field(default=None, max_length=100)
    body: str = Field(sa_type=Text)
    more: str | None = Field(default=None, max_length=1000)
    saved_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
