"""Other people's calendars through `convene events import`: `python -m benchmarks.import_corpus
[--verbose] [DIR …]` (default: every source under tests/data).

Each file goes through the real CLI entry into its own empty SQLite store, as a new user would
run it. Then, for a file that imported, its occurrences over the next two years are compared
with what recurring-ical-events reads from the file itself (for YAML: from yaml2ics's own
conversion of it, read the same way). Every file lands in one of four classes: imported with the
same occurrences, imported with different ones, refused with a message, or a traceback. Prints
the counts per source and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import shutil
import tempfile
import traceback
import warnings
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import yaml2ics
from sqlmodel import select

from bot.__main__ import main
from bot.db import make_engine, make_sessions
from bot.schema import upgrade
from cogs.events import service
from cogs.events.models import Event

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
YAML_SUFFIXES = (".yaml", ".yml")
HORIZON = timedelta(days=731)
DEFAULT_ZONE = ZoneInfo("UTC")

Moment = datetime | date


def corpus(roots: list[Path]) -> list[Path]:
    return sorted(
        path
        for root in roots
        for path in root.rglob("*")
        if path.suffix.lower() in (".ics", *YAML_SUFFIXES)
    )


def _moment(value: Moment, all_day: bool) -> Moment:
    """What an occurrence is, comparably: its day when all-day, else its instant in UTC."""
    if all_day or not isinstance(value, datetime):
        return value.date() if isinstance(value, datetime) else value
    if value.tzinfo is None:
        value = value.replace(tzinfo=DEFAULT_ZONE)
    return value.astimezone(UTC)


def expected(path: Path, now: datetime) -> list[Moment]:
    """Occurrences after *now* for two years, as recurring-ical-events reads the file."""
    if path.suffix.lower() in YAML_SUFFIXES:
        text = yaml2ics.files_to_calendar([str(path)]).serialize()
        calendar = icalendar.Calendar.from_ical(text)
    else:
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for vevent in recurring_ical_events.of(calendar).between(now, now + HORIZON):
            start = vevent.decoded("DTSTART")
            moment = _moment(start, not isinstance(start, datetime))
            if moment <= (now if isinstance(moment, datetime) else now.date()):
                continue
            if str(vevent.get("STATUS", "")).upper() == "CANCELLED":
                continue
            found.append(moment)
    return sorted(found, key=_key)


def _key(moment: Moment) -> tuple[date, datetime]:
    if isinstance(moment, datetime):
        return moment.date(), moment
    return moment, datetime.combine(moment, datetime.min.time(), UTC)


async def imported(url: str, now: datetime) -> list[Moment]:
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as session:
            found: list[Moment] = []
            for event in (await session.exec(select(Event))).all():
                changes = await service.changes_of(session, event.id or 0)
                all_day = bool(getattr(event, "all_day", False))
                zone = service.zone_of(event)
                for occurrence in service.expand(event, changes, after=now, before=now + HORIZON):
                    start = occurrence.start
                    found.append(start.astimezone(zone).date() if all_day else start)
            return sorted(found, key=_key)
    finally:
        await engine.dispose()


def classify(path: Path, template: Path, workdir: Path, now: datetime) -> tuple[str, str]:
    store = workdir / "events.db"
    shutil.copy(template, store)
    config = workdir / "convene.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{store}"\n[bot]\ntimezone = "UTC"\n')
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["events", "import", str(path), "-c", str(config)])
    except BaseException:
        return "traceback", traceback.format_exc(limit=-3)
    if "Traceback" in err.getvalue():
        return "traceback", err.getvalue()
    if code != 0:
        return "refused", err.getvalue().strip()
    try:
        wanted = expected(path, now)
    except Exception as exc:
        return "imported (no reference)", f"the reference reader fails: {exc!r}"
    got = asyncio.run(imported(f"sqlite+aiosqlite:///{store}", now))
    if got == wanted:
        return "imported, same occurrences", out.getvalue().strip()
    missing = [m for m in wanted if m not in got][:3]
    extra = [m for m in got if m not in wanted][:3]
    return "imported, different occurrences", f"missing {missing}, extra {extra}"


async def _template(path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


def run(roots: list[Path], verbose: bool) -> dict[str, object]:
    now = datetime.now(UTC).replace(microsecond=0)
    totals: Counter[str] = Counter()
    per_source: dict[str, Counter[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"
        asyncio.run(_template(template))
        for path in corpus(roots):
            source = path.relative_to(DATA).parts[0] if path.is_relative_to(DATA) else "other"
            outcome, detail = classify(path, template, Path(tmp), now)
            totals[outcome] += 1
            per_source.setdefault(source, Counter())[outcome] += 1
            if verbose:
                print(f"{outcome}: {path}\n    " + detail.replace("\n", "\n    "))
    for source, counts in sorted(per_source.items()):
        print(f"{source}: " + ", ".join(f"{n} {what}" for what, n in sorted(counts.items())))
    print(f"all {sum(totals.values())} files: " + ", ".join(f"{n} {w}" for w, n in totals.items()))
    return {"files": sum(totals.values()), **dict(totals)}


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("roots", nargs="*", type=Path, default=[DATA])
    parser.add_argument("--verbose", action="store_true", help="each file's outcome and message")
    args = parser.parse_args()
    print(json.dumps(run(args.roots, args.verbose)))


if __name__ == "__main__":
    cli()
