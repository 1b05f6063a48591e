"""FAQ entries and their taught phrasings: checking, reading and changing them.

Every change to what the matcher reads (entries and examples) also changes a version token in
`bot_state`, in the same transaction, so that each instance's in-memory matcher notices edits
made by any instance and is rebuilt only then.
"""

from __future__ import annotations

import difflib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.audience import Audience
from bot.core.errors import UserError
from bot.core.markup import code, ping, quoted, unbalanced
from bot.state import set_state
from cogs.faq.matcher import normalise
from cogs.faq.models import FaqEntry, FaqExample

VERSION_KEY = "faq.version"
MAX_ID = 64
MAX_QUESTION = 300
MAX_ANSWER = 4000
MAX_TAG = 60
MAX_TAGS_TEXT = 500

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class EntryData:
    """An entry as given by an organizer or a file, before it is stored.

    `examples` is None when the source says nothing about them, so an import of a file without
    an `examples` list keeps the phrasings taught in chat.
    """

    id: str
    question: str
    answer: str
    tags: tuple[str, ...] = ()
    examples: tuple[str, ...] | None = None


# How an answer writes ** that is not bold, shown as code so that it reads as typed.
LITERAL_BOLD = code(r"\*\*")


def entry_problems(data: EntryData) -> list[str]:
    """Everything wrong with *data*, in words an organizer can act on; empty when it is fine."""
    problems: list[str] = []
    if len(data.id) > MAX_ID or not _ID.match(data.id):
        problems.append(
            f"the id {code(data.id[:80])} must be up to {MAX_ID} lowercase letters, digits "
            "and dashes, e.g. run-tests"
        )
    for name, text, limit in (
        ("question", data.question, MAX_QUESTION),
        ("answer", data.answer, MAX_ANSWER),
    ):
        if not text.strip():
            problems.append(f"the {name} is empty")
        elif len(text) > limit:
            problems.append(f"the {name} is too long ({len(text):,} characters; at most {limit:,})")
        elif (found := ping(text)) is not None:
            problems.append(f"the {name} may not contain {quoted(found)}: answers never ping")
        elif name == "answer" and (open_span := unbalanced(text)) is not None:
            # Only answers are markup; questions are shown as typed.
            problems.append(f"in the {name}, {open_span}; close it or write it as {LITERAL_BOLD}")
    for tag in data.tags:
        if not tag.strip() or "," in tag or len(tag) > MAX_TAG:
            problems.append(
                f"the tag {code(tag[:80])} must be 1-{MAX_TAG} characters without commas"
            )
    if len(",".join(data.tags)) > MAX_TAGS_TEXT:
        problems.append(f"the tags are too long together (at most {MAX_TAGS_TEXT} characters)")
    for example in data.examples or ():
        if not example.strip() or len(example) > MAX_QUESTION:
            problems.append(f"the example {code(example[:80])} must be 1-{MAX_QUESTION} characters")
    return problems


def parse_tags(text: str) -> tuple[str, ...]:
    """Tags typed in chat: comma-separated, blanks and repeats dropped."""
    return tuple(dict.fromkeys(tag.strip() for tag in text.split(",") if tag.strip()))


def _check(data: EntryData) -> None:
    problems = entry_problems(data)
    if problems:
        raise UserError(_sentence("; ".join(problems)) + ".", show_usage=True)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


async def bump(session: AsyncSession, now: datetime) -> None:
    """Mark the entries as changed; a random token, so two instances never write the same one."""
    await set_state(session, VERSION_KEY, uuid.uuid4().hex, now)


async def all_entries(session: AsyncSession) -> list[FaqEntry]:
    return list((await session.exec(select(FaqEntry).order_by(col(FaqEntry.id)))).all())


