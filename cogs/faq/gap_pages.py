"""FAQ gaps on the web, for organizers: the questions the FAQ did not answer well, each with
the two fixes the chat offers, teaching a phrasing to an entry or adding an entry. Both call
the same functions as `faq teach` and `faq add`, so the checks and the matcher's version bump
are theirs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.audience import Audience
from bot.core.errors import UserError
from bot.core.markup import to_plain
from bot.core.pages import PageHandler, PageRequest, Redirect, View
from bot.core.runtime import Runtime
from cogs.faq import asking, entries, gaps
from cogs.faq.matcher import MatchResult

PATH = "/faq/gaps"
DAYS = 30
MAX_DAYS = 365
SHOWN = 50


def _days(request: PageRequest) -> int:
    text = request.query.get("days", str(DAYS))
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise UserError(f"days must be a whole number from 1 to {MAX_DAYS}, e.g. {PATH}?days=30")
    return int(text)


def gaps_page(runtime: Runtime, cache: asking.MatcherCache) -> PageHandler:
    # As the event pages write commands in a refusal: a `web` caller's.
    web = runtime.env.audience("web")

    async def show(request: PageRequest, problem: str | None = None) -> View:
        days = _days(request)
        async with runtime.sessions() as session:
            every = await gaps.find_gaps(session, request.now - timedelta(days=days))
            found, total = every[:SHOWN], len(every)
            known = await entries.all_entries(session)
            matcher = await cache.get(session)
        # A gap fixed since it was asked still counts; the page says which entry answers it now.
        shown = [(gap, _why(gap), _answered_by(matcher.match(gap.text))) for gap in found]
        return View(
            "faq/gaps.html",
            {
                "days": days,
                "gaps": shown,
                "more": max(0, total - SHOWN),
                "entries": [(e.id, e.question) for e in known],
                "notice": _notice(request),
                "problem": problem,
                "form": request.form,
            },
            title="FAQ gaps",
            status=200 if problem is None else 400,
        )

    async def act(request: PageRequest) -> View | Redirect:
        assert request.viewer is not None
        form = request.form
        action = form.get("action")
        try:
            async with runtime.transaction() as session:
                if action == "teach":
                    done = await _teach(session, cache, form, request.viewer.person_id, request.now)
                elif action == "add":
                    done = await _add(session, form, request.now, web)
                else:
                    raise UserError("Choose teach or add entry on the gaps page.")
        except UserError as exc:
            return await show(request, to_plain(exc.message))
        return Redirect(f"{PATH}?{urlencode({**done, 'days': _days(request)})}")

    async def page(request: PageRequest) -> View | Redirect:
        if request.method == "POST":
            return await act(request)
        return await show(request)

    return page


async def _teach(
    session: AsyncSession,
    cache: asking.MatcherCache,
    form: Mapping[str, str],
    person_id: int,
    now: datetime,
) -> dict[str, str]:
    """Teach an entry the gap's question; says whether the bot now answers it with that entry."""
    question = form.get("question", "")
    entry = await entries.teach(session, form.get("entry", ""), question, person_id, now)
    answered = _answered_by((await cache.get(session)).match(question)) == entry.id
    return {"taught": entry.id, "answered": "yes" if answered else "no"}


async def _add(
    session: AsyncSession, form: Mapping[str, str], now: datetime, web: Audience
) -> dict[str, str]:
    data = entries.EntryData(
        id=form.get("id", "").strip(),
        question=form.get("question", ""),
        answer=form.get("answer", ""),
        tags=entries.parse_tags(form.get("tags", "")),
    )
    return {"added": (await entries.add_entry(session, data, now, web)).id}


def _answered_by(result: MatchResult) -> str | None:
    """The entry the bot now answers with, if it answers at all."""
    return result.best[0].id if result.verdict == "answer" and result.best else None


def _why(gap: gaps.Gap) -> str:
    why = [f"{gap.unanswered} unanswered"] if gap.unanswered else []
    if gap.downvoted:
        why.append(f"{gap.downvoted} voted down on {', '.join(gap.entries)}")
    return "; ".join(why)


def _notice(request: PageRequest) -> str | None:
    taught, added = request.query.get("taught"), request.query.get("added")
    if taught:
        if request.query.get("answered") == "yes":
            return f"Taught. Asking that question now answers with {taught}."
        return f"Taught to {taught}, but another entry still fits it better: try a more specific phrasing."
    if added:
        return f"Added the entry {added}. The bot answers its question from now on."
    return None
