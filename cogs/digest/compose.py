"""What a digest says: gathered from the other cogs through their `api` modules, then written
for each platform's readers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import markup
from bot.core.audience import Audience
from bot.core.durations import span
from bot.core.env import Env
from bot.core.reply import Reply
from bot.delivery import Render
from bot.identity import newcomers
from cogs.events import api as events
from cogs.faq import api as faq
from cogs.forge import api as forge
from cogs.mentoring import api as mentoring

WEEK = timedelta(days=7)
MAX_EVENTS = 10
MAX_GAPS = 5
MAX_NAMES = 10
# Discord cuts an embed at 4,096 characters: each list stops before its share of that.
EVENTS_BUDGET = 1500
NAME_LENGTH = 40


@dataclass(frozen=True)
class Parts:
    events: list[tuple[events.Event, datetime]]
    waiting: mentoring.Waiting
    gaps: list[faq.Gap]
    newcomers: int
    names: list[str]
    # None until a forge is configured.
    reviews: forge.Backlog | None = None


async def gather(session: AsyncSession, now: datetime, env: Env) -> Parts:
    """The week ahead (events) and the week behind (FAQ gaps, new people), and the queues now:
    mentor requests, and pull requests waiting for a review once a forge is configured."""
    ahead = await events.upcoming(session, now, days=7)
    waiting = await mentoring.waiting(session, now)
    gaps = await faq.find_gaps(session, now - WEEK)
    count, names = await newcomers(session, now - WEEK, now, MAX_NAMES)
    return Parts(
        events=[(event, occurrence.start) for event, occurrence in ahead],
        waiting=waiting,
        gaps=gaps,
        newcomers=count,
        names=names,
        reviews=await forge.review_backlog(session, env, now),
    )


def _events(parts: Parts, audience: Audience) -> list[str]:
    lines = ["**Events in the next 7 days**"]
    if not parts.events:
        return [*lines, "Nothing planned."]
    shown: list[str] = []
    for event, start in parts.events[:MAX_EVENTS]:
        line = f"- {events.headline(event)}: {events.occurs(event, start, None, audience.style)}"
        if sum(map(len, shown)) + len(line) > EVENTS_BUDGET:
            break
        shown.append(line)
    if len(shown) < len(parts.events):
        shown.append(f"…and more: {markup.code(audience.command('event list'))}")
    return [*lines, *shown]


def _mentoring(parts: Parts) -> list[str]:
    waiting = parts.waiting
    lines = ["**Mentor requests**"]
    if not waiting.count or waiting.longest is None:
        return [*lines, "None waiting for a mentor."]
    which = "the longest" if waiting.count > 1 else "it"
    return [
        *lines,
        f"{waiting.count} waiting for a mentor; {which}, #{waiting.oldest_id}, has waited "
        f"{span(waiting.longest, units=2)}.",
    ]


def _reviews(backlog: forge.Backlog, audience: Audience) -> list[str]:
    lines = ["**Review backlog**"]
    if not backlog.count:
        return [*lines, "No pull request is waiting for a review."]
    which = "waits" if backlog.count == 1 else "wait"
    lines.append(
        f"{backlog.count} pull request{'' if backlog.count == 1 else 's'} {which} "
        f"for a review; the longest:"
    )
    for name, url, waited in backlog.longest:
        lines.append(f"- [{markup.escape(name)}]({url}), {span(waited, units=2)}")
    if backlog.count > len(backlog.longest):
        lines.append(f"…and more: {markup.code(audience.command('review queue'))}")
    return lines


def _gaps(parts: Parts, audience: Audience) -> list[str]:
    lines = ["**FAQ gaps this week**"]
    if not parts.gaps:
        return [*lines, "No unanswered or voted-down questions."]
    for gap in parts.gaps[:MAX_GAPS]:
        times = "once" if gap.count == 1 else f"{gap.count} times"
        lines.append(f"- {markup.quoted(gap.text, 120)}, {times}")
    if len(parts.gaps) > MAX_GAPS:
        more = len(parts.gaps) - MAX_GAPS
        lines.append(f"…and {more} more: {markup.code(audience.command('faq gaps', days=7))}")
    return lines


def _short(name: str) -> str:
    shown = name if len(name) <= NAME_LENGTH else name[: NAME_LENGTH - 1] + "…"
    return markup.escape(shown)


def _people(parts: Parts) -> list[str]:
    lines = ["**New people this week**"]
    if not parts.newcomers:
        return [*lines, "Nobody new."]
    names = ", ".join(_short(name) for name in parts.names)
    more = parts.newcomers - len(parts.names)
    return [*lines, f"{parts.newcomers}: {names}" + (f" and {more} more." if more else ".")]


def render(parts: Parts, moment: datetime, zone: ZoneInfo) -> Render:
    local = moment.astimezone(zone)
    title = f"Weekly digest · {local:%a} {local.day} {local:%b %Y}"

    def write(audience: Audience) -> Reply:
        sections = [
            _events(parts, audience),
            _mentoring(parts),
            *([_reviews(parts.reviews, audience)] if parts.reviews is not None else []),
            _gaps(parts, audience),
            _people(parts),
        ]
        return Reply("\n\n".join("\n".join(lines) for lines in sections), title=title)

    return write
