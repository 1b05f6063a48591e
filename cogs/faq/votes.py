"""Votes on FAQ answers: one per person and answer, the latest one counts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.errors import UserError
from cogs.faq.models import FaqQuestion, FaqVote

VoteOutcome = Literal["new", "changed", "same"]


async def vote(
    session: AsyncSession, question_id: int, person_id: int, *, up: bool, now: datetime
) -> VoteOutcome:
    """Record one person's vote on an answer; voting again replaces it."""
    question = await session.get(FaqQuestion, question_id)
    if question is None:
        raise UserError(f"There is no asked question #{question_id}.")
    if question.verdict != "answer":
        raise UserError(f"Question #{question_id} got no answer, so there is nothing to vote on.")
    query = select(FaqVote).where(
        FaqVote.question_id == question_id, FaqVote.person_id == person_id
    )
    existing = (await session.exec(query)).first()
    if existing is None:
        try:
            async with session.begin_nested():
                session.add(
                    FaqVote(question_id=question_id, person_id=person_id, up=up, updated_at=now)
                )
            return "new"
        except IntegrityError:
            # The same person clicked twice at once; the other click has created the row.
            existing = (await session.exec(query)).one()
    if existing.up == up:
        return "same"
    existing.up, existing.updated_at = up, now
    session.add(existing)
    return "changed"
