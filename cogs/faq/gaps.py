"""FAQ gaps: questions left unanswered or answered badly, grouped by wording."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.faq.matcher import normalise, tokenize
from cogs.faq.models import FaqQuestion, FaqVote

# Two gap questions belong together when they share at least this share of their words.
GAP_SIMILARITY = 0.5
GAP_SCAN = 2000

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Gap:
    """Similar questions the FAQ did not answer well, shown by their most common wording."""

    text: str
    unanswered: int
    downvoted: int
    entries: tuple[str, ...]
    last_asked: datetime

    @property
    def count(self) -> int:
        return self.unanswered + self.downvoted


class _Group:
    def __init__(self, words: frozenset[str]) -> None:
        self.words = words
        self.members: list[tuple[FaqQuestion, bool]] = []

    def gap(self) -> Gap:
        wordings = Counter(_wording(q.text) for q, _ in self.members)
        top = wordings.most_common(1)[0][0]
        return Gap(
            text=next(q.text for q, _ in self.members if _wording(q.text) == top),
            unanswered=sum(not down for _, down in self.members),
            downvoted=sum(down for _, down in self.members),
            entries=tuple(sorted({q.entry_id or "?" for q, down in self.members if down})),
            last_asked=max(q.created_at for q, _ in self.members),
        )


def _wording(text: str) -> str:
    """Case, accents and punctuation aside, the words as typed: what counts as the same text."""
    return " ".join(_WORD.findall(normalise(text)))


def _signature(text: str) -> frozenset[str]:
    """The content words of a question, or all its words when it has no content words."""
    return frozenset(tokenize(text)) or frozenset(_wording(text).split())


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a | b) and len(a & b) / len(a | b) >= GAP_SIMILARITY


async def find_gaps(session: AsyncSession, since: datetime) -> list[Gap]:
    """Unanswered questions and answers voted down since *since*, grouped by wording, most
    asked first: what the FAQ should answer next."""
    query = (
        select(FaqQuestion)
        .where(
            col(FaqQuestion.created_at) >= since,
            col(FaqQuestion.verdict) != "suggest",
            # Words removed (kept past retention, or forgotten) leave nothing to group.
            col(FaqQuestion.text) != "",
        )
        .order_by(col(FaqQuestion.created_at).desc(), col(FaqQuestion.id).desc())
        .limit(GAP_SCAN)
    )
    questions = list(reversed((await session.exec(query)).all()))
    tally: Counter[int] = Counter()
    votes = select(FaqVote).join(FaqQuestion).where(col(FaqQuestion.created_at) >= since)
    for v in (await session.exec(votes)).all():
        tally[v.question_id] += 1 if v.up else -1
    groups: list[_Group] = []
    for question in questions:
        downvoted = question.verdict == "answer" and tally[question.id or 0] < 0
        if question.verdict != "none" and not downvoted:
            continue
        words = _signature(question.text)
        group = next((g for g in groups if _similar(g.words, words)), None)
        if group is None:
            group = _Group(words)
            groups.append(group)
        group.members.append((question, downvoted))
    found = [group.gap() for group in groups]
    found.sort(key=lambda gap: (-gap.count, -gap.last_asked.timestamp()))
    return found
