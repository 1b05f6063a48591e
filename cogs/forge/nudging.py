"""Who wants review nudges, and how: the store's side of `review nudge`."""

from __future__ import annotations

import re

from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.context import Caller
from bot.core.errors import UserError
from cogs.forge.models import ReviewNudge
from cogs.forge.nudges import DAY_ENDS, DAY_STARTS

__all__ = ["DAY_ENDS", "DAY_STARTS", "check_labels", "start", "stop"]

LABEL = re.compile(r"^[^,:@<>\[\]`*_~|]{1,50}$")


def check_labels(text: str | None) -> list[str]:
    labels = [label.strip() for label in (text or "").split(",") if label.strip()]
    if any(not LABEL.match(label) for label in labels) or len(labels) > 10:
        raise UserError(
            "Labels are up to 10 names, comma-separated, e.g. labels=documentation,good first issue",
            plain=True,
        )
    return labels


async def start(
    session: AsyncSession, caller: Caller, person_id: int, most: int, labels: list[str]
) -> None:
    nudge = await session.get(ReviewNudge, person_id) or ReviewNudge(
        person_id=person_id, platform=caller.platform, user_id=caller.user_id
    )
    nudge.platform, nudge.user_id = caller.platform, caller.user_id
    nudge.room = None if caller.is_direct else caller.room_id[:64]
    nudge.most, nudge.labels = most, ",".join(labels)
    session.add(nudge)


async def stop(session: AsyncSession, person_id: int) -> None:
    await session.exec(delete(ReviewNudge).where(col(ReviewNudge.person_id) == person_id))
