"""The FAQ: entries and their taught phrasings, questions asked, votes, gaps and the TOML file.

Pure logic on a session; no chat I/O. Every change to what the matcher reads (entries and
examples) also changes a version token in `bot_state`, in the same transaction, so that each
instance's in-memory matcher notices edits made by any instance and is rebuilt only then.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.errors import UserError
from bot.core.markup import code
from bot.state import get_state, set_state
from cogs.faq.matcher import FaqDoc, Matcher, MatchResult, normalise, tokenize
from cogs.faq.models import FaqEntry, FaqExample, FaqQuestion, FaqVote

VERSION_KEY = "faq.version"
MAX_ID = 64
MAX_QUESTION = 300
MAX_ANSWER = 4000
MAX_ASKED = 1000
MAX_TAG = 60
MAX_TAGS_TEXT = 500
# Two gap questions belong together when they share at least this share of their words.
GAP_SIMILARITY = 0.5
GAP_SCAN = 2000

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_WORD = re.compile(r"[a-z0-9]+")


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


async def _bump(session: AsyncSession, now: datetime) -> None:
    """Mark the entries as changed; a random token, so two instances never write the same one."""
    await set_state(session, VERSION_KEY, uuid.uuid4().hex, now)


# --- Entries ------------------------------------------------------------------------------------


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


async def add_entry(session: AsyncSession, data: EntryData, now: datetime) -> FaqEntry:
    _check(data)
    if await session.get(FaqEntry, data.id) is not None:
        raise UserError(f"There is already an entry {code(data.id)}; change it with faq edit.")
    entry = FaqEntry(
        id=data.id,
        question=data.question.strip(),
        answer=data.answer.strip(),
        tags=",".join(data.tags),
        created_at=now,
        updated_at=now,
    )
    session.add(entry)
    await _bump(session, now)
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
        await _bump(session, now)
    return entry, changed


async def remove_entry(session: AsyncSession, entry_id: str, now: datetime) -> FaqEntry:
    """Delete an entry and its phrasings; questions once answered by it keep its id."""
    entry = await get_entry(session, entry_id)
    await session.exec(delete(FaqExample).where(col(FaqExample.entry_id) == entry.id))
    await session.delete(entry)
    await _bump(session, now)
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
    await _bump(session, now)
    return entry


# --- Asking -------------------------------------------------------------------------------------


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


# --- Gaps ---------------------------------------------------------------------------------------


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


async def gaps(session: AsyncSession, since: datetime) -> list[Gap]:
    """Unanswered questions and answers voted down since *since*, grouped by wording, most
    asked first: what the FAQ should answer next."""
    query = (
        select(FaqQuestion)
        .where(col(FaqQuestion.created_at) >= since, col(FaqQuestion.verdict) != "suggest")
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


# --- The TOML file ------------------------------------------------------------------------------

_FIELDS = ("id", "question", "answer", "tags", "examples")
_REQUIRED = ("id", "question", "answer", "tags")
_HEADER = re.compile(r"^\s*\[\[\s*entry\s*\]\]")
_TOML_LINE = re.compile(r"at line (\d+)")


class FaqFileError(Exception):
    """A file that cannot be imported; the message names each bad entry and its line."""


@dataclass(frozen=True)
class ImportCounts:
    added: int = 0
    changed: int = 0
    unchanged: int = 0


def _header_lines(text: str) -> list[int]:
    return [n for n, line in enumerate(text.splitlines(), 1) if _HEADER.match(line)]


def parse_faq(text: str, source: str) -> list[EntryData]:
    """Read and check a whole FAQ file, so that nothing is imported from a file with mistakes.

    Raises FaqFileError listing every problem with the entry number, id and line it is at.
    """
    headers = _header_lines(text)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = _TOML_LINE.search(str(exc))
        line = int(at.group(1)) if at else 0
        inside = [i for i, start in enumerate(headers, 1) if start <= line]
        where = f" in entry {inside[-1]} (from line {headers[inside[-1] - 1]})" if inside else ""
        raise FaqFileError(f"{source}: not valid TOML{where}: {exc}") from None
    problems = [
        f"{source}: unknown top-level key {key!r}; the file holds [[entry]] tables"
        for key in document
        if key != "entry"
    ]
    tables = document.get("entry", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise FaqFileError(f"{source}: `entry` must be [[entry]] tables")
    if not tables and not problems:
        problems.append(f"{source}: no [[entry]] tables found")
    entries: list[EntryData] = []
    first_seen: dict[str, str] = {}
    for number, table in enumerate(tables, 1):
        where = _where(number, table, headers)
        data, found = _entry_from_table(table)
        problems.extend(f"{source}: {where}: {p}" for p in found)
        if data is None:
            continue
        if data.id in first_seen:
            problems.append(
                f"{source}: {where}: duplicate id, already used by {first_seen[data.id]}"
            )
        first_seen.setdefault(data.id, where)
        entries.append(data)
    if problems:
        raise FaqFileError("\n".join(problems))
    return entries


def _where(number: int, table: Mapping[str, Any], headers: Sequence[int]) -> str:
    """How an error names an entry: its number, id when it has one, and its line."""
    named = f" {table['id']!r}" if isinstance(table.get("id"), str) else ""
    line = f" (line {headers[number - 1]})" if number <= len(headers) else ""
    return f"entry {number}{named}{line}"


def _entry_from_table(table: Mapping[str, Any]) -> tuple[EntryData | None, list[str]]:
    problems = [
        f"unknown field {key!r} (fields: {', '.join(_FIELDS)})"
        for key in table
        if key not in _FIELDS
    ]
    problems += [f"{key} is missing" for key in _REQUIRED if key not in table]
    for key in ("id", "question", "answer"):
        if key in table and not isinstance(table[key], str):
            problems.append(f"{key} must be a string")
    for key in ("tags", "examples"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{key} must be a list of strings")
    if problems:
        return None, problems
    examples = table.get("examples")
    data = EntryData(
        id=table["id"],
        question=table["question"].strip(),
        answer=table["answer"].strip(),
        tags=tuple(dict.fromkeys(t.strip() for t in table["tags"])),
        examples=None if examples is None else tuple(dict.fromkeys(e.strip() for e in examples)),
    )
    problems = entry_problems(data)
    return (None if problems else data), problems


async def import_entries(
    session: AsyncSession, entries: Sequence[EntryData], now: datetime
) -> ImportCounts:
    """Add new entries and update changed ones; entries not in the file are left alone.

    Idempotent: importing the same file again changes nothing and counts all as unchanged.
    """
    counts = Counter[str]()
    for data in entries:
        entry = await session.get(FaqEntry, data.id)
        if entry is None:
            entry = FaqEntry(
                id=data.id,
                question=data.question,
                answer=data.answer,
                tags=",".join(data.tags),
                created_at=now,
                updated_at=now,
            )
            session.add(entry)
            await session.flush()
            _add_examples(session, data.id, data.examples or (), now)
            counts["added"] += 1
            continue
        fields_changed = (entry.question, entry.answer, entry.tags) != (
            data.question,
            data.answer,
            ",".join(data.tags),
        )
        examples_changed = await _sync_examples(session, data, now)
        if fields_changed:
            entry.question, entry.answer, entry.tags = (
                data.question,
                data.answer,
                ",".join(data.tags),
            )
            entry.updated_at = now
            session.add(entry)
        counts["changed" if fields_changed or examples_changed else "unchanged"] += 1
    if counts["added"] or counts["changed"]:
        await _bump(session, now)
    return ImportCounts(counts["added"], counts["changed"], counts["unchanged"])


def _add_examples(
    session: AsyncSession, entry_id: str, texts: Iterable[str], now: datetime
) -> None:
    for text in texts:
        session.add(FaqExample(entry_id=entry_id, text=text, created_at=now))


async def _sync_examples(session: AsyncSession, data: EntryData, now: datetime) -> bool:
    """Make the stored phrasings those of the file, when the file lists them."""
    if data.examples is None:
        return False
    rows = (await session.exec(select(FaqExample).where(FaqExample.entry_id == data.id))).all()
    stored = {row.text for row in rows}
    if stored == set(data.examples):
        return False
    for row in rows:
        if row.text not in data.examples:
            await session.delete(row)
    await session.flush()
    _add_examples(session, data.id, [t for t in data.examples if t not in stored], now)
    return True


async def import_toml(session: AsyncSession, text: str, source: str, now: datetime) -> ImportCounts:
    return await import_entries(session, parse_faq(text, source), now)


def _basic_string(text: str) -> str:
    escapes = {
        '"': '\\"',
        "\\": "\\\\",
        "\b": "\\b",
        "\t": "\\t",
        "\n": "\\n",
        "\f": "\\f",
        "\r": "\\r",
    }
    out = (
        escapes.get(char)
        or (f"\\u{ord(char):04x}" if ord(char) < 0x20 or ord(char) == 0x7F else char)
        for char in text
    )
    return '"' + "".join(out) + '"'


def _toml_text(text: str) -> str:
    """A long text as a multi-line literal string when it can be (quotes and backslashes in
    answers then read as written), else as an escaped basic string."""
    literal_ok = (
        "'''" not in text
        and not text.startswith("\n")
        and not text.endswith("'")
        and not any((ord(c) < 0x20 and c not in "\t\n") or ord(c) == 0x7F for c in text)
    )
    return f"'''{text}'''" if literal_ok else _basic_string(text)


def _toml_list(items: Sequence[str], *, one_per_line: bool) -> str:
    if one_per_line and len(items) > 1:
        return "[\n" + "".join(f"    {_basic_string(i)},\n" for i in items) + "]"
    return "[" + ", ".join(_basic_string(i) for i in items) + "]"


async def export_toml(session: AsyncSession) -> str:
    """The whole FAQ in the import format; importing it into any store gives the same FAQ."""
    parts = ["# Contributor FAQ, exported by Convene. Import it with `convene faq import FILE`.\n"]
    for entry in await all_entries(session):
        lines = [
            "[[entry]]",
            f"id = {_basic_string(entry.id)}",
            f"question = {_basic_string(entry.question)}",
            f"answer = {_toml_text(entry.answer)}",
            f"tags = {_toml_list(entry.tag_list, one_per_line=False)}",
        ]
        examples = await examples_of(session, entry.id)
        if examples:
            lines.append(f"examples = {_toml_list(examples, one_per_line=True)}")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)
