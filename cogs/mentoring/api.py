"""What other cogs may use of mentoring: the queue in figures, who last helped someone, and
who asked a request (`REQUESTER`, a subquery to embed).

Everything else in this package may change without notice to them."""

from cogs.mentoring.figures import FirstResponse, first_response, rank_offset, requesters
from cogs.mentoring.service import REQUESTER, Waiting, last_mentor, waiting

__all__ = [
    "REQUESTER",
    "FirstResponse",
    "Waiting",
    "first_response",
    "last_mentor",
    "rank_offset",
    "requesters",
    "waiting",
]
