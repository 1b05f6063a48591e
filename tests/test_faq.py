"""The FAQ through the real registry and store, on SQLite and PostgreSQL: asking, voting, gaps,
organizers' editing, the TOML import/export (service and CLI) and safe rendering."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.__main__ import main
from bot.core import Button, Role
from bot.core.audience import Audience
from bot.core.context import Caller
from bot.core.router import Router
from bot.identity import resolve_person
from bot.platforms.discord import render as discord_render
from bot.platforms.matrix import render as matrix_render
from cogs.faq import asking, entries, tomlfile
from cogs.faq.models import FaqQuestion
from tests.support.clock import Clock
from tests.support.eventually import eventually
from tests.support.fake_platform import FakePlatform, FakeUser
from tests.support.house import build_bot

CONSOLE = Audience.of("console")

SMALL_FAQ = """\
# A small FAQ for the tests.

[[entry]]
id = "run-tests"
question = "How do I run the test suite?"
answer = '''Run `pytest` from the repository root; `pytest -n auto` spreads it over all cores.'''
tags = ["tests", "pytest", "testing"]

[[entry]]
id = "dev-environment-setup"
question = "How do I set up a development environment?"
answer = '''Fork and clone the repository, create a `venv`, then run `pip install -e ".[dev]"`.'''
tags = ["setup", "environment", "venv", "editable install"]

[[entry]]
id = "code-style-linting"
question = "What code style does the project use, and how do I lint my code?"
answer = '''We follow PEP 8: run `ruff check .` and `ruff format .` before you push.'''
tags = ["code style", "lint", "ruff", "pep8"]

[[entry]]
id = "good-first-issue"
question = "How do I find a good first issue to work on?"
answer = '''Filter the issue tracker by the **good first issue** label.'''
tags = ["good first issue", "newcomer", "beginner"]
examples = ["what should i work on first"]

