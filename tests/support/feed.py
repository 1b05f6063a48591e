"""The calendar feed as the web server asks for it, for tests that read its body."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.pages import Page, PageRequest
from cogs.events.feed import Feed


async def feed_page(
    sessions: async_sessionmaker[AsyncSession], now: datetime, **query: str
) -> Page:
    page = await Feed(sessions)(PageRequest(query, now))
    assert isinstance(page, Page)
    return page
