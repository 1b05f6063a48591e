"""Asking the FAQ: the matcher over the current entries, and the record of each question."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.errors import UserError
from bot.state import get_state
from cogs.faq.entries import VERSION_KEY, all_entries
from cogs.faq.matcher import FaqDoc, Matcher, MatchResult
from cogs.faq.models import FaqExample, FaqQuestion

MAX_ASKED = 1000


class MatcherCache:
    """The matcher over the current entries, rebuilt only when they have changed.

    Building is cheap but asking is frequent, and a second instance on the same database may
    edit the FAQ at any time; so the cache is keyed by the version token stored with the
    entries, which is read before the entries: a race then costs an extra rebuild, never a
    stale matcher.
    """

    def __init__(self) -> None:
        self._version: str | None = None
        self._matcher: Matcher | None = None
        self.builds = 0

    async def get(self, session: AsyncSession) -> Matcher:
        version = await get_state(session, VERSION_KEY)
        if self._matcher is None or version != self._version:
            self._matcher = Matcher(await _docs(session))
            self._version = version
            self.builds += 1
        return self._matcher


async def _docs(session: AsyncSession) -> list[FaqDoc]:
    examples: dict[str, list[str]] = {}
    for example in (await session.exec(select(FaqExample).order_by(col(FaqExample.id)))).all():
        examples.setdefault(example.entry_id, []).append(example.text)
    return [
        FaqDoc(e.id, e.question, e.answer, tuple(e.tag_list), tuple(examples.get(e.id, ())))
        for e in await all_entries(session)
    ]


@dataclass(frozen=True)
class Asked:
    question: FaqQuestion
    result: MatchResult

    @property
    def question_id(self) -> int:
        assert self.question.id is not None
        return self.question.id


def check_question(text: str) -> str:
    """The question as it will be matched and kept; the caller's usage line shows an example."""
    text = text.strip()
    if not any(char.isalnum() for char in text):
        raise UserError("Ask your question in words.", show_usage=True)
    if len(text) > MAX_ASKED:
        raise UserError(
            f"That question is too long ({len(text):,} characters; at most {MAX_ASKED:,}). "
            "Ask it in a sentence or two.",
            show_usage=True,
        )
    return text


async def ask(
    session: AsyncSession,
    cache: MatcherCache,
    text: str,
    *,
    person_id: int,
    platform: str,
    now: datetime,
) -> Asked:
    """Match *text* and record it, whatever the verdict: unanswered questions are the gaps.

    The record keeps the best candidate even for a "did you mean", so one can later see what
    the matcher almost said.
    """
    text = check_question(text)
    result = (await cache.get(session)).match(text)
    best = result.best[0] if result.best else None
    question = FaqQuestion(
        text=text,
        person_id=person_id,
        platform=platform,
        verdict=result.verdict,
        entry_id=best.id if best else None,
        score=round(best.score, 4) if best else 0.0,
        created_at=now,
    )
    session.add(question)
    await session.flush()
    return Asked(question, result)
