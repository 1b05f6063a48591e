"""What the house keeps about one person, gathered from every feature that keeps something.

The core knows no feature, so each cog declares its own part at setup (`Setup.personal_data`):
how to export what it keeps about a person, and how to forget it. Taking one's data, or having
it erased, then covers every feature without anyone listing them by hand, and a new cog that
keeps something about people is covered the day it declares it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
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
class Keeper:
    """One feature's part: *name* is the section it fills in an export."""

    name: str
    export: Export
    forget: Forget


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
