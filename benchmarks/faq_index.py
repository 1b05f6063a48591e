"""How long the FAQ matcher takes to index a large FAQ: `python -m benchmarks.faq_index`.

Builds `cogs.faq.matcher.Matcher` over *copies* renamed copies of every entry of an FAQ file
(examples/faq.toml by default) and answers one question, as a bot start with a large FAQ would.
Prints the figures and, last, one JSON line. The unit tests only check that such an index answers;
the time is this benchmark's to report.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

from benchmarks.faq import load_faq
from cogs.faq.matcher import FaqDoc, Matcher

EXAMPLE_FAQ = Path(__file__).resolve().parent.parent / "examples" / "faq.toml"
QUESTION = "how do I run the tests?"


def large_faq(faq: Path, copies: int) -> list[FaqDoc]:
    entries = load_faq(faq)
    return [
        dataclasses.replace(doc, id=f"{doc.id}-{n}", question=f"{doc.question} variant {n}")
        for n in range(copies)
        for doc in entries
    ]


def measure(faq: Path, copies: int, runs: int) -> dict[str, float]:
    docs = large_faq(faq, copies)
    samples: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        Matcher(docs).match(QUESTION)
        samples.append(time.perf_counter() - started)
    return {
        "entries": len(docs),
        "build_and_match_median_s": round(statistics.median(samples), 3),
        "build_and_match_max_s": round(max(samples), 3),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faq", type=Path, default=EXAMPLE_FAQ, help="FAQ TOML to copy")
    parser.add_argument("--copies", type=int, default=10, help="copies of every entry")
    parser.add_argument("--runs", type=int, default=5, help="builds to time")
    args = parser.parse_args()
    figures = measure(args.faq, args.copies, args.runs)
    print(
        f"{figures['entries']:.0f} entries: index and first match in "
        f"{figures['build_and_match_median_s']} s median, {figures['build_and_match_max_s']} s max"
    )
    print(json.dumps(figures))