[[entry]]
id = "license"
question = "Which license does the project use?"
answer = '''The code is under the MIT license; see [LICENSE](https://example.org/LICENSE).'''
tags = ["license", "mit", "legal"]
"""
IDS = ["code-style-linting", "dev-environment-setup", "good-first-issue", "license", "run-tests"]


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))


@pytest.fixture
async def registry(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> Router:
    async with sessions() as session:
        await tomlfile.import_toml(session, SMALL_FAQ, "small.toml", clock())
        await session.commit()
    return build_bot(sessions, clock=clock)


@pytest.fixture
def omar(registry: Router) -> FakeUser:
    return FakePlatform(registry).person("@omar:x", Role.ORGANIZER, "Omar")


@pytest.fixture
def nina(registry: Router) -> FakeUser:
    return FakePlatform(registry).person("@nina:x", Role.CONTRIBUTOR, "Nina")


async def someone(session: AsyncSession) -> int:
    caller = Caller("console", "you", "You", Role.ORGANIZER, "console")
    return await resolve_person(session, caller, datetime.now(UTC))


# --- Asking -------------------------------------------------------------------------------------


async def test_discord_autocomplete_offers_entry_questions(registry: Router) -> None:
    spec = registry.get("faq ask")
    assert spec is not None
    offered = await registry.suggest(spec, "question", "run tes")
    assert offered[0] == "How do I run the test suite?"
    everything = await registry.suggest(spec, "question", "  ")
    assert len(everything) == len(IDS) and everything == sorted(everything)
    assert await registry.suggest(spec, "question", "zzz") == []
    assert await registry.suggest(spec, "nothing", "run") == []


async def test_a_confident_match_answers_with_the_entry_and_vote_buttons(nina: FakeUser) -> None:
    said = await nina.say("!faq how do I run the tests?")
    assert said.reply.title == "How do I run the test suite?"
    assert said.text.splitlines()[1:] == [
        "Run pytest from the repository root; pytest -n auto spreads it over all cores.",
        "(from the contributor FAQ: run-tests)",
    ]
    assert said.reply.buttons == [
        Button("👍", "faq vote 1 up", "secondary"),
        Button("👎", "faq vote 1 down", "secondary"),
    ]
    again = await nina.say("!faq ask running pytest locally")
    assert again.reply.title == "How do I run the test suite?"
    assert again.reply.buttons[0].command == "faq vote 2 up"


async def test_slash_command_asks_the_same(registry: Router) -> None:
    spec = registry.get("faq ask")
    assert spec is not None
    caller = Caller("discord", "42", "dee", Role.CONTRIBUTOR, "5", style="slash")
    reply = await registry.invoke(caller, spec, {"question": "what should i work on first"})
    assert reply.title == "How do I find a good first issue to work on?"


async def test_a_middling_match_offers_the_three_best(nina: FakeUser) -> None:
    said = await nina.say("!faq project tracker")
    assert said.reply.title == "Did you mean…"
    assert said.text.splitlines()[1:] == [
        "I'm not sure; these come closest:",
        "- Which license does the project use? (license)",
        "- What code style does the project use, and how do I lint my code? (code-style-linting)",
        "- How do I find a good first issue to work on? (good-first-issue)",
    ]
    assert [b.command for b in said.reply.buttons] == [
        "faq show license",
        "faq show code-style-linting",
        "faq show good-first-issue",
    ]


async def test_no_match_records_a_gap_and_offers_a_mentor(
    nina: FakeUser, omar: FakeUser, sessions: async_sessionmaker[AsyncSession]
) -> None:
    said = await nina.say("!faq how do I adopt a cat")
    assert said.text == (
        "I don't have an answer for that yet — I've noted the question for the maintainers.\n"
        "A mentor can help: !mentor request <topic>"
    )
    assert not said.reply.buttons
    await omar.say("!faq what is the weather in Paris")
    await nina.say("!faq How do I adopt a cat?")
    await omar.say("!faq can i adopt a cat here")
    async with sessions() as session:
        verdicts = (await session.exec(select(FaqQuestion.verdict))).all()
    assert verdicts == ["none"] * 4
    gaps = await omar.say("!faq gaps")
    assert gaps.reply.title == "FAQ gaps in the last 30 days"
    assert gaps.text.splitlines()[1:3] == [
        "- 3 “how do I adopt a cat” (3 unanswered)",
        "- 1 “what is the weather in Paris” (1 unanswered)",
    ]


async def test_gaps_look_back_only_as_far_as_asked(
    nina: FakeUser, omar: FakeUser, clock: Clock
) -> None:
    await nina.say("!faq how do I adopt a cat")
    clock.now += timedelta(days=10)
    assert "adopt" in (await omar.say("!faq gaps 30")).text
    said = await omar.say("!faq gaps 7")
    assert said.text == "No unanswered or voted-down questions in the last 7 days."


async def test_empty_too_long_and_wordless_questions_are_refused(nina: FakeUser) -> None:
    said = await nina.say("!faq")
    assert said.reply.error
    assert said.text.splitlines() == [
        "Missing question.",
        "Usage: !faq ask <question>",
        "Example: !faq ask how do I run the tests?",
    ]
    said = await nina.say("!faq " + "why " * 300)
    assert said.text.splitlines()[0] == "question is too long (1,199 characters; at most 1,000)."
    assert "Example: !faq ask how do I run the tests?" in said.text
    said = await nina.say("!faq ???")
    assert said.text.splitlines() == [
        "Ask your question in words.",
        "Usage: !faq ask <question>",
        "Example: !faq ask how do I run the tests?",
    ]


async def test_subcommands_win_over_the_question_alias(nina: FakeUser) -> None:
    assert (await nina.say("!faq list")).reply.title == "Contributor FAQ"
    assert (
        await nina.say("!faq show license")
    ).reply.title == "Which license does the project use?"
    assert (await nina.say("!faq gaps")).text == "Only organizers can use !faq gaps."


async def test_help_shows_how_to_ask(nina: FakeUser) -> None:
    text = (await nina.say("!help")).text
    assert "!faq ask <question> — Ask the contributor FAQ (on Matrix and the console, faq" in text
    assert "faq add" not in text
    assert "!faq list [tag]" in (await nina.say("!help faq")).text


# --- Votes --------------------------------------------------------------------------------------


async def test_votes_once_per_person_and_down_votes_show_in_gaps(
    registry: Router, nina: FakeUser, omar: FakeUser
) -> None:
    await nina.say("!faq how do I run the tests?")
    assert (await nina.say("!faq vote 1 up")).text == "Thanks for the 👍."
    assert (await nina.say("!faq vote 1 up")).text == "You had already voted 👍 on that answer."
    changed = await nina.say("!faq vote 1 down")
    assert changed.text.splitlines() == [
        "Changed your vote to 👎; the maintainers will see that this answer fell short.",
        "A mentor can help: !mentor request <topic>",
    ]
    bob = FakePlatform(registry, name="discord", style="slash").person("7", name="bob")
    assert (await bob.say("!faq vote 1 down")).text.startswith("Thanks for the 👎")
    assert (await omar.say("!faq gaps")).text.splitlines()[1] == (
        "- 1 “how do I run the tests?” (1 voted down on run-tests)"
    )
    await omar.say("!faq vote 1 up")
    await FakePlatform(registry).person("@sam:x").say("!faq vote 1 up")
    assert "run-tests" not in (await omar.say("!faq gaps")).text


async def test_votes_need_an_answered_question(nina: FakeUser) -> None:
    await nina.say("!faq how do I adopt a cat")
    said = await nina.say("!faq vote 1 up")
    assert said.text == "Question #1 got no answer, so there is nothing to vote on."
    assert (await nina.say("!faq vote 9 down")).text == "There is no asked question #9."
    assert "vote must be one of: up, down." in (await nina.say("!faq vote 1 sideways")).text


# --- Organizers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        '!faq add x "Q?" "A."',
        "!faq edit license answer=MIT",
        "!faq remove license",
        '!faq teach "how do i launch the whole thing" run-tests',
        "!faq gaps 7",
    ],
)
async def test_editing_is_for_organizers(nina: FakeUser, line: str) -> None:
    said = await nina.say(line)
    assert said.reply.error and said.text.startswith("Only organizers can use !faq ")


async def test_add_edit_remove(omar: FakeUser, nina: FakeUser) -> None:
    added = await omar.say(
        '!faq add meetings "When are the community meetings?" '
        '"Every second Tuesday at 17:00 UTC; the **agenda** is on the wiki." meeting, call'
    )
    assert added.text.splitlines()[0] == "Added meetings: When are the community meetings?"
    shown = await nina.say("!faq show meetings")
    assert shown.reply.title == "When are the community meetings?"
    assert "**agenda**" in shown.reply.text and "Tags: meeting, call" in shown.text
    assert (await nina.say("!faq when is the community meeting")).reply.title == (
        "When are the community meetings?"
    )

    edited = await omar.say('!faq edit meetings answer="Every Tuesday at 17:00 UTC." tags=none')
    assert edited.text == "Changed the answer and tags of meetings."
    assert "Tags: none" in (await nina.say("!faq show meetings")).text
    same = await omar.say('!faq edit meetings answer="Every Tuesday at 17:00 UTC."')
    assert same.text == "meetings already says that; nothing changed."
    assert "Say what to change" in (await omar.say("!faq edit meetings")).text

    assert (await omar.say("!faq remove meetings")).text == (
        "Removed meetings: When are the community meetings?"
    )
    gone = await nina.say("!faq show meetings")
    assert gone.text == (
        "There is no FAQ entry meetings. See !faq list, or ask with !faq ask <question>."
    )


async def test_add_and_edit_validate(omar: FakeUser) -> None:
    bad_id = await omar.say('!faq add "Run Tests" "How?" "Like this."')
    assert bad_id.text.splitlines()[0] == (
        "The id Run Tests must be up to 64 lowercase letters, digits and dashes, e.g. run-tests."
    )
    assert bad_id.text.splitlines()[1].startswith("Usage: !faq add <id> <question> <answer> [tags]")
    taken = await omar.say('!faq add license "Which licence?" "MIT."')
    assert taken.text == "There is already an entry license; change it with !faq edit."
    long_answer = await omar.say(f'!faq add long "Long?" "{"a" * 3990}" x')
    assert "too long for a command" in long_answer.text
    bad_tag = await omar.say('!faq edit license tags="a,' + "b" * 61 + '"')
    assert bad_tag.text.startswith("The tag " + "b" * 61 + " must be 1-60 characters")
    typo = await omar.say("!faq edit licence answer=x")
    assert typo.text == "There is no FAQ entry licence. Did you mean license?"


async def test_teach_makes_a_phrasing_match(
    omar: FakeUser, nina: FakeUser, registry: Router, sessions: async_sessionmaker[AsyncSession]
) -> None:
    phrasing = "how do i launch the whole thing"
    assert "I don't have an answer" in (await nina.say(f"!faq {phrasing}")).text
    # A second instance on the same store, with its own matcher, already built.
    other = FakePlatform(build_bot(sessions, clock=registry.runtime.clock))
    other_nina = other.person("@nina:x", Role.CONTRIBUTOR, "Nina")
    assert "I don't have an answer" in (await other_nina.say(f"!faq {phrasing}")).text

    taught = await omar.say(f'!faq teach "{phrasing}" run-tests')
    assert taught.text == (
        "Added the phrasing “how do i launch the whole thing” to run-tests. "
        "Asking it now answers with run-tests."
    )
    assert (await nina.say("!faq How do I launch the whole thing?")).reply.title == (
        "How do I run the test suite?"
    )
    assert (await other_nina.say(f"!faq {phrasing}")).reply.title == (
        "How do I run the test suite?"
    )
    rival = await omar.say('!faq teach "how do I run the tests?" license')
    assert rival.text.endswith(
        "Noted, but it is not answered yet: run-tests still fits it better; "
        "try a more specific phrasing."
    )
    again = await omar.say(f'!faq teach "{phrasing.upper()}" run-tests')
    assert again.text == "run-tests already knows that phrasing."
    shown = await nina.say("!faq show run-tests")
    assert "Also asked as: “how do i launch the whole thing”" in shown.text


async def test_matcher_is_rebuilt_only_after_a_change(
    registry: Router, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    cache = asking.MatcherCache()
    async with sessions() as session:
        me = await someone(session)
        for question in ("how do I run the tests?", "licence?", "how do I adopt a cat"):
            await asking.ask(
                session, cache, question, person_id=me, platform="console", now=clock()
            )
        assert cache.builds == 1
        await entries.teach(session, "license", "can i sell it", me, clock())
        await asking.ask(session, cache, "can i sell it", person_id=me, platform="x", now=clock())
        assert cache.builds == 2
        await session.rollback()


async def test_the_index_builds_off_the_event_loop(
    sqlite_sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """SQLite answers on the loop's own thread without yielding, so a ticker that keeps moving
    while the matcher is fetched shows the index was built elsewhere while the loop went on
    (built on the loop, it would have moved once or twice)."""
    faq = Path(__file__).parents[1] / "examples" / "faq.toml"
    async with sqlite_sessions() as session:
        await tomlfile.import_toml(session, faq.read_text(), str(faq), clock())
        await session.commit()
    cache = asking.MatcherCache()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    async with sqlite_sessions() as session:
        building = asyncio.create_task(cache.get(session))
        ticking = asyncio.create_task(ticker())
        matcher = await building
        ticking.cancel()
    assert ticks >= 10
    assert matcher.match("how do I run the tests?").verdict == "answer"


async def test_a_question_waiting_for_the_index_lets_other_commands_use_the_store(
    sqlite_sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    """On SQLite an open session has the store to itself; a `faq ask` that waits for the index
    to be built passes its turn on meanwhile, so a `whoami` asked after it answers before it."""
    faq = Path(__file__).parents[1] / "examples" / "faq.toml"
    many = "".join(
        f'[[entry]]\nid = "topic-{n}"\nquestion = "How does feature {n} handle case {n * 7}?"\n'
        f'answer = "Feature {n} handles case {n * 7} by reading the guide, section {n}."\n'
        f'tags = ["feature{n}", "case{n * 7}"]\n\n'
        for n in range(1500)
    )
    async with sqlite_sessions() as session:
        await tomlfile.import_toml(session, faq.read_text() + many, str(faq), clock())
        await session.commit()
    bot = build_bot(sqlite_sessions, clock=clock)
    nina = FakePlatform(bot).person("@nina:x", Role.CONTRIBUTOR, "Nina")
    finished: list[str] = []

    async def say(line: str) -> None:
        await nina.say(line)
        finished.append(line.split()[0])

    asking_task = asyncio.create_task(say("!faq how do I run the tests?"))
    turn = bot.runtime.sessions.kw["info"]["convene.turn"]
    await eventually(turn.locked, what="the question has the store", interval=0)
    await say("!whoami")
    await asking_task
    assert finished == ["!whoami", "!faq"]


async def test_list_by_tag_and_show(nina: FakeUser, omar: FakeUser) -> None:
    listed = await nina.say("!faq list")
    lines = listed.text.splitlines()
    assert (
        lines[1]
        == "code-style-linting — What code style does the project use, and how do I lint my code?"
    )
    assert [line.split(" — ")[0] for line in lines[1:6]] == IDS
    assert lines[-1] == "Read one with !faq show <id>."
    tagged = await nina.say("!faq list PyTest")
    assert tagged.text.splitlines()[1:3] == [
        "1 entry tagged PyTest:",
        "run-tests — How do I run the test suite?",
    ]
    unknown = await nina.say("!faq list cats")
    assert unknown.reply.error and unknown.text.startswith("No entry is tagged cats. Some tags:")
    shown = await nina.say("!faq show good-first-issue")
    assert shown.text.splitlines()[1:] == [
        "Filter the issue tracker by the good first issue label.",
        "(from the contributor FAQ: good-first-issue)",
        "Tags: good first issue, newcomer, beginner",
        "Also asked as: “what should i work on first”",
    ]
    for entry_id in IDS:
        await omar.say(f"!faq remove {entry_id}")
    assert (await omar.say("!faq list")).text == "The FAQ is empty. Add one with !faq add …."


# --- Rendering ----------------------------------------------------------------------------------


async def test_html_in_answers_is_text_and_nobody_is_pinged(omar: FakeUser, nina: FakeUser) -> None:
    for ping in ("@everyone", "@room", "<@&123>"):
        refused = await omar.say(f'!faq add pinging "Who?" "Ask {ping} or a mentor" sandbox')
        assert refused.reply.error and "answers never ping" in refused.text
    await omar.say(
        '!faq add escape-test "How do I escape the sandbox?" '
        '"<script>alert(1)</script> <b>Ask</b> everyone or the room, '
        '[click](javascript:alert(1)) or [docs](https://example.org/docs)" sandbox'
    )
    said = await nina.say("!faq how do I escape the sandbox")
    assert said.reply.title == "How do I escape the sandbox?"
    matrix = matrix_render(said.reply, "!")
    html = matrix["formatted_body"]
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;Ask&lt;/b&gt;" in html
    # A link stays a link, showing where it leads.
    docs = 'docs (<a href="https://example.org/docs">https://example.org/docs</a>)'
    assert 'href="javascript' not in html and docs in html
    assert matrix["m.mentions"] == {}
    assert "everyone or the room" in matrix["body"]
    mentions = discord_render(said.reply)["allowed_mentions"]
    assert not (mentions.everyone or mentions.users or mentions.roles)


async def test_questions_shown_in_gaps_are_escaped(nina: FakeUser, omar: FakeUser) -> None:
    await nina.say("!faq is my **<b>cat</b>** [y](https://evil.invalid) hungry")
    said = await omar.say("!faq gaps")
    html = matrix_render(said.reply, "!")["formatted_body"]
    assert "<strong>cat" not in html and "<b>" not in html and "<a href" not in html
    assert "**&lt;b&gt;cat&lt;/b&gt;** [y](https://evil.invalid)" in html


# --- The TOML file ------------------------------------------------------------------------------


async def test_import_is_idempotent_and_reports_changes(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    async with sessions() as session:
        first = await tomlfile.import_toml(session, SMALL_FAQ, "faq.toml", clock())
        await session.commit()
        assert first == tomlfile.ImportCounts(added=5)
        again = await tomlfile.import_toml(session, SMALL_FAQ, "faq.toml", clock())
        assert again == tomlfile.ImportCounts(unchanged=5)
        edited = SMALL_FAQ.replace("MIT license;", "Apache-2.0 license;").replace(
            'examples = ["what should i work on first"]', 'examples = ["where do i start"]'
        )
        edited += '\n[[entry]]\nid = "new"\nquestion = "New?"\nanswer = "Yes."\ntags = []\n'
        changed = await tomlfile.import_toml(session, edited, "faq.toml", clock())
        assert changed == tomlfile.ImportCounts(added=1, changed=2, unchanged=3)
        await session.commit()
        assert await entries.examples_of(session, "good-first-issue") == ["where do i start"]


async def test_import_keeps_taught_phrasings_unless_the_file_lists_examples(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    async with sessions() as session:
        me = await someone(session)
        await tomlfile.import_toml(session, SMALL_FAQ, "faq.toml", clock())
        await entries.teach(session, "license", "can i sell it", me, clock())
        await entries.teach(session, "good-first-issue", "easy tasks?", me, clock())
        counts = await tomlfile.import_toml(session, SMALL_FAQ, "faq.toml", clock())
        assert counts == tomlfile.ImportCounts(changed=1, unchanged=4)
        assert await entries.examples_of(session, "license") == ["can i sell it"]
        assert await entries.examples_of(session, "good-first-issue") == [
            "what should i work on first"
        ]


async def test_export_then_import_gives_the_same_faq(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    tricky = entries.EntryData(
        id="tricky",
        question='Why "quotes" and back\\slashes?',
        answer="Line one\n'''triple''' and \"double\" \\n not a newline\ttab \x01 ✨ ends with '",
        tags=('quo"te', "back\\slash", "ünï"),
    )
    async with sessions() as session:
        me = await someone(session)
        await tomlfile.import_toml(session, SMALL_FAQ, "faq.toml", clock())
        await entries.add_entry(session, tricky, clock(), CONSOLE)
        await entries.teach(session, "tricky", 'say "hi" \\ there', me, clock())
        exported = await tomlfile.export_toml(session)
        parsed = {e.id: e for e in tomlfile.parse_faq(exported, "export.toml")}
        original = {e.id: e for e in tomlfile.parse_faq(SMALL_FAQ, "faq.toml")}
        assert sorted(parsed) == sorted([*IDS, "tricky"])
        assert {k: parsed[k] for k in original} == original
        assert parsed["tricky"] == entries.EntryData(
            tricky.id, tricky.question, tricky.answer, tricky.tags, ('say "hi" \\ there',)
        )
        assert await tomlfile.import_toml(session, exported, "export.toml", clock()) == (
            tomlfile.ImportCounts(unchanged=6)
        )
        assert 'answer = "Run `pytest` from the repository root;' in exported
        assert await tomlfile.export_toml(session) == exported


async def test_export_writes_answers_on_lines_and_keeps_crlf_exact(
    sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> None:
    lines = entries.EntryData("lines", "Lines?", 'First line\n\n```\nrun "this"\n```', ("a",))
    crlf = entries.EntryData("crlf", "CRLF?", "Written on Windows\r\nsecond line", ("b",))
    async with sessions() as session:
        await entries.add_entry(session, lines, clock(), CONSOLE)
        await entries.add_entry(session, crlf, clock(), CONSOLE)
        exported = await tomlfile.export_toml(session)
        assert 'answer = """\nFirst line\n\n```\nrun \\"this\\"\n```"""' in exported
        assert 'answer = "Written on Windows\\r\\nsecond line"' in exported
        parsed = {e.id: e.answer for e in tomlfile.parse_faq(exported, "export.toml")}
        assert parsed == {"lines": lines.answer, "crlf": crlf.answer}
        assert await tomlfile.import_toml(session, exported, "export.toml", clock()) == (
            tomlfile.ImportCounts(unchanged=2)
        )


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        pytest.param(
            SMALL_FAQ.replace('id = "license"', 'id = "run-tests"'),
            "faq.toml: entry 5 'run-tests' (line 28): duplicate id, already used by "
            "entry 1 'run-tests' (line 3)",
            id="duplicate-id",
        ),
        pytest.param(
            SMALL_FAQ.replace("answer = '''We follow PEP 8", "answr = '''We follow PEP 8"),
            "faq.toml: entry 3 'code-style-linting' (line 15): unknown field 'answr' "
            "(fields: id, question, answer, tags, examples)\n"
            "faq.toml: entry 3 'code-style-linting' (line 15): answer is missing",
            id="missing-field",
        ),
        pytest.param(
            SMALL_FAQ.replace(
                'tags = ["setup", "environment", "venv", "editable install"]', 'tags = "setup"'
            ),
            "faq.toml: entry 2 'dev-environment-setup' (line 9): tags must be a list of strings",
            id="wrong-type",
        ),
        pytest.param(
            SMALL_FAQ.replace('question = "Which license', 'question = "Which license\n'),
            "faq.toml: not valid TOML in entry 5 (from line 28): Illegal character '\\n' "
            "(at line 30, column 26)",
            id="bad-toml",
        ),
        pytest.param(
            SMALL_FAQ.replace('id = "license"', 'id = "Licence!"'),
            "faq.toml: entry 5 'Licence!' (line 28): the id `Licence!` must be up to 64 "
            "lowercase letters, digits and dashes, e.g. run-tests",
            id="bad-id",
        ),
        pytest.param(
            "title = 'no entries'\n",
            "faq.toml: unknown top-level key 'title'; the file holds [[entry]] tables",
            id="no-entries",
        ),
        pytest.param("# nothing yet\n", "faq.toml: no [[entry]] tables found", id="empty"),
    ],
)
async def test_import_errors_name_entry_and_line_and_change_nothing(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, broken: str, message: str
) -> None:
    assert SMALL_FAQ.splitlines()[27] == "[[entry]]"
    async with sessions() as session:
        await tomlfile.import_toml(session, SMALL_FAQ, "faq.toml", clock())
        await session.commit()
        before = await tomlfile.export_toml(session)
    # Valid changes elsewhere in a bad file are not applied either.
    broken = broken.replace("`pytest -n auto`", "`tox`")
    async with sessions() as session:
        with pytest.raises(tomlfile.FaqFileError) as raised:
            await tomlfile.import_toml(session, broken, "faq.toml", clock())
        assert str(raised.value) == message
    async with sessions() as session:
        assert await tomlfile.export_toml(session) == before


# --- The CLI ------------------------------------------------------------------------------------


def test_cli_import_and_export(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "convene.toml"
    config.write_text(f'[store]\nurl = "{db_url}"\n')
    faq = tmp_path / "faq.toml"
    faq.write_text(SMALL_FAQ)
    assert main(["faq", "import", str(faq), "--config", str(config)]) == 0
    assert capsys.readouterr().out == f"{faq}: 5 added, 0 changed, 0 unchanged\n"
    assert main(["faq", "import", str(faq), "-c", str(config)]) == 0
    assert capsys.readouterr().out == f"{faq}: 0 added, 0 changed, 5 unchanged\n"

    out = tmp_path / "out.toml"
    assert main(["faq", "export", str(out), "-c", str(config)]) == 0
    assert capsys.readouterr().out == f"{out}: 5 entries written\n"
    exported = tomllib.loads(out.read_text())["entry"]
    assert [e["id"] for e in exported] == IDS

    broken = tmp_path / "broken.toml"
    broken_text = SMALL_FAQ.replace('id = "license"', 'id = "run-tests"')
    broken.write_text(broken_text.replace("`pytest -n auto`", "`tox`"))
    assert main(["faq", "import", str(broken), "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "nothing was imported" in err and "entry 5 'run-tests' (line 28): duplicate id" in err
    assert main(["faq", "import", str(tmp_path / "missing.toml"), "-c", str(config)]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["faq", "export", str(out), "-c", str(config)]) == 0
    assert tomllib.loads(out.read_text())["entry"] == exported
