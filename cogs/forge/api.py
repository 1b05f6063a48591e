"""What other cogs may use of the forges: the review queue as the store keeps it."""

from cogs.forge.pulls import Waiting, queue

__all__ = ["Waiting", "queue"]
