"""What other cogs may use of the forges: the review queue as the store keeps it, issues as the
forges tell them (addresses, facts, labels' open issues, claim comments), and the forge logins
a person linked."""

from cogs.forge.accounts import logins_of
from cogs.forge.issues import (
    FoundIssue,
    IssueAddress,
    IssueFacts,
    IssueRepository,
    NoSuchIssue,
    claims_commented,
    comment_claim,
    forge_hosts,
    forge_name,
    issue_address,
    issue_facts,
    issue_prefixes,
    issue_repository,
    open_issues,
)
from cogs.forge.pulls import Waiting, queue

__all__ = [
    "FoundIssue",
    "IssueAddress",
    "IssueFacts",
    "IssueRepository",
    "NoSuchIssue",
    "Waiting",
    "claims_commented",
    "comment_claim",
    "forge_hosts",
    "forge_name",
    "issue_address",
    "issue_facts",
    "issue_prefixes",
    "issue_repository",
    "logins_of",
    "open_issues",
    "queue",
]