async def suggest_questions(session: AsyncSession, typed: str) -> list[str]:
    """Entry questions for what someone is typing: those sharing most word beginnings first,
    then the shortest (the most specific); picking one asks exactly that entry."""
    entries = await all_entries(session)
    words = normalise(typed).split()
    if not words:
        return sorted(entry.question for entry in entries)

    def rank(entry: FaqEntry) -> tuple[int, int, str]:
        known = normalise(f"{entry.question} {entry.tags}").split()
        shared = sum(any(k.startswith(w) for k in known) for w in words)
        return -shared, len(known), entry.question

    ranked = sorted(rank(entry) for entry in entries)
    return [question for shared, _, question in ranked if shared < 0]


async def get_entry(session: AsyncSession, entry_id: str) -> FaqEntry:
    entry = await session.get(FaqEntry, entry_id.strip().lower())
    if entry is not None:
        return entry
    ids = [e.id for e in await all_entries(session)]
    close = difflib.get_close_matches(entry_id.lower(), ids, n=1, cutoff=0.6)
    hint = f" Did you mean {code(close[0])}?" if close else ""
    raise UserError(f"There is no FAQ entry {code(entry_id[:80])}.{hint}")


async def examples_of(session: AsyncSession, entry_id: str) -> list[str]:
    query = (
        select(FaqExample.text).where(FaqExample.entry_id == entry_id).order_by(col(FaqExample.id))
    )
    return list((await session.exec(query)).all())


async def add_entry(
    session: AsyncSession, data: EntryData, now: datetime, audience: Audience
) -> FaqEntry:
    """A new entry; an id taken already is refused with the command that changes it instead."""
    _check(data)
    if await session.get(FaqEntry, data.id) is not None:
        edit = code(audience.command("faq edit"))
        raise UserError(f"There is already an entry {code(data.id)}; change it with {edit}.")
    entry = FaqEntry(
        id=data.id,
        question=data.question.strip(),
        answer=data.answer.strip(),
        tags=",".join(data.tags),
        created_at=now,
        updated_at=now,
    )
    session.add(entry)
    await bump(session, now)
    return entry


async def edit_entry(
    session: AsyncSession,
    entry_id: str,
    now: datetime,
    *,
    question: str | None = None,
    answer: str | None = None,
    tags: tuple[str, ...] | None = None,
) -> tuple[FaqEntry, list[str]]:
    """Change the given fields; returns the entry and the names of the fields that changed."""
    entry = await get_entry(session, entry_id)
    wanted = EntryData(
        id=entry.id,
        question=entry.question if question is None else question.strip(),
        answer=entry.answer if answer is None else answer.strip(),
        tags=tuple(entry.tag_list) if tags is None else tags,
    )
    _check(wanted)
    changed = [
        name
        for name, old, new in (
            ("question", entry.question, wanted.question),
            ("answer", entry.answer, wanted.answer),
            ("tags", entry.tags, ",".join(wanted.tags)),
        )
        if old != new
    ]
    if changed:
        entry.question, entry.answer = wanted.question, wanted.answer
        entry.tags = ",".join(wanted.tags)
        entry.updated_at = now
        session.add(entry)
        await bump(session, now)
    return entry, changed


async def remove_entry(session: AsyncSession, entry_id: str, now: datetime) -> FaqEntry:
    """Delete an entry and its phrasings; questions once answered by it keep its id."""
    entry = await get_entry(session, entry_id)
    await session.exec(delete(FaqExample).where(col(FaqExample.entry_id) == entry.id))
    await session.delete(entry)
    await bump(session, now)
    return entry


async def teach(
    session: AsyncSession, entry_id: str, text: str, person_id: int, now: datetime
) -> FaqEntry:
    """Add *text* as another way to ask the entry's question."""
    entry = await get_entry(session, entry_id)
    text = " ".join(text.split())
    if not text or len(text) > MAX_QUESTION:
        raise UserError(f"The phrasing must be 1-{MAX_QUESTION} characters.", show_usage=True)
    known = [entry.question, *await examples_of(session, entry.id)]
    if any(normalise(text) == normalise(k) for k in known):
        raise UserError(f"{code(entry.id)} already knows that phrasing.")
    session.add(FaqExample(entry_id=entry.id, text=text, added_by=person_id, created_at=now))
    await bump(session, now)
    return entry
