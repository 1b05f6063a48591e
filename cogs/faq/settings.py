"""`[faq]`: how long what people asked is kept word for word."""

from __future__ import annotations

from pydantic import Field

from bot.core.settings import Section


class FaqSettings(Section):
    # After this, a question keeps only what the bot made of it (verdict, entry, when) for the
    # figures; its words, which may say anything about whoever asked, are removed.
    question_retention_days: int = Field(default=90, ge=1, le=3650)
