"""What the house keeps about one person, gathered from every feature that keeps something.

The core knows no feature, so each cog declares its own part at setup (`Setup.personal_data`):
how to export what it keeps about a person, and how to forget it. Taking one's data, or having
it erased, then covers every feature without anyone listing them by hand, and a new cog that
keeps something about people is covered the day it declares it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

# Records by kind, e.g. {"rsvps": [{"event": "Sprint", "status": "going", …}]}; JSON-able values,
# datetimes and dates included.
Records = dict[str, list[dict[str, Any]]]
Export = Callable[[AsyncSession, int], Awaitable[Records]]
# Removes or anonymises what the feature keeps about the person; counts that name nobody stay.
Forget = Callable[[AsyncSession, int, datetime], Awaitable[None]]


@dataclass(frozen=True)
class Words:
    """How a kind of record reads in "what forgetting you touches": one and many, each saying
    what happens to it, e.g. Words("RSVP", "RSVPs")."""

    one: str
    many: str

    def count(self, number: int) -> str:
        return f"{number} {self.one if number == 1 else self.many}"


@dataclass(frozen=True)
class Keeper:
    """One feature's part: *name* is the section it fills in an export; *words* name its kinds
    of records for people."""

    name: str
    export: Export
    forget: Forget
    words: Mapping[str, Words] = field(default_factory=dict)


@dataclass
class PersonalData:
    """Every feature's part, in the order they were declared."""

    keepers: list[Keeper] = field(default_factory=list)

    def add(self, keeper: Keeper) -> None:
        if any(known.name == keeper.name for known in self.keepers):
            raise ValueError(f"personal data of {keeper.name!r} is declared twice")
        self.keepers.append(keeper)

    async def export(self, session: AsyncSession, person_id: int) -> dict[str, Records]:
        """Each feature's records about the person, by feature; features with none left out."""
        found: dict[str, Records] = {}
        for keeper in self.keepers:
            records = await keeper.export(session, person_id)
            if any(records.values()):
                found[keeper.name] = records
        return found

    async def forget(self, session: AsyncSession, person_id: int, now: datetime) -> None:
        for keeper in self.keepers:
            await keeper.forget(session, person_id, now)

    def describe(self, data: dict[str, Records]) -> list[str]:
        """What an export holds, as lines such as "3 RSVPs", in the words each feature gave."""
        words = {keeper.name: keeper.words for keeper in self.keepers}
        lines = []
        for name, kind, number in counts(data):
            plain = kind.replace("_", " ")
            lines.append(words.get(name, {}).get(kind, Words(plain, plain)).count(number))
        return lines


def counts(data: dict[str, Records]) -> list[tuple[str, str, int]]:
    """(feature, kind, how many) for what an export holds, for telling what forgetting removes."""
    return [
        (name, kind, len(rows))
        for name, records in data.items()
        for kind, rows in records.items()
        if rows
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def to_json(data: Any) -> str:
    return json.dumps(data, default=_plain, ensure_ascii=False, indent=2)
