"""The public calendar pages: upcoming events as a list, a week and a month, and the links to
subscribe to the feed. No login: they show what `event list` shows anyone in chat.

Each page is kept per version of the events (`service.version`, the feed's token) and per
query, so a busy page costs one read of the token until an organizer changes something.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.env import Env
from bot.core.pages import PageRequest, View
from cogs.events import calendar, feed, service
from cogs.events.models import KINDS, TIERS, Event
from cogs.events.recurrence import Occurrence
from cogs.events.render import whole_days

LIST_DAYS = 30
MAX_DAYS = 366
# Views kept per version of the events: one per query asked.
KEPT = 64


@dataclass(frozen=True)
class Shown:
    """One occurrence as the pages write it: the instant in UTC for the reader's browser."""

    id: int
    title: str
    kind: str
    tier: str
    link: str | None
    iso: str
    text: str
    all_day: bool
    moved: bool


def shown(event: Event, occurrence: Occurrence) -> Shown:
    start = occurrence.start.astimezone(UTC)
    if event.all_day:
        local = occurrence.start.astimezone(service.zone_of(event))
        days = whole_days(event)
        text = f"{local:%a} {local.day} {local:%b %Y}, all day"
        if days > 1:
            text += f" ({days} days)"
        iso = f"{local:%Y-%m-%d}"
    else:
        text = f"{start:%a} {start.day} {start:%b %Y %H:%M} UTC"
        iso = f"{start:%Y-%m-%dT%H:%M:%SZ}"
    return Shown(
        event.id or 0,
        event.title,
        event.kind,
        event.tier,
        event.link,
        iso,
        text,
        event.all_day,
        occurrence.moved,
    )


@dataclass(frozen=True)
class Subscribe:
    label: str
    https: str
    webcal: str | None


def subscriptions(base: str | None) -> list[Subscribe]:
    """The feed for everything, per tier and per kind, as a web address and as `webcal://`,
    which calendar apps open as a subscription."""
    choices: list[tuple[str, dict[str, str]]] = [("Everything", {})]
    choices += [(f"Tier: {tier}", {"tier": tier}) for tier in TIERS]
    choices += [(f"Kind: {kind}", {"kind": kind}) for kind in KINDS]
    links = []
    for label, query in choices:
        path = "/calendar.ics" + (f"?{urlencode(query)}" if query else "")
        https = f"{base}{path}" if base else path
        webcal = None
        if base and "://" in base:
            webcal = "webcal://" + base.split("://", 1)[1] + path
        links.append(Subscribe(label, https, webcal))
    return links


class Calendar:
    """`/events`, `/events/week` and `/events/month`."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], env: Env) -> None:
        self._sessions = sessions
        self._env = env
        self._kept: OrderedDict[tuple[object, ...], calendar.Window] = OrderedDict()

    async def _window(
        self,
        key: tuple[object, ...],
        start: datetime,
        end: datetime,
        chosen: tuple[str | None, str | None],
    ) -> calendar.Window:
        """The occurrences in [start, end), read once per version of the events and *key*."""
        async with self._sessions() as session:
            current = await service.version(session)
            full = (current, *key)
            found = self._kept.get(full)
            if found is not None:
                return found
            tier, kind = chosen
            seen = await calendar.window(session, start, end, tier=tier, kind=kind)
        self._kept = OrderedDict((k, v) for k, v in self._kept.items() if k[0] == current)
        self._kept[full] = seen
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)
        return seen

    def _common(self, tier: str | None, kind: str | None) -> dict[str, object]:
        return {
            "tier": tier,
            "kind": kind,
            "tiers": TIERS,
            "kinds": KINDS,
            "subscribe": subscriptions(self._env.web.url),
            "filter_query": urlencode({k: v for k, v in (("tier", tier), ("kind", kind)) if v}),
        }

    async def upcoming(self, request: PageRequest) -> View:
        tier, kind = feed.filters(request.query)
        days = _days(request.query.get("days"))
        now = request.now
        # Rounded to the minute, so a page asked again within it comes from the cache.
        start = now.replace(second=0, microsecond=0)
        seen = await self._window(
            ("list", days, tier, kind, start), start, start + timedelta(days=days), (tier, kind)
        )
        rows = [shown(e, o) for e, o in seen.found if o.start > now]
        context = {**self._common(tier, kind), "rows": rows, "days": days, "cut": seen.cut}
        return View("events/list.html", context, title="Upcoming events")

    async def month(self, request: PageRequest) -> View:
        tier, kind = feed.filters(request.query)
        first = calendar.month_of(request.query.get("month"), request.now)
        following = calendar.next_month(first)
        last = following - timedelta(days=1)
        return await self._grid(
            request,
            tier,
            kind,
            first,
            last,
            heading=f"{first:%B %Y}",
            mode="month",
            earlier=f"?{_query(tier, kind, month=f'{calendar.previous_month(first):%Y-%m}')}",
            later=f"?{_query(tier, kind, month=f'{following:%Y-%m}')}",
        )

    async def week(self, request: PageRequest) -> View:
        tier, kind = feed.filters(request.query)
        first = calendar.week_of(request.query.get("week"), request.now)
        last = first + timedelta(days=6)
        return await self._grid(
            request,
            tier,
            kind,
            first,
            last,
            heading=f"Week of {first:%a} {first.day} {first:%b %Y}",
            mode="week",
            earlier=f"?{_query(tier, kind, week=f'{first - timedelta(days=7):%Y-%m-%d}')}",
            later=f"?{_query(tier, kind, week=f'{first + timedelta(days=7):%Y-%m-%d}')}",
        )

    async def _grid(
        self,
        request: PageRequest,
        tier: str | None,
        kind: str | None,
        first: date,
        last: date,
        *,
        heading: str,
        mode: str,
        earlier: str,
        later: str,
    ) -> View:
        start = calendar.day_start(first)
        end = calendar.day_start(last) + timedelta(days=1)
        seen = await self._window((mode, first, tier, kind), start, end, (tier, kind))
        weeks = [
            [(day, [shown(e, o) for e, o in day.found if o.start > request.now]) for day in week]
            for week in calendar.grid(first, last, seen.found)
        ]
        context = {
            **self._common(tier, kind),
            "weeks": weeks,
            "heading": heading,
            "mode": mode,
            "earlier": earlier,
            "later": later,
            "cut": seen.cut,
            "today": request.now.astimezone(UTC).date(),
        }
        title = "Events this month" if mode == "month" else "Events this week"
        return View("events/grid.html", context, title=title)


def _query(tier: str | None, kind: str | None, **more: str) -> str:
    return urlencode({k: v for k, v in (("tier", tier), ("kind", kind), *more.items()) if v})


def _days(text: str | None) -> int:
    try:
        days = int(text) if text else LIST_DAYS
    except ValueError:
        days = LIST_DAYS
    return min(max(days, 1), MAX_DAYS)
