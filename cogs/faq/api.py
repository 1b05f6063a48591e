"""What other cogs may use of the FAQ: where it falls short, and how often it answers.

Everything else in this package may change without notice to them."""

from cogs.faq.figures import answered, askers
from cogs.faq.gaps import Gap, find_gaps

__all__ = ["Gap", "answered", "askers", "find_gaps"]
