"""FAQ matcher quality and speed: `python -m benchmarks.faq --faq FILE --questions FILE`.

Runs the bot's own matcher (`cogs.faq.matcher.Matcher`, built from the FAQ file alone, as a fresh
store holds it: no taught examples beyond what the file has) on labelled chat questions, JSON
lines `{"q": ..., "expected": entry id | null}`. Scoring follows the FAQ evaluation script: a
question counts as answered only when the verdict is "answer" (a "did you mean" list is not an
answer), and a null-labelled question is handled correctly when the bot does not answer it.

Prints the figures, then as its last line one JSON object: top1, abstain_precision,
abstain_recall, overall (fractions), latency_median_ms, latency_p99_ms, cold_start_s.

`--cv K` also estimates how the answer threshold generalises: over repeated stratified K-fold
splits it picks the threshold on K-1 folds and scores the held-out fold with it.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cogs.faq.matcher import ANSWER_MIN, Candidate, FaqDoc, Matcher, doc_from_mapping

WARMUP_QUESTION = "hello, is this the right place to ask about contributing?"
THRESHOLDS = [t / 100 for t in range(5, 61)]
REPEATS = 10

# Timed in a fresh interpreter, so module import and index build are paid as on a bot start.
COLD_START = """
import sys, time
t0 = time.perf_counter()
from benchmarks.faq import load_faq
from cogs.faq.matcher import Matcher
Matcher(load_faq(sys.argv[1])).match("how do I get started?")
print(time.perf_counter() - t0)
"""


@dataclass(frozen=True)
class Labelled:
    question: str
    expected: str | None


def load_faq(path: str | Path) -> list[FaqDoc]:
    with open(path, "rb") as fh:
        return [doc_from_mapping(entry) for entry in tomllib.load(fh).get("entry", [])]


def load_questions(path: str | Path) -> list[Labelled]:
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [Labelled(row["q"], row["expected"]) for row in rows]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest rank, as the FAQ evaluation script computes it."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def figures(items: Sequence[Labelled], predictions: Sequence[str | None]) -> dict[str, float]:
    pairs = list(zip(items, predictions, strict=True))
    answerable = [(it, p) for it, p in pairs if it.expected is not None]
    off_topic = [p for it, p in pairs if it.expected is None]
    abstained = sum(p is None for p in predictions)
    right_abstentions = sum(p is None for p in off_topic)
    right = sum(p == it.expected for it, p in pairs)
    return {
        "top1": sum(p == it.expected for it, p in answerable) / len(answerable)
        if answerable
        else math.nan,
        "abstain_precision": right_abstentions / abstained if abstained else math.nan,
        "abstain_recall": right_abstentions / len(off_topic) if off_topic else math.nan,
        "overall": right / len(pairs) if pairs else math.nan,
    }


def predict(ranked: Sequence[Candidate], threshold: float) -> str | None:
    return ranked[0].id if ranked and ranked[0].score >= threshold else None


def best_threshold(items: Sequence[Labelled], ranked: Sequence[Sequence[Candidate]]) -> float:
    """The middle of the widest-scoring run of thresholds, so a tie does not hug an edge."""
    accuracy = [figures(items, [predict(r, t) for r in ranked])["overall"] for t in THRESHOLDS]
    top = max(accuracy)
    winners = [t for t, a in zip(THRESHOLDS, accuracy, strict=True) if a == top]
    return winners[len(winners) // 2]


def cross_validate(
    items: Sequence[Labelled], ranked: Sequence[Sequence[Candidate]], folds: int
) -> tuple[dict[str, float], list[float]]:
    """Pooled held-out-fold figures over stratified splits, and the thresholds chosen."""
    pooled_items: list[Labelled] = []
    pooled_predictions: list[str | None] = []
    chosen: list[float] = []
    answerable = [i for i, it in enumerate(items) if it.expected is not None]
    off_topic = [i for i, it in enumerate(items) if it.expected is None]
    for repeat in range(REPEATS):
        rng = random.Random(repeat)
        rng.shuffle(answerable)
        rng.shuffle(off_topic)
        for fold in range(folds):
            test = set(answerable[fold::folds] + off_topic[fold::folds])
            train = [i for i in range(len(items)) if i not in test]
            threshold = best_threshold([items[i] for i in train], [ranked[i] for i in train])
            chosen.append(threshold)
            for i in sorted(test):
                pooled_items.append(items[i])
                pooled_predictions.append(predict(ranked[i], threshold))
    return figures(pooled_items, pooled_predictions), chosen


def cold_start(faq: Path) -> float:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", COLD_START, str(faq)],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip())


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faq", type=Path, required=True, help="FAQ TOML with [[entry]] tables")
    parser.add_argument("--questions", type=Path, required=True, help="labelled JSON lines")
    parser.add_argument("--cv", type=int, default=0, metavar="K", help="also K-fold estimate")
    parser.add_argument("--errors", action="store_true", help="list the questions it got wrong")
    args = parser.parse_args(argv)

    startup = cold_start(args.faq)
    matcher = Matcher(load_faq(args.faq))
    items = load_questions(args.questions)
    matcher.match(WARMUP_QUESTION)
    predictions: list[str | None] = []
    latencies: list[float] = []
    for item in items:
        start = time.perf_counter()
        result = matcher.match(item.question)
        latencies.append((time.perf_counter() - start) * 1000)
        predictions.append(result.best[0].id if result.verdict == "answer" else None)

    report = figures(items, predictions)
    report |= {
        "latency_median_ms": statistics.median(latencies),
        "latency_p99_ms": percentile(latencies, 99),
        "cold_start_s": startup,
    }
    n_off = sum(it.expected is None for it in items)
    print(f"questions        {len(items)} ({len(items) - n_off} answerable, {n_off} off-topic)")
    print(f"top-1 accuracy   {report['top1']:.1%} of answerable")
    print(
        f"abstention       precision {report['abstain_precision']:.1%}, "
        f"recall {report['abstain_recall']:.1%}"
    )
    print(f"overall          {report['overall']:.1%}")
    print(
        f"latency          median {report['latency_median_ms']:.2f} ms, "
        f"p99 {report['latency_p99_ms']:.2f} ms per question"
    )
    print(f"cold start       {report['cold_start_s']:.3f} s (import + index build + first match)")
    if args.errors:
        for item, got in zip(items, predictions, strict=True):
            if got != item.expected:
                print(f"  wrong: expected {item.expected}, got {got}: {item.question}")
    if args.cv:
        ranked = [matcher.scores(item.question) for item in items]
        estimate, chosen = cross_validate(items, ranked, args.cv)
        print(
            f"{args.cv}-fold CV x{REPEATS}  overall {estimate['overall']:.1%}, "
            f"top-1 {estimate['top1']:.1%}, abstention precision "
            f"{estimate['abstain_precision']:.1%} recall {estimate['abstain_recall']:.1%}; "
            f"fold thresholds {min(chosen):.2f}-{max(chosen):.2f} "
            f"(all questions: {best_threshold(items, ranked):.2f}, configured {ANSWER_MIN:.2f})"
        )
    print(json.dumps({key: round(value, 4) for key, value in report.items()}))
    return report


if __name__ == "__main__":
    main()
