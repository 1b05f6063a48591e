"""A store with thousands of events due at once, as a large import or an upgrade leaves it:
for the tests and the benchmark of a stop while the planner is busy."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlmodel import func, select

from bot.db import make_engine, make_sessions
from bot.identity import Person
from bot.schema import upgrade
from cogs.events.models import Event, EventRoom


async def seed_events(url: str, count: int, rooms: Iterable[str], now: datetime) -> None:
    """*count* one-off events starting in 40 s, each with a reminder a minute before, so
    that the planner's first pass plans a reminder due now for every one in every room: what
    a large import or an upgrade leaves for it."""
    engine = make_engine(url)
    await upgrade(engine)
    start = now + timedelta(seconds=40)
    async with make_sessions(engine)() as session:
        organizer = Person(display_name="Olivia", created_at=now)
        session.add(organizer)
        await session.flush()
        first = (await session.exec(select(func.coalesce(func.max(Event.id), 0)))).one() + 1
        events = [
            {
                "id": first + n,
                "uid": f"{uuid.uuid4().hex}@convene",
                "title": f"Event {first + n}",
                "kind": "meeting",
                "tier": "everyone",
                "timezone": "UTC",
                "start_local": start.replace(tzinfo=None),
                "duration_min": 60,
                "reminders": "1",
                "next_start": start,
                "sequence": 0,
                "created_by": organizer.id,
                "created_at": now - timedelta(hours=1),
                "updated_at": now - timedelta(hours=1),
            }
            for n in range(count)
        ]
        await session.exec(insert(Event), params=events)
        links = [{"event_id": e["id"], "room": room} for e in events for room in rooms]
        await session.exec(insert(EventRoom), params=links)
        await session.commit()
    await engine.dispose()
