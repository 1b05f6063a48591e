"""What the web login keeps about a person: when they asked for links and when their browser
sessions began and were last used. Forgetting ends every session at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.personal import Records, Words
from bot.web_login import WebLink, WebSession

WORDS = {
    "web_links": Words("web login link", "web login links"),
    "web_sessions": Words("web session (logged out)", "web sessions (logged out)"),
}


async def export(session: AsyncSession, person_id: int) -> Records:
    links = select(WebLink).where(WebLink.person_id == person_id)
    sessions = select(WebSession).where(WebSession.person_id == person_id)
    return {
        "web_links": [
            {"made_at": link.created_at, "used_at": link.used_at}
            for link in sorted((await session.exec(links)).all(), key=lambda r: r.created_at)
        ],
        "web_sessions": [
            {"began_at": s.created_at, "last_used_at": s.seen_at}
            for s in sorted((await session.exec(sessions)).all(), key=lambda r: r.created_at)
        ],
    }


async def forget(session: AsyncSession, person_id: int, now: datetime) -> None:
    await session.exec(delete(WebLink).where(col(WebLink.person_id) == person_id))
    await session.exec(delete(WebSession).where(col(WebSession.person_id) == person_id))
