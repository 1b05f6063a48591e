"""Rooms: a name for one conversation that may live on several platforms at once (a Discord
channel and a Matrix room linked together), and what the community uses it for.

Features ask for rooms by purpose ("mentors") or by name; platforms ask which purposes the
room a message came from has. Nobody else needs to know where the rooms are written down: the
configuration file or the store (`room add` from chat). A process has one `Rooms`, shared by
every part that holds it, and `bot/rooms_store.py` replaces its contents when the store's rooms
change, so nobody holds a stale copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.core.bus import Topic

# Published when rooms were bound or removed from chat: whoever keeps the rooms re-reads them.
ROOMS = Topic("rooms")

Origin = Literal["file", "chat"]


@dataclass(frozen=True)
class Room:
    name: str
    places: Mapping[str, str]
    purposes: frozenset[str] = field(default_factory=frozenset)
    origin: Origin = "file"

    def target(self, platform: str) -> str | None:
        """The channel or room id of this room on *platform*, if it is there."""
        return self.places.get(platform)

    def only(self, platform: str) -> Room:
        """This room reduced to its side on *platform*."""
        places = {platform: self.places[platform]} if platform in self.places else {}
        return Room(self.name, places, self.purposes, self.origin)


class Rooms:
    def __init__(self, rooms: Iterable[Room] = ()) -> None:
        self.replace(rooms)

    def replace(self, rooms: Iterable[Room]) -> None:
        """Make these the rooms, for everyone holding this object."""
        self._rooms = list(rooms)
        self._by_name = {room.name: room for room in self._rooms}
        self._by_place = {
            (platform, target): room
            for room in self._rooms
            for platform, target in room.places.items()
        }

    def __iter__(self) -> Iterator[Room]:
        return iter(self._rooms)

    def __len__(self) -> int:
        return len(self._rooms)

    def get(self, name: str) -> Room | None:
        return self._by_name.get(name)

    def named(self, names: Iterable[str]) -> list[Room]:
        """The rooms called *names*, in that order; names no longer configured are left out."""
        return [self._by_name[name] for name in names if name in self._by_name]

    def with_purpose(self, purpose: str) -> list[Room]:
        return [room for room in self._rooms if purpose in room.purposes]

    def at(self, platform: str, target: str) -> Room | None:
        return self._by_place.get((platform, target))

    def purposes_at(self, platform: str, target: str) -> frozenset[str]:
        room = self._by_place.get((platform, target))
        return room.purposes if room is not None else frozenset()

    def on(self, platform: str) -> dict[str, frozenset[str]]:
        """Every target on *platform* with its purposes."""
        return {
            target: room.purposes
            for (where, target), room in self._by_place.items()
            if where == platform
        }
