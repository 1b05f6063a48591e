"""How the bot handles hostile and clumsy input, command by command.

    python -m benchmarks.hostile [--limit-seconds 10] [--only "event create"]

A fixed corpus, built from each command's spec by `tests/support/hostile.py` (`corpus_lines`:
every hostile class in every option, number boundaries, over-long text, junk), is typed into an
in-process bot on SQLite as someone allowed to run the command, one input after another on a
copy of one seeded store per command, so later inputs of a command meet what earlier ones
stored. Each input lands in one class:

- refused: a clear refusal, and the store is unchanged;
- accepted: done, and nothing sent leaks markup or pings;
- changed: refused, yet the store changed;
- leaked: user markup or a ping in the reply or in what was planned into the outbox;
- internal: the apology with an error id, or something logged at ERROR;
- traceback: an exception escaped the router;
- stalled: the answer took more than 2 s (an input is cut off after --limit-seconds).

Then the whole corpus runs once more on one shared store, and every command's example after it
("bystanders"), as people whose zone is Pacific/Kiritimati (UTC+14), to see whether what the
corpus stored broke a command for others. Prints a table per command and the totals.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from types import FrameType

from bot.core.context import Role
from bot.core.reply import Reply
from bot.core.spec import CommandSpec
from bot.db import make_engine, make_sessions
from bot.schema import upgrade
from tests.support.clock import Clock
from tests.support.hostile import (
    NOW,
    Checker,
    caller,
    corpus_lines,
    seed,
    settings,
)
from tests.support.house import (
    build_announcer,
    build_bot,
    build_escalator,
    build_personal_reminders,
)

STALL = 2.0
CLASSES = ("refused", "accepted", "changed", "leaked", "internal", "traceback", "stalled")


class Stalled(BaseException):
    """Raised by the alarm inside a command that holds the event loop too long."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Stalled


async def classify(checker: Checker, role: Role, line: str, limit: float) -> tuple[str, str]:
    """The class of one input and a short note on why."""
    who = caller(role, "matrix")
    started = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        outcome = await checker.run(who, [line], lambda: checker.bot.handle_text(who, line))
    except Stalled:
        return "stalled", f"cut off after {limit:.0f} s"
    except Exception as exc:
        return "traceback", f"{type(exc).__name__}: {exc}"[:200]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    elapsed = time.perf_counter() - started
    problems = outcome.problems
    if elapsed > STALL:
        return "stalled", f"{elapsed:.1f} s"
    internal = [p for p in problems if "internal error" in p or p.startswith("logged")]
    if internal:
        return "internal", internal[0][:200]
    leaks = [p for p in problems if not p.startswith("refused, yet")]
    if leaks:
        return "leaked", leaks[0][:200]
    if outcome.refused:
        return ("changed", problems[0]) if problems else ("refused", _first_line(outcome.reply))
    return "accepted", _first_line(outcome.reply)


def _first_line(reply: Reply) -> str:
    return (reply.title or reply.text).split("\n", 1)[0][:120]


def table(counts: dict[str, Counter[str]]) -> str:
    width = max(len(name) for name in counts) + 2
    head = f"{'command':<{width}}{'inputs':>7}" + "".join(f"{c:>10}" for c in CLASSES)
    lines = [head, "-" * len(head)]
    total: Counter[str] = Counter()
    for name, counter in counts.items():
        total.update(counter)
        cells = "".join(f"{counter[c]:>10}" for c in CLASSES)
        lines.append(f"{name:<{width}}{sum(counter.values()):>7}{cells}")
    lines.append("-" * len(head))
    cells = "".join(f"{total[c]:>10}" for c in CLASSES)
    lines.append(f"{'total':<{width}}{sum(total.values()):>7}{cells}")
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def seeded(template: Path, name: str) -> AsyncIterator[Checker]:
    """A bot over a copy of the seeded store *template*."""
    path = template.with_name(f"{name}.db")
    shutil.copyfile(template, path)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    bot = build_bot(make_sessions(engine), settings(), clock=Clock(NOW))
    planners = [
        build_announcer(bot).plan,
        build_personal_reminders(bot).plan,
        build_escalator(bot).plan,
    ]
    try:
        yield Checker(bot, planners)
    finally:
        await engine.dispose()


async def corpus(
    checker: Checker, spec: CommandSpec, per_class: int, limit: float, verbose: bool
) -> tuple[Counter[str], list[str]]:
    counter: Counter[str] = Counter()
    bad: list[str] = []
    for kind, line in corpus_lines(spec, per_class):
        outcome, note = await classify(checker, spec.role, line, limit)
        counter[outcome] += 1
        if outcome not in ("refused", "accepted"):
            bad.append(f"{outcome:9} {kind:9} {line[:300]!r}\n          {note}")
        elif verbose:
            print(f"{outcome:9} {kind:9} {line[:90]!r}: {note}", file=sys.stderr)
    return counter, bad


async def main(limit: float, only: str | None, verbose: bool, per_class: int) -> None:
    signal.signal(signal.SIGALRM, _alarm)
    with tempfile.TemporaryDirectory() as workdir:
        template = Path(workdir) / "seeded.db"
        engine = make_engine(f"sqlite+aiosqlite:///{template}")
        await upgrade(engine)
        bot = build_bot(make_sessions(engine), settings(), clock=Clock(NOW))
        await seed(bot)
        await engine.dispose()
        specs = [spec for spec in bot.specs if only is None or spec.name == only]
        counts: dict[str, Counter[str]] = {}
        bad: list[str] = []
        for spec in specs:
            async with seeded(template, "one") as checker:
                counts[spec.name], found = await corpus(checker, spec, per_class, limit, verbose)
            bad += found
        async with seeded(template, "shared") as checker:
            for spec in specs:
                await corpus(checker, spec, per_class, limit, verbose=False)
            for role in Role:
                await checker.bot.handle_text(caller(role, "matrix"), "tz set Pacific/Kiritimati")
            bystanders: Counter[str] = Counter()
            for spec in specs:
                for role in Role:
                    outcome, note = await classify(
                        checker, max(role, spec.role), spec.example, limit
                    )
                    bystanders[outcome] += 1
                    if outcome not in ("refused", "accepted"):
                        bad.append(f"{outcome:9} bystander {spec.example!r}\n          {note}")
            counts["(bystanders: examples after)"] = bystanders
    print(table(counts))
    if bad:
        print(f"\n{len(bad)} inputs not handled well:")
        print("\n".join(bad))


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--limit-seconds", type=float, default=10.0)
    parser.add_argument("--only", help="one command, e.g. 'event create'")
    parser.add_argument("--per-class", type=int, default=2, help="values of each class per option")
    parser.add_argument("--verbose", action="store_true", help="show every outcome")
    args = parser.parse_args()
    asyncio.run(main(args.limit_seconds, args.only, args.verbose, args.per_class))


if __name__ == "__main__":
    run()
