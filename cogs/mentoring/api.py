"""What other cogs may use of mentoring: the queue in figures.

Everything else in this package may change without notice to them."""

from cogs.mentoring.figures import FirstResponse, first_response, rank_offset, requesters
from cogs.mentoring.service import Waiting, waiting

__all__ = ["FirstResponse", "Waiting", "first_response", "rank_offset", "requesters", "waiting"]
