"""What other cogs may use of the forges: the review queue as the store keeps it, an issue's
facts as the forge tells them, and the forge logins a person linked."""

from cogs.forge.accounts import logins_of
from cogs.forge.issues import (
    FoundIssue,
    IssueFacts,
    NoSuchIssue,
    claims_commented,
    comment_claim,
    issue_facts,
    open_issues,
)
from cogs.forge.pulls import Waiting, queue

__all__ = [
    "FoundIssue",
    "IssueFacts",
    "NoSuchIssue",
    "Waiting",
    "claims_commented",
    "comment_claim",
    "issue_facts",
    "logins_of",
    "open_issues",
    "queue",
]
