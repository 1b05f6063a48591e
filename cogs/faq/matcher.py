"""Match a chat question to an FAQ entry, or decide that none fits.

Chat questions are short, misspelt, full of abbreviations ("PR", "CI", "env") and sometimes not
in English, and a wrong answer costs more than no answer. So the matcher blends two lexical views
of each entry and abstains on purpose:

* a word view, BM25F over the entry's question and taught examples, tags, and answer (weighted
  in that order of trust), after light stemming, a contributor-domain synonym map that also folds a
  few common non-English words into English, and typo correction against the FAQ vocabulary;
* a character n-gram TF-IDF view, which catches the typos and word forms the first one misses.

The word score is normalised by the best score the query could reach, so it reads as "how much of
what was asked does this entry explain": informative words the FAQ has never seen pull it down,
which is what makes off-topic questions abstain. Pure Python, no model to load: an index of a few
hundred entries builds in milliseconds.
"""

from __future__ import annotations

import math
import re
import unicodedata
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

__all__ = [
    "Candidate",
    "FaqDoc",
    "MatchResult",
    "Matcher",
    "doc_from_mapping",
    "looks_like_question",
    "matcher_factory",
    "normalise",
    "stem",
    "tokenize",
]


@dataclass(frozen=True)
class FaqDoc:
    id: str
    question: str
    answer: str
    tags: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidate:
    id: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    verdict: Literal["answer", "suggest", "none"]
    best: tuple[Candidate, ...]


# --- Thresholds -------------------------------------------------------------------------------
# Scores are in [0, 1]. On the development questions, accuracy is within a point of its best for
# an answer threshold anywhere in 0.20-0.27 (`python -m benchmarks.faq --cv 5` shows the
# per-fold choices); 0.25 sits inside that range on the abstaining side, because answering an
# off-topic question does more harm than a "did you mean". Auto-answer is stricter still: nobody
# asked the bot, so it needs about 98% precision on question-like messages.
ANSWER_MIN = 0.25
SUGGEST_MIN = 0.12
AUTO_MIN = 0.40
AUTO_MARGIN = 0.05

# Blend of the two views and BM25F parameters.
WORD_WEIGHT = 0.4
FIELD_WEIGHTS: Mapping[str, float] = {"question": 3.0, "examples": 3.0, "tags": 2.5, "answer": 1.0}
K1 = 1.2
B = 0.6
# Weight of a query word the FAQ has never seen, relative to the rarest known word.
UNKNOWN_WEIGHT = 0.6
NGRAM_SIZES = (3, 4, 5)
CHAR_ANSWER_WEIGHT = 0.3

_WORD_RE = re.compile(r"[a-z0-9]+")
_EXCEPTION_RE = re.compile(r"\b[A-Z][A-Za-z]*?(?:Error|Exception|Warning)\b")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")


def normalise(text: str) -> str:
    """Lower-case and strip accents so "Licença" and "licenca" are one word, drop apostrophes
    so "what's" and "whats" are too, and split pasted exception names ("ImportError") into the
    words the FAQ uses (but not names like "GitHub")."""
    text = _EXCEPTION_RE.sub(lambda m: _CAMEL_RE.sub(" ", m.group()), text)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.lower().replace("'", "").replace("\u2019", "")


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(normalise(text))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix stripper: enough to join plurals, verb forms and a few derivations
    ("disagreement", "maintainer", "documentation"), cautious enough to leave short chat words
    alone."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith(("ss", "us", "is")):
        return word
    for suffix, repl, keep in _SUFFIXES:
        if not word.endswith(suffix):
            continue
        base = word[: len(word) - len(suffix)]
        if suffix == "es" and not base.endswith(("sh", "ch", "x", "ss", "z")):
            continue
        if len(base) < keep:
            continue
        if suffix in ("ing", "ed", "er", "ers") and base[-1] == base[-2] not in "lsz":
            base = base[:-1]
        word = base + repl
        break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


