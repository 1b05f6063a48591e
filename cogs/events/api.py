"""What other cogs may use of events: finding events and occurrences, and showing them.

Everything else in this package may change without notice to them."""

from cogs.events.models import Event
from cogs.events.render import headline, occurs
from cogs.events.service import (
    changes_of,
    expand,
    get_event,
    started,
    upcoming,
    zone_for,
    zone_of,
)
from cogs.events.topics import EVENTS

__all__ = [
    "EVENTS",
    "Event",
    "changes_of",
    "expand",
    "get_event",
    "headline",
    "occurs",
    "started",
    "upcoming",
    "zone_for",
    "zone_of",
]
