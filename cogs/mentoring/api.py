"""What other cogs may use of mentoring: the queue in figures, and who last helped someone.

Everything else in this package may change without notice to them."""

from cogs.mentoring.figures import FirstResponse, first_response, rank_offset, requesters
from cogs.mentoring.service import Waiting, last_mentor, requester_of, waiting

__all__ = [
    "FirstResponse",
    "Waiting",
    "first_response",
    "last_mentor",
    "rank_offset",
    "requester_of",
    "requesters",
    "waiting",
]
