"""The FAQ as a TOML file of `[[entry]]` tables: read and checked whole, imported, exported."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import tomli_w
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from cogs.faq.entries import EntryData, all_entries, bump, entry_problems, examples_of
from cogs.faq.models import FaqEntry, FaqExample

_FIELDS = ("id", "question", "answer", "tags", "examples")
_REQUIRED = ("id", "question", "answer", "tags")
_HEADER = re.compile(r"^\s*\[\[\s*entry\s*\]\]")
_TOML_LINE = re.compile(r"at line (\d+)")
_EXPORT_COMMENT = (
    "# Contributor FAQ, exported by Convene. Import it with `convene faq import FILE`.\n"
)


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
    document = _load(text, source, headers)
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


def _load(text: str, source: str, headers: Sequence[int]) -> dict[str, Any]:
    """The TOML document, or an error naming the entry the syntax error is in."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = _TOML_LINE.search(str(exc))
        line = int(at.group(1)) if at else 0
        inside = [i for i, start in enumerate(headers, 1) if start <= line]
        where = f" in entry {inside[-1]} (from line {headers[inside[-1] - 1]})" if inside else ""
        raise FaqFileError(f"{source}: not valid TOML{where}: {exc}") from None


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
        await bump(session, now)
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


def _entry_toml(entry: FaqEntry, examples: Sequence[str]) -> str:
    """One `[[entry]]` table. The header is ours so that every entry starts on a line of its
    own, which is what import errors point at (tomli-w would inline a short entry). Multi-line
    strings read best, but tomli-w folds CRLF into LF in them; an entry holding a CRLF keeps
    escaped strings so that it reads back exactly."""
    table: dict[str, str | list[str]] = {
        "id": entry.id,
        "question": entry.question,
        "answer": entry.answer,
        "tags": entry.tag_list,
    }
    if examples:
        table["examples"] = list(examples)
    texts = (entry.question, entry.answer, *entry.tag_list, *examples)
    multiline = not any("\r\n" in text for text in texts)
    return "[[entry]]\n" + tomli_w.dumps(table, multiline_strings=multiline)


async def export_toml(session: AsyncSession) -> str:
    """The whole FAQ in the import format; importing it into any store gives the same FAQ."""
    parts = [_EXPORT_COMMENT]
    for entry in await all_entries(session):
        parts.append(_entry_toml(entry, await examples_of(session, entry.id)))
    return "\n".join(parts)
