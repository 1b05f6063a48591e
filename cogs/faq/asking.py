"""Asking the FAQ: the matcher over the current entries, and the record of each question."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.errors import UserError
from bot.db import aside
from bot.state import get_state
from cogs.faq.entries import VERSION_KEY
from cogs.faq.matcher import ANSWER_MIN, FaqDoc, Matcher, MatchResult
from cogs.faq.models import FaqEntry, FaqExample, FaqQuestion

MAX_ASKED = 1000
READ_BATCH = 500


class MatcherCache:
    """The matcher over the current entries, rebuilt only when they have changed.

    Asking is frequent, and a second instance on the same database may edit the FAQ at any
    time; so the cache is keyed by the version token stored with the entries, which is read
    before the entries: a race then costs an extra rebuild, never a stale matcher kept.

    Indexing a large FAQ takes seconds of CPU, so it happens in a worker thread, one build at
    a time, and callers for one version share one build: they wait for it without holding up
    the event loop, and a question asked after an edit, on any instance, gets the edited FAQ.
    Only auto-answering, which nobody waits for, takes the previous matcher while a new one
    builds (`stale_ok`); what it names that no longer exists is dropped.
    """

    def __init__(self) -> None:
        self._version: str | None = None
        self._matcher: Matcher | None = None
        self._building: dict[str | None, asyncio.Task[Matcher]] = {}
        self._builder = asyncio.Lock()
        self.builds = 0

    async def get(self, session: AsyncSession, *, stale_ok: bool = False) -> Matcher:
        return (await self.current(session, stale_ok=stale_ok))[0]

    async def current(
        self, session: AsyncSession, *, stale_ok: bool = False
    ) -> tuple[Matcher, bool]:
        """The matcher, and whether it is the one for the entries *session* sees."""
        version = await get_state(session, VERSION_KEY)
        if self._matcher is not None and version == self._version:
            return self._matcher, True
        task = self._building.get(version)
        if task is None:
            docs = await _docs(session)
            task = self._building.get(version) or self._start(version, docs)
        if self._matcher is not None and stale_ok:
            return self._matcher, False
        # Shielded: a caller that gives up does not cancel a build others wait for.
        return await aside(session, asyncio.shield(task)), True

    def _start(self, version: str | None, docs: list[FaqDoc]) -> asyncio.Task[Matcher]:
        task = asyncio.create_task(self._build(version, docs))
        self._building[version] = task
        task.add_done_callback(lambda _: self._building.pop(version, None))
        return task

    async def _build(self, version: str | None, docs: list[FaqDoc]) -> Matcher:
        async with self._builder:
            matcher = await asyncio.to_thread(Matcher, docs)
            self.builds += 1
        self._matcher, self._version = matcher, version
        return matcher


async def _docs(session: AsyncSession) -> list[FaqDoc]:
    """What the matcher indexes, as plain columns rather than entities, a batch at a time with
    a turn for the loop in between: thousands of entries at once hold it up."""
    examples: dict[str, list[str]] = {}
    texts = select(FaqExample.entry_id, FaqExample.text).order_by(col(FaqExample.id))
    for entry_id, text in (await session.exec(texts)).all():
        examples.setdefault(entry_id, []).append(text)
    docs: list[FaqDoc] = []
    columns = (FaqEntry.id, FaqEntry.question, FaqEntry.answer, FaqEntry.tags)
    while True:
        query = select(*columns).order_by(col(FaqEntry.id)).limit(READ_BATCH)
        if docs:
            query = query.where(col(FaqEntry.id) > docs[-1].id)
        batch = (await session.exec(query)).all()
        docs += [
            FaqDoc(
                entry_id,
                question,
                answer,
                tuple(filter(None, tags.split(","))),
                tuple(examples.get(entry_id, ())),
            )
            for entry_id, question, answer, tags in batch
        ]
        if len(batch) < READ_BATCH:
            return docs
        await asyncio.sleep(0)


async def _existing(session: AsyncSession, result: MatchResult) -> MatchResult:
    """*result* without the entries removed since its matcher was built."""
    ids = [candidate.id for candidate in result.best]
    query = select(FaqEntry.id).where(col(FaqEntry.id).in_(ids))
    found = set((await session.exec(query)).all())
    best = tuple(candidate for candidate in result.best if candidate.id in found)
    if not best:
        return MatchResult("none", ())
    return MatchResult("answer" if best[0].score >= ANSWER_MIN else "suggest", best)


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
    stale_ok: bool = False,
) -> Asked:
    """Match *text* and record it, whatever the verdict: unanswered questions are the gaps.

    The record keeps the best candidate even for a "did you mean", so one can later see what
    the matcher almost said.
    """
    text = check_question(text)
    matcher, current = await cache.current(session, stale_ok=stale_ok)
    result = matcher.match(text)
    if not current:
        result = await _existing(session, result)
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
