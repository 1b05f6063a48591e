"""FAQ commands: asking, reading, voting, and the organizers' editing and gap report.

Answers are organizer-written text in the reply markup subset (bold, code, links), so they are
passed through as markup, with every link showing its address (`markup.authored`); every
platform renderer escapes whatever is not that subset, so raw HTML in an answer shows as text,
and no reply ever pings anyone. Questions, like whatever contributors typed, are plain text,
escaped wherever they are shown.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from bot.core import Button, Ctx, Opt, Reply, Role, UserError, command, markup
from bot.core.limits import Limit
from bot.core.router import Listener
from bot.core.spec import Handler
from bot.state import get_state, set_state
from cogs.faq import asking, entries, gaps, votes
from cogs.faq.models import FaqEntry

EntryId = Annotated[str, Opt("the entry's id, e.g. run-tests", max_length=80)]
Tags = Annotated[str | None, Opt("comma-separated, e.g. testing, pytest", max_length=500)]
ASK_USAGE = "faq ask <question>"
TEACH_USAGE = 'faq teach "<question>" <id>'
# Lists stop before Discord's 4,096-character embed; the rest is counted, not shown.
LIST_BUDGET = 3500
MAX_GAPS = 15
MAX_EXAMPLES_SHOWN = 10


def _source(entry: FaqEntry) -> str:
    return f"(from the contributor FAQ: {markup.code(entry.id)})"


def _quoted(text: str, limit: int = 150) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"“{markup.escape(shown)}”"


AUTO_ANSWER_GAP = timedelta(minutes=2)
# Each question asked is kept; a person asking past these is told when to ask again.
ASK_LIMIT = Limit(20, timedelta(minutes=10))
# Questions answered without a command, per person: past it, silence.
AUTO_ANSWER_LIMIT = Limit(10, timedelta(hours=1))
AUTO_KEY = "faq.auto."


def _answer(entry: FaqEntry, question_id: int) -> Reply:
    return Reply(
        f"{markup.authored(entry.answer)}\n{_source(entry)}",
        title=entry.question,
        buttons=[
            Button("👍", f"faq vote {question_id} up", "secondary"),
            Button("👎", f"faq vote {question_id} down", "secondary"),
        ],
    )


def auto_answerer(cache: asking.MatcherCache) -> Listener:
    """Answers questions asked in help rooms without a command, when the match is strong.

    At most one answer per room every AUTO_ANSWER_GAP, counted in the store so that two
    instances share it; the room then hears from people first."""

    async def listen(ctx: Ctx, text: str) -> Reply | None:
        matcher = await cache.get(ctx.session, stale_ok=True)
        if len(text) > asking.MAX_ASKED or matcher.auto_answer(text) is None:
            return None
        room = f"{AUTO_KEY}{ctx.caller.platform}.{ctx.caller.room_id}"
        last = await get_state(ctx.session, room)
        if last is not None and ctx.now() - datetime.fromisoformat(last) < AUTO_ANSWER_GAP:
            return None
        await set_state(ctx.session, room, ctx.now().isoformat(), ctx.now())
        asked = await asking.ask(
            ctx.session,
            cache,
            text,
            person_id=ctx.person_id,
            platform=ctx.caller.platform,
            now=ctx.now(),
            stale_ok=True,
        )
        if asked.result.verdict != "answer":
            return None
        entry = await entries.get_entry(ctx.session, asked.result.best[0].id)
        return _answer(entry, asked.question_id)

    return listen


def _mentor_hint(ctx: Ctx) -> str:
    return f"A mentor can help: {markup.code(ctx.cmd('mentor request <topic>'))}"


def matcher_commands(cache: asking.MatcherCache) -> list[Handler]:
    """The commands that read the matcher, bound to one cache per assembled bot rather than a
    module global, so each bot (and each test) has its own."""
    return [_ask_command(cache), _teach_command(cache)]


def _ask_command(cache: asking.MatcherCache) -> Handler:
    @command(
        "faq ask",
        help="Ask the contributor FAQ (on Matrix and the console, faq <question> works too)",
        example="faq ask how do I run the tests?",
        limit=ASK_LIMIT,
    )
    async def faq_ask(
        ctx: Ctx,
        question: Annotated[
            str,
            Opt(
                "what you want to know, e.g. how do I run the tests?",
                max_length=1000,
                suggest=entries.suggest_questions,
            ),
        ],
    ) -> Reply:
        asked = await asking.ask(
            ctx.session,
            cache,
            question,
            person_id=ctx.person_id,
            platform=ctx.caller.platform,
            now=ctx.now(),
        )
        if asked.result.verdict == "answer":
            entry = await entries.get_entry(ctx.session, asked.result.best[0].id)
            return _answer(entry, asked.question_id)
        if asked.result.verdict == "suggest":
            closest = [await entries.get_entry(ctx.session, c.id) for c in asked.result.best]
            return Reply(
                "\n".join(
                    ["I'm not sure; these come closest:"]
                    + [f"- {markup.escape(e.question)} ({markup.code(e.id)})" for e in closest]
                ),
                title="Did you mean…",
                buttons=[Button(e.id, f"faq show {e.id}", "secondary") for e in closest],
            )
        return Reply(
            "I don't have an answer for that yet — I've noted the question for the "
            f"maintainers.\n{_mentor_hint(ctx)}"
        )

    return faq_ask


def _teach_command(cache: asking.MatcherCache) -> Handler:
    @command(
        "faq teach",
        help="Teach the FAQ another way people ask an entry's question",
        example='faq teach "how do i launch the test suite" run-tests',
        role=Role.ORGANIZER,
    )
    async def faq_teach(
        ctx: Ctx,
        question: Annotated[
            str, Opt("the phrasing, e.g. how do i launch the tests", max_length=300)
        ],
        id: EntryId,
    ) -> Reply:
        entry = await entries.teach(ctx.session, id, question, ctx.person_id, ctx.now())
        result = (await cache.get(ctx.session)).match(question)
        best = result.best[0].id if result.best else None
        if result.verdict == "answer" and best == entry.id:
            outcome = f"Asking it now answers with {markup.code(entry.id)}."
        else:
            rival = (
                f" {markup.code(best)} still fits it better;" if best and best != entry.id else ""
            )
            outcome = f"Noted, but it is not answered yet:{rival} try a more specific phrasing."
        return Reply(
            f"Added the phrasing {_quoted(question)} to {markup.code(entry.id)}. {outcome}"
        )

    return faq_teach


@command("faq list", help="The FAQ entries, or those with one tag", example="faq list testing")
async def faq_list(
    ctx: Ctx,
    tag: Annotated[
        str | None, Opt("only entries with this tag, e.g. testing", max_length=60)
    ] = None,
) -> Reply:
    listed = await entries.all_entries(ctx.session)
    if tag is not None:
        wanted = tag.strip().lower()
        tagged = [e for e in listed if wanted in (t.lower() for t in e.tag_list)]
        if not tagged:
            known = sorted({t.lower() for e in listed for t in e.tag_list})
            some = ", ".join(markup.escape(t) for t in known[:20]) or "none yet"
            raise UserError(f"No entry is tagged {markup.code(tag)}. Some tags: {some}.")
        listed = tagged
    if not listed:
        hint = (
            f" Add one with {markup.code(ctx.cmd('faq add …'))}."
            if ctx.role >= Role.ORGANIZER
            else ""
        )
        return Reply(f"The FAQ is empty.{hint}")
    noun = "entry" if len(listed) == 1 else "entries"
    lines = [f"{len(listed)} {noun} tagged {markup.code(tag)}:"] if tag else []
    used = 0
    for shown, entry in enumerate(listed):
        line = f"{markup.code(entry.id)} — {markup.escape(entry.question)}"
        used += len(line) + 1
        if used > LIST_BUDGET:
            lines.append(f"…and {len(listed) - shown} more; narrow the list with a tag.")
            break
        lines.append(line)
    lines.append(f"Read one with {markup.code(ctx.cmd('faq show <id>'))}.")
    return Reply("\n".join(lines), title="Contributor FAQ")


@command("faq show", help="Read one FAQ entry", example="faq show run-tests")
async def faq_show(ctx: Ctx, id: EntryId) -> Reply:
    try:
        entry = await entries.get_entry(ctx.session, id)
    except UserError as exc:
        raise UserError(
            f"{exc.shown()} See {markup.code(ctx.cmd('faq list'))}, or ask with "
            f"{markup.code(ctx.cmd(ASK_USAGE))}."
        ) from None
    fields = [("Tags", ", ".join(markup.escape(t) for t in entry.tag_list) or "none")]
    examples = await entries.examples_of(ctx.session, entry.id)
    if examples:
        shown = "; ".join(_quoted(e, 100) for e in examples[:MAX_EXAMPLES_SHOWN])
        more = len(examples) - MAX_EXAMPLES_SHOWN
        fields.append(("Also asked as", shown + (f"; and {more} more" if more > 0 else "")))
    return Reply(
        f"{markup.authored(entry.answer)}\n{_source(entry)}", title=entry.question, fields=fields
    )


@command(
    "faq add",
    help="Add an FAQ entry",
    example='faq add run-tests "How do I run the tests?" "Run pytest from the repository root." '
    "testing, pytest",
    role=Role.ORGANIZER,
)
async def faq_add(
    ctx: Ctx,
    id: Annotated[str, Opt("a short lowercase slug, e.g. run-tests", max_length=64)],
    question: Annotated[str, Opt("the question as people ask it", max_length=300)],
    answer: Annotated[
        str, Opt("the answer; **bold**, `code` and [links](https://…) work", max_length=4000)
    ],
    tags: Tags = None,
) -> Reply:
    data = entries.EntryData(
        id=id.strip(), question=question, answer=answer, tags=entries.parse_tags(tags or "")
    )
    entry = await entries.add_entry(ctx.session, data, ctx.now(), ctx.audience)
    return Reply(
        f"Added {markup.code(entry.id)}: {markup.escape(entry.question)}\n"
        f"Teach it other phrasings with {markup.code(ctx.cmd(TEACH_USAGE))}."
    )


@command(
    "faq edit",
    help="Change an FAQ entry's question, answer or tags",
    example='faq edit run-tests answer="Run pytest -n auto from the repository root."',
    role=Role.ORGANIZER,
)
async def faq_edit(
    ctx: Ctx,
    id: EntryId,
    question: Annotated[str | None, Opt("the new question", max_length=300)] = None,
    answer: Annotated[str | None, Opt("the new answer", max_length=4000)] = None,
    tags: Annotated[
        str | None, Opt("the new tags, comma-separated; none removes them", max_length=500)
    ] = None,
) -> Reply:
    if question is None and answer is None and tags is None:
        raise UserError("Say what to change: question=…, answer=… or tags=….", show_usage=True)
    new_tags = None
    if tags is not None:
        new_tags = () if tags.strip().lower() == "none" else entries.parse_tags(tags)
    entry, changed = await entries.edit_entry(
        ctx.session, id, ctx.now(), question=question, answer=answer, tags=new_tags
    )
    if not changed:
        return Reply(f"{markup.code(entry.id)} already says that; nothing changed.")
    return Reply(f"Changed the {' and '.join(changed)} of {markup.code(entry.id)}.")


@command(
    "faq remove",
    help="Delete an FAQ entry and its taught phrasings",
    example="faq remove run-tests",
    role=Role.ORGANIZER,
)
async def faq_remove(ctx: Ctx, id: EntryId) -> Reply:
    entry = await entries.remove_entry(ctx.session, id, ctx.now())
    return Reply(f"Removed {markup.code(entry.id)}: {markup.escape(entry.question)}")


@command(
    "faq gaps",
    help="Questions the FAQ left unanswered or answered badly, most asked first",
    example="faq gaps 30",
    role=Role.ORGANIZER,
)
async def faq_gaps(
    ctx: Ctx, days: Annotated[int, Opt("how many days back to look", min=1, max=365)] = 30
) -> Reply:
    found = await gaps.find_gaps(ctx.session, ctx.now() - timedelta(days=days))
    if not found:
        return Reply(f"No unanswered or voted-down questions in the last {days} days.")
    lines = []
    for gap in found[:MAX_GAPS]:
        why = [f"{gap.unanswered} unanswered"] if gap.unanswered else []
        if gap.downvoted:
            on = ", ".join(markup.code(e) for e in gap.entries)
            why.append(f"{gap.downvoted} voted down on {on}")
        lines.append(f"- **{gap.count}** {_quoted(gap.text)} ({'; '.join(why)})")
    if len(found) > MAX_GAPS:
        lines.append(f"…and {len(found) - MAX_GAPS} more.")
    lines.append(
        f"Answer one with {markup.code(ctx.cmd('faq add …'))}, or point it at an entry with "
        f"{markup.code(ctx.cmd(TEACH_USAGE))}."
    )
    return Reply("\n".join(lines), title=f"FAQ gaps in the last {days} days")


@command(
    "faq vote",
    help="Say whether an FAQ answer helped you",
    example="faq vote 12 up",
    limit=Limit(30, timedelta(minutes=10)),
)
async def faq_vote(
    ctx: Ctx,
    id: Annotated[int, Opt("the number on the answer's buttons, e.g. 12", min=1)],
    vote: Literal["up", "down"],
) -> Reply:
    up = vote == "up"
    outcome = await votes.vote(ctx.session, id, ctx.person_id, up=up, now=ctx.now())
    thumb = "👍" if up else "👎"
    if outcome == "same":
        return Reply(f"You had already voted {thumb} on that answer.")
    said = "Thanks for the" if outcome == "new" else "Changed your vote to"
    if up:
        return Reply(f"{said} {thumb}.")
    return Reply(
        f"{said} {thumb}; the maintainers will see that this answer fell short.\n"
        f"{_mentor_hint(ctx)}"
    )