# (suffix, replacement, shortest base to keep): first match wins, at most one is stripped.
_SUFFIXES = (
    ("ations", "", 4),
    ("ation", "", 4),
    ("ments", "", 5),
    ("ment", "", 5),
    ("ies", "y", 3),
    ("sses", "ss", 3),
    ("ing", "", 3),
    ("ers", "", 4),
    ("er", "", 4),
    ("ed", "", 3),
    ("ly", "", 4),
    ("es", "", 4),
    ("s", "", 3),
)


# --- Vocabulary -------------------------------------------------------------------------------
# Word lists live in data files beside this module (cogs/faq/data), so that they can be read and
# extended without touching the matcher; they are read once, when the module is imported.


def _data_lines(name: str) -> list[str]:
    """The lines of a vocabulary file, without blanks and `#` comments."""
    text = (resources.files("cogs.faq") / "data" / name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _word_set(name: str) -> frozenset[str]:
    return frozenset(word for line in _data_lines(name) for word in line.split())


def _parse_synonyms(lines: Iterable[str]) -> dict[tuple[str, ...], tuple[str, ...]]:
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    for line in lines:
        key, _, value = line.partition("=")
        table[tuple(stem(w) for w in _words(key))] = tuple(_words(value))
    return table


_STOPWORDS = _word_set("stopwords.txt")
_QUESTION_OPENERS = _word_set("question_openers.txt")
_SYNONYM_LINES = _data_lines("synonyms.txt")
_SYNONYMS = _parse_synonyms(_SYNONYM_LINES)
_SYNONYM_MAX = max(len(key) for key in _SYNONYMS)
_SYNONYM_WORDS = frozenset(w for line in _SYNONYM_LINES for w in _words(line.replace("=", " ")))


def _canonical(stems: Sequence[str], words: Sequence[str]) -> list[str]:
    """Replace synonym phrases (longest first) and return surface words, stopwords dropped."""
    out: list[str] = []
    i = 0
    while i < len(stems):
        for n in range(min(_SYNONYM_MAX, len(stems) - i), 0, -1):
            repl = _SYNONYMS.get(tuple(stems[i : i + n]))
            if repl is not None:
                out.extend(repl)
                i += n
                break
        else:
            out.append(words[i])
            i += 1
    return [w for w in out if w not in _STOPWORDS]


def tokenize(text: str) -> list[str]:
    """Stemmed, synonym-folded content words of `text`, in order."""
    words = _words(text)
    return [stem(w) for w in _canonical([stem(w) for w in words], words)]


def looks_like_question(text: str) -> bool:
    """Whether a chat message asks something, so auto-answer leaves statements alone."""
    stripped = text.strip()
    if not stripped:
        return False
    if "?" in stripped or stripped.startswith("\u00bf"):
        return True
    words = _words(stripped)
    return bool(words) and words[0] in _QUESTION_OPENERS


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class _Speller:
    """Corrects a word to a known one at edit distance one (insertion, deletion, substitution or
    adjacent swap), using the symmetric-delete trick so a lookup costs a few dict probes.

    Short words are left alone: at four letters and under, one edit turns most English words
    into another word ("rows" into "owns"), and a wrong correction is worse than none."""

    MIN_LENGTH = 5

    def __init__(self, vocabulary: Iterable[str], also_known: Iterable[str]) -> None:
        self._known: set[str] = set(also_known)
        self._by_delete: dict[str, set[str]] = defaultdict(set)
        self._frequency: Counter[str] = Counter()
        for word in vocabulary:
            self._frequency[word] += 1
            if len(word) < self.MIN_LENGTH - 1 or not word.isalpha():
                continue
            self._known.add(word)
            for variant in _deletes(word):
                self._by_delete[variant].add(word)

    def correct(self, word: str) -> str:
        if word in self._known or len(word) < self.MIN_LENGTH or not word.isalpha():
            return word
        variants = _deletes(word)
        found: set[str] = set()
        for variant in variants:
            found |= self._by_delete.get(variant, set())
        if len(word) > self.MIN_LENGTH:
            # A letter missing or one too many: only for longer words, where it is a typo
            # rather than a different word ("model" is not "mode").
            found |= self._by_delete.get(word, set())
            found |= variants & self._known
        if not found:
            return word
        return max(sorted(found), key=lambda w: self._frequency[w])


def _ngrams(words: Iterable[str]) -> Counter[str]:
    grams: Counter[str] = Counter()
    for word in words:
        padded = f" {word} "
        for n in NGRAM_SIZES:
            for i in range(len(padded) - n + 1):
                grams[padded[i : i + n]] += 1
    return grams


class _Postings:
    """The entries a term occurs in, with its weight in each, as two flat arrays.

    An index of thousands of entries holds millions of postings; as (entry, weight) tuples each
    would be an object the garbage collector scans, again and again while the index is built,
    holding up every thread. Arrays of numbers are not scanned at all."""

    __slots__ = ("entries", "weights")

    def __init__(self) -> None:
        self.entries = array("l")
        self.weights = array("d")

    def add(self, entry: int, weight: float) -> None:
        self.entries.append(entry)
        self.weights.append(weight)

    def __iter__(self) -> Iterator[tuple[int, float]]:
        return zip(self.entries, self.weights, strict=True)


_NO_POSTINGS = _Postings()


class Matcher:
    """An immutable index over a set of FAQ entries; rebuild it when the entries change (it
    takes milliseconds)."""

    def __init__(self, docs: Sequence[FaqDoc]) -> None:
        self._ids = [doc.id for doc in docs]
        fields = [
            (
                ("question", [doc.question]),
                ("examples", list(doc.examples)),
                ("tags", list(doc.tags)),
                ("answer", [doc.answer]),
            )
            for doc in docs
        ]
        self._speller = _Speller(
            [w for doc in fields for _, texts in doc for t in texts for w in _words(t)]
            + sorted(_SYNONYM_WORDS),
            _STOPWORDS,
        )
        self._index_words(fields)
        self._index_grams(docs)

    def _index_words(self, fields: Sequence[Sequence[tuple[str, list[str]]]]) -> None:
        """BM25F: field-weighted term counts, then one BM25 saturation over their sum."""
        counts: list[dict[str, float]] = []
        lengths: list[float] = []
        for doc in fields:
            terms: dict[str, float] = defaultdict(float)
            length = 0.0
            for name, texts in doc:
                for text in texts:
                    tokens = tokenize(text)
                    for token in tokens:
                        terms[token] += FIELD_WEIGHTS[name]
                    length += FIELD_WEIGHTS[name] * len(tokens)
            counts.append(terms)
            lengths.append(length)
        n = len(counts)
        total = sum(lengths)
        average = total / n if total else 1.0
        df = Counter(term for terms in counts for term in terms)
        self._idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self._unknown_idf = UNKNOWN_WEIGHT * math.log(1 + (n + 0.5) / 0.5)
        self._postings: dict[str, _Postings] = defaultdict(_Postings)
        for i, (terms, length) in enumerate(zip(counts, lengths, strict=True)):
            norm = K1 * (1 - B + B * length / average)
            for term, tf in terms.items():
                self._postings[term].add(i, tf * (K1 + 1) / (tf + norm))

    def _index_grams(self, docs: Sequence[FaqDoc]) -> None:
        """Character n-gram TF-IDF of the short fields, with the answer as a weaker second
        vector: the answer's wording helps, but its length would drown the question's."""
        keys = [_ngrams(self._surface(" ".join([d.question, *d.tags, *d.examples]))) for d in docs]
        answers = [_ngrams(self._surface(d.answer)) for d in docs]
        df: Counter[str] = Counter()
        for grams in keys + answers:
            df.update(grams.keys())
        n = 2 * len(docs)
        self._gram_idf = {g: math.log((n + 1) / (f + 1)) + 1 for g, f in df.items()}
        self._gram_postings: dict[str, _Postings] = defaultdict(_Postings)
        for i, (key, answer) in enumerate(zip(keys, answers, strict=True)):
            key_vec = self._unit_vector(key)
            answer_vec = self._unit_vector(answer)
            for gram in key_vec.keys() | answer_vec.keys():
                weight = (1 - CHAR_ANSWER_WEIGHT) * key_vec.get(gram, 0.0)
                weight += CHAR_ANSWER_WEIGHT * answer_vec.get(gram, 0.0)
                self._gram_postings[gram].add(i, weight)

    def _surface(self, text: str) -> list[str]:
        words = [self._speller.correct(w) for w in _words(text)]
        return _canonical([stem(w) for w in words], words)

    def _unit_vector(self, grams: Counter[str]) -> dict[str, float]:
        vec = {g: (1 + math.log(c)) * self._gram_idf.get(g, 0.0) for g, c in grams.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {g: v / norm for g, v in vec.items()}

    def _views(self, question: str) -> tuple[list[float], list[float]]:
        """Per entry: the share of the question's word weight it explains, and the cosine of
        the character n-grams."""
        surface = self._surface(question)
        n = len(self._ids)
        word = [0.0] * n
        reach = 0.0
        for term in {stem(w) for w in surface}:
            idf = self._idf.get(term, self._unknown_idf)
            reach += idf * (K1 + 1)
            for i, weight in self._postings.get(term, _NO_POSTINGS):
                word[i] += idf * weight
        char = [0.0] * n
        for gram, weight in self._unit_vector(_ngrams(surface)).items():
            for i, doc_weight in self._gram_postings.get(gram, _NO_POSTINGS):
                char[i] += weight * doc_weight
        return [w / reach if reach else 0.0 for w in word], char

    def scores(self, question: str) -> list[Candidate]:
        """Every entry with its blended score in [0, 1], best first."""
        word, char = self._views(question)
        ranked = [
            Candidate(doc_id, WORD_WEIGHT * w + (1 - WORD_WEIGHT) * c)
            for doc_id, w, c in zip(self._ids, word, char, strict=True)
        ]
        ranked.sort(key=lambda c: -c.score)
        return ranked

    def match(self, question: str) -> MatchResult:
        ranked = self.scores(question)
        if not ranked or ranked[0].score < SUGGEST_MIN:
            return MatchResult("none", ())
        best = tuple(c for c in ranked[:3] if c.score >= SUGGEST_MIN)
        return MatchResult("answer" if best[0].score >= ANSWER_MIN else "suggest", best)

    def auto_answer(self, message: str) -> Candidate | None:
        """The entry to post unasked, or None. Stricter than `match`: a clear lead over the
        runner-up too, since an unsolicited wrong answer is noise in someone else's thread."""
        if not looks_like_question(message):
            return None
        ranked = self.scores(message)
        if not ranked or ranked[0].score < AUTO_MIN:
            return None
        second = ranked[1].score if len(ranked) > 1 else 0.0
        return ranked[0] if ranked[0].score - second >= AUTO_MARGIN else None


def doc_from_mapping(entry: Mapping[str, Any]) -> FaqDoc:
    """An FAQ entry as stored in faq.toml or the database."""
    return FaqDoc(
        id=str(entry["id"]),
        question=str(entry["question"]),
        answer=str(entry["answer"]),
        tags=tuple(str(t) for t in entry.get("tags", ())),
        examples=tuple(str(e) for e in entry.get("examples", ())),
    )


def matcher_factory(entries: Sequence[Mapping[str, Any]]) -> Callable[[str], str | None]:
    """Adapter for the FAQ evaluation script: returns `match(question) -> entry id | None`,
    answering only when the bot itself would answer (a "did you mean" is not an answer)."""
    matcher = Matcher([doc_from_mapping(e) for e in entries])

    def match(question: str) -> str | None:
        result = matcher.match(question)
        return result.best[0].id if result.verdict == "answer" else None

    return match
