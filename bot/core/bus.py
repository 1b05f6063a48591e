"""The change bus: "events changed" wakes whoever plans from events, once the change commits.

Topics are values declared by the core and by each cog, not strings: a listener of a topic
nobody declares fails when the bot starts, instead of silently never waking, and work that notes
one fails before it commits. Work records its changes on its session (`note`), and whoever
commits that session publishes them, so a rolled-back change wakes nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

_NOTED = "convene.topics"
_BUS = "convene.bus"


@dataclass(frozen=True)
class Topic:
    name: str


DELIVERIES = Topic("deliveries")


class UnknownTopic(Exception):
    """A topic that no loaded part of the bot declares: a programming error."""


class Bus:
    def __init__(self, topics: Iterable[Topic] = ()) -> None:
        self._listeners: dict[Topic, list[Callable[[], None]]] = {DELIVERIES: []}
        for topic in topics:
            self.declare(topic)

    def declare(self, topic: Topic) -> None:
        self._listeners.setdefault(topic, [])

    def _known(self, topic: Topic) -> list[Callable[[], None]]:
        try:
            return self._listeners[topic]
        except KeyError:
            raise UnknownTopic(f"no loaded cog declares the topic {topic.name!r}") from None

    def subscribe(self, topic: Topic, listener: Callable[[], None]) -> None:
        self._known(topic).append(listener)

    def publish(self, topic: Topic) -> None:
        for listener in self._known(topic):
            listener()

    def bind(self, session: AsyncSession) -> None:
        """Have `note` check *session*'s topics against this bus: after the commit, an unknown
        topic would fail a command whose work is already kept."""
        session.info[_BUS] = self

    def publish_noted(self, session: AsyncSession) -> None:
        """Publish what *session*'s work noted; call once it has committed."""
        for topic in session.info.pop(_NOTED, set()):
            self.publish(topic)


def note(session: AsyncSession, topic: Topic) -> None:
    """Record that *session*'s work changed *topic*; published when it commits."""
    bus: Bus | None = session.info.get(_BUS)
    if bus is not None:
        bus._known(topic)
    session.info.setdefault(_NOTED, set()).add(topic)


def noted(session: AsyncSession, topic: Topic) -> bool:
    """Whether *session*'s work noted *topic* (and it is not published yet)."""
    return topic in session.info.get(_NOTED, ())


def forget_noted(session: AsyncSession) -> None:
    session.info.pop(_NOTED, None)
