"""The FAQ as organizers write it, and what people asked of it.

Entries are keyed by a readable slug so that the TOML file, chat commands and "did you mean"
hints all name them the same way. Every question asked is kept with the matcher's verdict, and
votes on answers are kept per person: together they are what `faq gaps` reads to show where the
FAQ falls short.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.db import UTCDateTime


class FaqEntry(SQLModel, table=True):
    __tablename__ = "faq_entry"

    id: str = Field(primary_key=True, max_length=64)
    question: str = Field(max_length=300)
    answer: str = Field(max_length=4000)
    tags: str = Field(default="", max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)

    @property
    def tag_list(self) -> list[str]:
        """Tags are stored comma-joined: they are only ever read all together."""
        return [tag for tag in self.tags.split(",") if tag]


class FaqExample(SQLModel, table=True):
    """Another way people ask an entry's question, taught in chat or listed in the file."""

    __tablename__ = "faq_example"
    __table_args__ = (UniqueConstraint("entry_id", "text"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: str = Field(foreign_key="faq_entry.id", index=True, max_length=64)
    text: str = Field(max_length=300)
    added_by: int | None = Field(default=None, foreign_key="person.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class FaqQuestion(SQLModel, table=True):
    """One question as asked, with what the bot made of it.

    `entry_id` is deliberately not a foreign key: the record of what was answered outlives the
    entry, so removing or renaming an entry never rewrites history.
    """

    __tablename__ = "faq_question"

    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=1000)
    person_id: int = Field(foreign_key="person.id", index=True)
    platform: str = Field(max_length=16)
    verdict: str = Field(max_length=8)
    entry_id: str | None = Field(default=None, max_length=64)
    score: float
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class FaqVote(SQLModel, table=True):
    """👍 or 👎 on one answer; one per person and question, changed by voting again."""

    __tablename__ = "faq_vote"
    __table_args__ = (UniqueConstraint("question_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(foreign_key="faq_question.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    up: bool
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
