"""What other cogs may use of the FAQ: where it falls short.

Everything else in this package may change without notice to them."""

from cogs.faq.gaps import Gap, find_gaps

__all__ = ["Gap", "find_gaps"]
