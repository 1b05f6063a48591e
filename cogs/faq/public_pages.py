"""The FAQ as a public page: every entry, and a search that ranks them with the matcher chat
answers with (the same `MatcherCache`, so a page and `faq` agree on the best entry).

A search from the page is not recorded as a question: nobody asked the bot, and a visitor has
no person to keep it under. Gaps come from chat only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.errors import UserError
from bot.core.pages import PageRequest, View
from cogs.faq import entries
from cogs.faq.asking import MatcherCache, check_question
from cogs.faq.matcher import ANSWER_MIN, SUGGEST_MIN
from cogs.faq.models import FaqEntry

# Ranked entries shown for a search.
MAX_FOUND = 10


@dataclass(frozen=True)
class Found:
    entry: FaqEntry
    score: float
    # True for the entry the bot would answer with in chat.
    answer: bool


class FaqPage:
    """`/faq` and `/faq?q=…`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache: MatcherCache) -> None:
        self._sessions = sessions
        self._cache = cache

    async def __call__(self, request: PageRequest) -> View:
        asked = request.query.get("q", "").strip()
        problem = None
        found: list[Found] = []
        async with self._sessions() as session:
            every = await entries.all_entries(session)
            if asked:
                try:
                    question = check_question(asked)
                except UserError as refused:
                    problem = refused.message
                else:
                    found = await self._search(session, question, every)
        every.sort(key=lambda entry: entry.question.lower())
        context = {"entries": every, "asked": asked, "found": found, "problem": problem}
        return View("faq/faq.html", context, title="FAQ")

    async def _search(
        self, session: AsyncSession, question: str, every: list[FaqEntry]
    ) -> list[Found]:
        matcher = await self._cache.get(session)
        by_id = {entry.id: entry for entry in every}
        ranked = [c for c in matcher.scores(question) if c.score >= SUGGEST_MIN and c.id in by_id]
        return [
            Found(by_id[c.id], round(c.score, 2), i == 0 and c.score >= ANSWER_MIN)
            for i, c in enumerate(ranked[:MAX_FOUND])
        ]
