"""The bounds shared by every way into the events store: commands, edits and imports.

One place, so that `event create` and `convene events import` refuse the same things with the
same words. The numbers keep a chat bot sane rather than describe what RFC 5545 allows: dates
in a range that every platform and database renders, events no longer than a month, text short
enough to post, files small enough to read at once, rules cheap to expand.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.core.errors import UserError
from bot.core.markup import ping, quoted

FIRST_YEAR = 1970
LAST_YEAR = 2200
MAX_DURATION = timedelta(days=31)
MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_LINK = 500
MAX_REMINDERS = 5
UNTITLED = "(untitled)"

MAX_PER_YEAR = 366 * 96
"""Occurrences in a rule's first year: every 15 minutes, the closest the rules allow."""
RULE_BUDGET_SECONDS = 0.025
"""How long finding a new rule's first five occurrences may take before it is refused."""
MAX_SEARCH_WIDTH = 1440
"""Steps dateutil may take within one day looking for a sub-daily rule's next time."""

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_EVENTS_PER_FILE = 5000
MAX_INCLUDED_FILES = 50
MAX_YAML_NODES = 200_000
"""YAML nodes after aliases are expanded; a few hundred bytes of nested aliases exceed it."""


class LimitError(UserError, ValueError):
    """A value outside the bounds above; the message names the bound and gives an example."""

    def __init__(self, message: str) -> None:
        super().__init__(message, show_usage=True)


def check_day(day: date | datetime, what: str = "the date") -> None:
    """Refuses dates outside FIRST_YEAR..LAST_YEAR, naming *what* was given."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        shown = f"{day:%Y-%m-%d %H:%M}" if isinstance(day, datetime) else f"{day:%Y-%m-%d}"
        raise LimitError(
            f"{what} {shown} is out of range: dates go from {FIRST_YEAR} to {LAST_YEAR}, "
            'e.g. "2027-01-04"'
        )


def check_duration(length: timedelta, what: str = "the duration") -> None:
    if length <= timedelta(0):
        raise LimitError(f"{what} must be positive: the end comes after the start, e.g. 1h30")
    if length > MAX_DURATION:
        raise LimitError(
            f"{what} is {_days(length)}: an event lasts at most {MAX_DURATION.days} days; "
            "for a longer stretch make a repeating event, e.g. repeat=daily"
        )


def check_text(text: str | None, limit: int, what: str) -> None:
    if text is not None and len(text) > limit:
        raise LimitError(
            f"{what} is too long ({len(text):,} characters): keep it to {limit:,}, "
            "and link to the rest"
        )


def _days(length: timedelta) -> str:
    days = length.total_seconds() / 86400
    return f"{days:,.0f} days" if days >= 2 else f"{length.total_seconds() / 3600:,.1f} hours"


def check_no_ping(text: str | None, what: str) -> None:
    """Announcements carry titles and descriptions to whole rooms: nothing in them may ping."""
    if text is not None and (found := ping(text)) is not None:
        raise LimitError(
            f"{what} may not contain {quoted(found)}: announcements never ping a whole room or "
            "anyone by that syntax. Remove it; to ping a role, use mention=Sprinters"
        )
