"""What other cogs may use of mentoring: the queue in figures.

Everything else in this package may change without notice to them."""

from cogs.mentoring.service import Waiting, waiting

__all__ = ["Waiting", "waiting"]
