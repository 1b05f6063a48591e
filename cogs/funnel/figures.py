"""The newcomer funnel's figures, as pure functions of what the other cogs report: cohorts by
the month people were first welcomed, the stages each cohort reached, percentiles, and the
geometry of the charts that draw them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cogs.mentoring.api import rank_offset

STAGES = ("welcomed", "asked", "mentored", "claimed")
# Read from the forges: shown once one is configured.
FORGE_STAGES = ("opened", "merged")


def months(now: datetime, count: int) -> list[date]:
    """The first days of the last *count* months, this one included, oldest first."""
    first = now.astimezone(UTC).date().replace(day=1)
    found = [first]
    while len(found) < count:
        found.append((found[-1] - timedelta(days=1)).replace(day=1))
    return found[::-1]


def month_after(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def start_of(first: date) -> datetime:
    return datetime(first.year, first.month, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cohort:
    month: date
    welcomed: int
    # People of the cohort who reached each later stage, by its name.
    reached: Mapping[str, int]

    def stage(self, name: str) -> int:
        return self.welcomed if name == "welcomed" else self.reached.get(name, 0)

    def share(self, name: str) -> float | None:
        """The part of the cohort that reached stage *name*, None for an empty cohort."""
        return self.stage(name) / self.welcomed if self.welcomed else None


def cohorts(
    first_welcomed: Mapping[int, datetime],
    reached: Mapping[str, set[int]],
    shown: Sequence[date],
) -> list[Cohort]:
    """Per month of *shown*, the people first welcomed in it and how many of them reached each
    later stage (the people in *reached*, by stage), whenever they did: a stage is counted, not
    required in order."""
    by_month: dict[date, list[int]] = {month: [] for month in shown}
    for person, at in first_welcomed.items():
        month = at.astimezone(UTC).date().replace(day=1)
        if month in by_month:
            by_month[month].append(person)
    return [
        Cohort(
            month,
            len(people),
            {name: sum(p in found for p in people) for name, found in reached.items()},
        )
        for month, people in by_month.items()
    ]


def percentile(values: Sequence[timedelta], percent: int) -> timedelta | None:
    """Nearest-rank, as the mentor figures are computed in the store."""
    if not values:
        return None
    return sorted(values)[rank_offset(len(values), percent)]


def by_month(instants: Iterable[tuple[datetime, timedelta]]) -> dict[date, list[timedelta]]:
    found: dict[date, list[timedelta]] = {}
    for at, length in instants:
        found.setdefault(at.astimezone(UTC).date().replace(day=1), []).append(length)
    return found


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str


@dataclass(frozen=True)
class Chart:
    """A bar chart as SVG coordinates: the template draws it, the numbers stay text."""

    width: int
    height: int
    bars: list[Bar]
    # Groups of bars, each with its label under it: (x of its middle, label).
    ticks: list[tuple[float, str]]
    top: str


CHART_WIDTH = 720
CHART_HEIGHT = 220
BASELINE = 190
PLOT_TOP = 20
LEFT = 40


def bar_chart(
    groups: Sequence[tuple[str, Sequence[tuple[str, float, str]]]], top_label: str = ""
) -> Chart:
    """Bars in groups (a month, with a bar per stage or one figure), scaled to the largest
    value; each bar is (its name, its value, the value as written)."""
    largest = max((value for _, bars in groups for _, value, _ in bars), default=0.0) or 1.0
    slot = (CHART_WIDTH - LEFT) / max(len(groups), 1)
    bars: list[Bar] = []
    ticks: list[tuple[float, str]] = []
    for index, (label, members) in enumerate(groups):
        left = LEFT + index * slot + slot * 0.1
        width = slot * 0.8 / max(len(members), 1)
        for position, (name, value, written) in enumerate(members):
            height = (BASELINE - PLOT_TOP) * value / largest
            bars.append(
                Bar(
                    round(left + position * width, 1),
                    round(BASELINE - height, 1),
                    round(width * 0.9, 1),
                    round(height, 1),
                    f"{label} {name}".strip(),
                    written,
                )
            )
        ticks.append((round(LEFT + index * slot + slot / 2, 1), label))
    return Chart(CHART_WIDTH, CHART_HEIGHT, bars, ticks, top_label)
