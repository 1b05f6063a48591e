"""Every calendar file under tests/data imports with the occurrences recurring-ical-events
reads from it (from yaml2ics's conversion, for YAML), or is refused with a message naming the
event and what is wrong; never a traceback.

Occurrences are compared over two windows of two years: from a fixed "now" (the calendars as a
community would import them today) and from just before the file's first event (the history,
so that every RDATE, EXDATE and override is exercised, not only the series still running).
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from tests.support.calendars import (
    TWO_YEARS,
    Moment,
    Store,
    expected,
    first_start,
    import_file,
    is_yaml,
    reference_calendar,
    stored,
)

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
FILES = sorted(path for path in DATA.rglob("*") if path.suffix.lower() in (".ics", ".yaml", ".yml"))
EVENT_LINE = re.compile(r"^(?:[\w./-]+: )?event \d+(?: '.*'| \".*\"| \(UID '.*'\))?: \S.*")
FILE_LINE = re.compile(
    r"^(?:[\w./-]+: )?(?:not a valid iCalendar file|not valid YAML|the YAML|include|"
    r"timezone|expected a mapping|not UTF-8|the file is)"
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "template.db"
    Store(path)
    return path


def imported(path: Path, store: Store, now: datetime) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = import_file(path, store, out, err, now=now)
    return code, out.getvalue(), err.getvalue()


def windows(path: Path) -> list[datetime]:
    try:
        first = first_start(reference_calendar(path))
    except Exception:
        first = None
    found = [NOW]
    if first is not None and first.year >= 1971 and first < NOW:
        found.append(first - timedelta(days=1))
    return found


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(DATA)) for p in FILES])
def test_imports_as_recurring_ical_events_reads_it_or_says_why_not(
    path: Path, template: Path, tmp_path: Path
) -> None:
    for now in windows(path):
        store = Store(tmp_path / f"{now:%Y%m%d}.db", template)
        code, out, err = imported(path, store, now)
        assert "Traceback" not in out + err
        ours = "convene" in path.relative_to(DATA).parts
        assert code == 0 or not ours, err
        if code != 0:
            assert code == 1 and err.startswith("convene: nothing was imported from "), err
            problems = err.splitlines()[1:]
            problems = [line for line in problems if not line.startswith("(--skip-invalid")]
            assert problems
            for line in problems:
                assert EVENT_LINE.match(line) or FILE_LINE.match(line), line
            return
        try:
            reference = expected(reference_calendar(path), now, now + TWO_YEARS)
        except Exception:
            assert not ours, "our own files are valid yaml2ics"
            continue  # the reference reader cannot read this file; importing it is a bonus

        async def ours(session: AsyncSession, after: datetime = now) -> list[Moment]:
            return await stored(session, after, after + TWO_YEARS)

        assert store.run(ours) == reference, f"window from {now:%Y-%m-%d}"


def test_the_corpus_is_all_there() -> None:
    """The regression corpus the issue was measured on: 289 files of other people's, ours too."""
    assert len([p for p in FILES if "convene" not in p.parts]) == 289
    assert any(is_yaml(p) for p in FILES)
