"""Other people's calendars through `convene events import`: `python -m benchmarks.import_corpus
[--verbose] [DIR …]` (default: every source under tests/data).

Each file goes through the real CLI entry into its own empty SQLite store, as a new user would
run it. Then, for a file that imported, its occurrences over the next two years are compared
with what recurring-ical-events reads from the file itself (for YAML: from yaml2ics's own
conversion of it, read the same way; see tests/support/calendars.py). Every file lands in one of four classes: imported with the
same occurrences, imported with different ones, refused with a message, or a traceback. Prints
the counts per source and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import traceback
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.__main__ import main
from tests.support.calendars import (
    TWO_YEARS,
    Moment,
    Store,
    expected,
    reference_calendar,
    stored,
)

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"


def corpus(roots: list[Path]) -> list[Path]:
    return sorted(
        path
        for root in roots
        for path in root.resolve().rglob("*")
        if path.suffix.lower() in (".ics", ".yaml", ".yml")
    )


def classify(path: Path, template: Path, workdir: Path, now: datetime) -> tuple[str, str]:
    store = Store(workdir / "events.db", template)
    config = workdir / "convene.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{store.path}"\n[bot]\ntimezone = "UTC"\n')
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
        wanted = expected(reference_calendar(path), now, now + TWO_YEARS)
    except Exception as exc:
        return "imported (no reference)", f"the reference reader fails: {exc!r}"

    async def ours(session: AsyncSession) -> list[Moment]:
        return await stored(session, now, now + TWO_YEARS)

    got = store.run(ours)
    if got == wanted:
        return "imported, same occurrences", out.getvalue().strip()
    missing = [m for m in wanted if m not in got][:3]
    extra = [m for m in got if m not in wanted][:3]
    return "imported, different occurrences", f"missing {missing}, extra {extra}"


def run(roots: list[Path], verbose: bool) -> dict[str, object]:
    now = datetime.now(UTC).replace(microsecond=0)
    totals: Counter[str] = Counter()
    per_source: dict[str, Counter[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"
        Store(template)
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
