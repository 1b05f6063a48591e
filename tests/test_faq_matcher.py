import pytest

from cogs.faq.matcher import (
    Candidate,
    FaqDoc,
    Matcher,
    MatchResult,
    doc_from_mapping,
    looks_like_question,
    matcher_factory,
    normalise,
    stem,
    tokenize,
)

DOCS = [
    FaqDoc(
        "pull-request",
        "How do I open a pull request?",
        "Push a branch to your fork and press the Compare button on GitHub.",
        ("pull request", "PR", "fork", "branch"),
    ),
    FaqDoc(
        "environment",
        "How do I set up a development environment?",
        "Create a virtual environment, then install the package in editable mode.",
        ("setup", "environment", "venv", "editable install"),
    ),
    FaqDoc(
        "meetings",
        "When are the community meetings?",
        "Every second Tuesday on video; the agenda is in the calendar.",
        ("meeting", "community call", "agenda"),
    ),
    FaqDoc(
        "license",
        "Which license does the project use?",
        "The code is under the MIT license, so commercial use is fine.",
        ("license", "licence", "commercial use", "copyright"),
    ),
    FaqDoc(
        "maintainer",
        "How do I become a maintainer?",
        "Maintainers nominate steady contributors after several months of reviews.",
        ("maintainer", "core developer", "commit rights", "nomination"),
    ),
    FaqDoc(
        "translations",
        "How can I help translate the user interface?",
        "Translations are managed on the localisation platform; join the language team there.",
        ("translation", "localisation", "i18n"),
    ),
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(DOCS)


def test_normalise_folds_case_accents_and_apostrophes() -> None:
    assert normalise("Licença ÜBER what\u2019s") == "licenca uber whats"


def test_stem_joins_inflections_but_spares_short_words() -> None:
    assert stem("maintainers") == stem("maintainer") == stem("maintaining") == stem("maintain")
    assert stem("documentation") == stem("documents")
    assert stem("bus") == "bus"
    assert stem("class") == "class"


def test_tokenize_drops_stopwords_and_expands_abbreviations() -> None:
    assert tokenize("How do I open a PR?") == tokenize("open pull request")
    assert tokenize("my env is broken") == tokenize("environment bug")
    assert tokenize("is the repo on GitHub") == ["repository", "github"]


def test_tokenize_folds_common_non_english_words() -> None:
    assert tokenize("Qual é a licença do projeto?") == tokenize("license project")


def test_exact_question_answers(matcher: Matcher) -> None:
    result = matcher.match("How do I become a maintainer?")
    assert result.verdict == "answer"
    assert result.best[0].id == "maintainer"
    assert [c.score for c in result.best] == sorted((c.score for c in result.best), reverse=True)


def test_abbreviation_matches_the_long_form(matcher: Matcher) -> None:
    result = matcher.match("how to make a PR")
    assert result.verdict == "answer"
    assert result.best[0].id == "pull-request"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how do i becom a maintaner", "maintainer"),
        ("wich licnese is it", "license"),
        ("comunity meetngs when", "meetings"),
    ],
)
def test_typos_still_match(matcher: Matcher, question: str, expected: str) -> None:
    result = matcher.match(question)
    assert result.verdict == "answer"
    assert result.best[0].id == expected


@pytest.mark.parametrize(
    "question",
    [
        "how do I bake sourdough bread",
        "what is the capital of australia",
        "recommend a good hiking trail",
        "lol",
    ],
)
def test_off_topic_abstains(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).verdict == "none"
    assert matcher.auto_answer(question + "?") is None


@pytest.mark.parametrize("question", ["", "   ", "\n\t", "?!", "the a of"])
def test_empty_or_contentless_input_has_no_match(matcher: Matcher, question: str) -> None:
    assert matcher.match(question) == MatchResult("none", ())
    assert matcher.auto_answer(question) is None


def test_taught_example_raises_its_entry() -> None:
    question = "who do I talk to about getting my name in the CONTRIBUTORS file"
    before = Matcher(DOCS).match(question)
    assert before.verdict != "answer" or before.best[0].id != "maintainer"
    taught = [
        FaqDoc(d.id, d.question, d.answer, d.tags, ("getting my name in the contributors file",))
        if d.id == "maintainer"
        else d
        for d in DOCS
    ]
    after = Matcher(taught).match(question)
    assert after.verdict == "answer"
    assert after.best[0].id == "maintainer"


def test_middling_match_suggests(matcher: Matcher) -> None:
    result = matcher.match("who reviews my code")
    assert result.verdict == "suggest"
    assert result.best[0].id == "maintainer"
    assert 1 <= len(result.best) <= 3


@pytest.mark.parametrize(
    "text",
    [
        "How do I open a PR",
        "what's the license",
        "CAN I join the call",
        "license?",
        "is this MIT",
        "¿Dónde está la agenda",
        "Wie werde ich Maintainer",
    ],
)
def test_looks_like_question(text: str) -> None:
    assert looks_like_question(text)


@pytest.mark.parametrize(
    "text", ["", "  ", "thanks, that fixed it", "I opened a PR for the license file", "lol"]
)
def test_statements_do_not_look_like_questions(text: str) -> None:
    assert not looks_like_question(text)


def test_auto_answer_is_stricter_than_match(matcher: Matcher) -> None:
    assert matcher.auto_answer("how do I become a maintainer?") == Candidate(
        "maintainer", matcher.match("how do I become a maintainer?").best[0].score
    )
    assert matcher.auto_answer("I want to become a maintainer") is None
    middling = "who reviews my code?"
    assert matcher.match(middling).verdict == "suggest"
    assert matcher.auto_answer(middling) is None


def test_empty_faq_never_matches() -> None:
    empty = Matcher([])
    assert empty.match("how do I open a PR").verdict == "none"
    assert empty.auto_answer("how do I open a PR?") is None


def test_factory_follows_the_evaluation_protocol() -> None:
    entries = [
        {"id": d.id, "question": d.question, "answer": d.answer, "tags": list(d.tags)} for d in DOCS
    ]
    assert doc_from_mapping(entries[0]) == DOCS[0]
    match = matcher_factory(entries)
    assert match("how do I open a pull request") == "pull-request"
    assert match("how do I bake sourdough bread") is None


def test_index_builds_for_a_large_faq() -> None:
    """A large FAQ still answers; how fast is for `python -m benchmarks.faq_index` to report."""
    docs = [
        FaqDoc(f"{d.id}-{i}", f"{d.question} variant {i}", d.answer, d.tags)
        for i in range(100)
        for d in DOCS
    ]
    matcher = Matcher(docs)
    result = matcher.match("how do I open a PR")
    assert result.verdict == "answer" and result.best[0].id.startswith("pull-request-")
