"""Event management for organizers on the web: create, edit, skip, move, cancel and delete,
through the same `editing` functions as the `event` commands, so a form refuses what the
command refuses with the same message. Every POST commits in one transaction, wakes the
announcement planner as a command does, and answers with a redirect to a page saying what
happened; a refusal goes back to the form with the message and what was typed. Cancelling and
deleting say what the other cogs say in the command's reply (sprint issues kept for the event
opened to everyone), from the same notes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.bus import note
from bot.core.context import Caller, Ctx
from bot.core.errors import UserError
from bot.core.markup import to_plain
from bot.core.pages import PageRequest, Redirect, View
from bot.core.runtime import Runtime
from bot.core.spec import SPEC_ATTRIBUTE, CommandSpec
from cogs.events import commands, editing, service
from cogs.events.models import KINDS, TIERS, Event
from cogs.events.pages import shown
from cogs.events.topics import EVENTS

BASE = "/events/manage"
# Events listed on the management page, soonest first; others are reached by number.
LISTED = 100
SHOWN_NEXT = 8
CREATE_FIELDS = (
    "title",
    "start",
    "tz",
    "repeat",
    "until",
    "count",
    "duration",
    "kind",
    "tier",
    "link",
    "reminders",
    "rooms",
    "description",
    "mention",
)


def _given(form: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    """The fields filled in; an empty field is one left alone, as an option not typed."""
    return {name: form[name].strip() for name in names if form.get(name, "").strip()}


def _back(path: str, problem: str, typed: Mapping[str, str] | None = None) -> Redirect:
    return Redirect(f"{path}?{urlencode({**(typed or {}), 'problem': problem})}")


def _reminders(event: Event) -> str:
    minutes = [int(m) for m in event.reminders.split(",") if m]
    return ",".join(f"{m}m" for m in minutes) or "none"


def _current(event: Event) -> dict[str, str]:
    """The event's fields as `event edit` takes them, to fill the form and to tell what the
    organizer changed."""
    return {
        "title": event.title,
        "start": f"{event.start_local:%Y-%m-%d %H:%M}",
        "tz": event.timezone,
        "repeat": event.rrule or "none",
        "duration": str(event.duration_min),
        "kind": event.kind,
        "tier": event.tier,
        "link": event.link or "",
        "reminders": _reminders(event),
        "description": event.description or "",
        "mention": event.mention_role or "",
    }


# What other cogs say in a command's reply, given the page's context and the options.
Notes = Callable[[Ctx, Mapping[str, Any]], Awaitable[list[str]]]


class Manage:
    """`/events/manage` and `/events/manage/{id}`, and the forms they post."""

    def __init__(self, runtime: Runtime, notes: Mapping[str, Notes]) -> None:
        self._runtime = runtime
        self._notes = notes
        # As the consequences' notes write commands on these pages: a `web` caller's.
        self._web = runtime.env.audience("web")

    async def index(self, request: PageRequest) -> View:
        async with self._runtime.sessions() as session:
            query = (
                select(Event)
                .where(col(Event.cancelled_at).is_(None), col(Event.next_start).is_not(None))
                .order_by(col(Event.next_start), col(Event.id))
                .limit(LISTED)
            )
            events = list((await session.exec(query)).all())
        rows = [(event, _next_text(event)) for event in events]
        context = {
            "rows": rows,
            "kinds": KINDS,
            "tiers": TIERS,
            "typed": {name: request.query.get(name, "") for name in CREATE_FIELDS},
            "problem": request.query.get("problem"),
            "done": request.query.get("done"),
            "zone": self._runtime.env.timezone,
        }
        return View("events/manage.html", context, title="Manage events")

    async def event(self, request: PageRequest) -> View:
        event_id = _event_id(request)
        now = request.now
        async with self._runtime.sessions() as session:
            event = await service.get_event(session, event_id, self._web)
            changes = await service.changes_of(session, event_id)
        upcoming = service.expand(event, changes, after=now, limit=SHOWN_NEXT)
        zone = service.zone_of(event)
        nexts = [
            (shown(event, o), f"{o.start.astimezone(zone):%Y-%m-%d}", o.moved) for o in upcoming
        ]
        context = {
            "event": event,
            "values": {**_current(event), **_given(request.query, editing.EDITABLE)},
            "nexts": nexts,
            "kinds": KINDS,
            "tiers": TIERS,
            "problem": request.query.get("problem"),
            "done": request.query.get("done"),
            "base": BASE,
        }
        return View("events/manage_event.html", context, title=f"Event #{event.id}")

    async def create(self, request: PageRequest) -> Redirect:
        typed = _given(request.form, CREATE_FIELDS)
        assert request.viewer is not None
        try:
            given = _options(commands.event_create, typed)
            async with self._runtime.transaction() as session:
                new = editing.new_event(
                    title=given["title"],
                    start=given["start"],
                    tz=given.get("tz"),
                    default_zone=self._runtime.env.timezone,
                    repeat=given["repeat"],
                    until=given.get("until"),
                    count=given.get("count"),
                    duration=given["duration"],
                    kind=given["kind"],
                    tier=given["tier"],
                    link=given.get("link"),
                    reminders=given["reminders"],
                    rooms=editing.rooms(self._runtime.env.rooms, given.get("rooms")),
                    description=given.get("description"),
                    mention=editing.existing_role(self._runtime.roles, given.get("mention")),
                )
                event, _ = await service.create_event(
                    session, new, person_id=request.viewer.person_id, now=self._runtime.now()
                )
                note(session, EVENTS)
        except UserError as refused:
            return _back(BASE, to_plain(refused.shown()), typed)
        return Redirect(f"{BASE}/{event.id}?{urlencode({'done': f'Created event #{event.id}.'})}")

    async def edit(self, request: PageRequest) -> Redirect:
        async def change(session: AsyncSession, event: Event) -> str:
            before = _current(event)
            typed = _given(request.form, editing.EDITABLE)
            changed = {k: v for k, v in typed.items() if v != before.get(k)}
            for name in editing.CLEARABLE:
                if request.form.get(f"clear-{name}") and before[name]:
                    changed[name] = editing.CLEAR
            if before["mention"] and not request.form.get("mention", "").strip():
                changed["mention"] = "none"
            read = _options(commands.event_edit, {"id": str(event.id), **changed})
            given = {k: str(v) for k, v in read.items() if k != "id"}
            if "mention" in given:
                given["mention"] = (
                    editing.existing_role(self._runtime.roles, given["mention"]) or "none"
                )
            await editing.edit(session, event, given, self._runtime.now())
            return f"Updated: {', '.join(sorted(given))}."

        return await self._change(request, change, keep_typed=True)

    async def skip(self, request: PageRequest) -> Redirect:
        async def change(session: AsyncSession, event: Event) -> str:
            date = _field(request.form, "date", "2027-01-04")
            skipped = await editing.skip(session, event, date, self._runtime.now())
            day = skipped.original_start.astimezone(service.zone_of(event))
            return f"Skipped the occurrence of {day:%a %d %b %Y}."

        return await self._change(request, change)

    async def move(self, request: PageRequest) -> Redirect:
        async def change(session: AsyncSession, event: Event) -> str:
            date = _field(request.form, "date", "2027-01-04")
            start = _field(request.form, "start", "2027-01-05 17:00")
            moved, new_start = await editing.move(
                session, event, date, start, self._runtime.now(), self._web
            )
            zone = service.zone_of(event)
            return (
                f"Moved the occurrence of {moved.original_start.astimezone(zone):%a %d %b %Y} "
                f"to {new_start.astimezone(zone):%a %d %b %Y %H:%M} {zone.key}."
            )

        return await self._change(request, change)

    async def cancel(self, request: PageRequest) -> Redirect:
        async def change(session: AsyncSession, event: Event) -> str:
            notes = await self._said(request, session, "event cancel", event)
            done = await editing.cancel(session, self._runtime.env, event, self._runtime.now())
            return _plain([done, *notes])

        return await self._change(request, change)

    async def delete(self, request: PageRequest) -> Redirect:
        async def change(session: AsyncSession, event: Event) -> str:
            if request.form.get("confirm") != "yes":
                raise UserError(f"Tick the box to confirm deleting event #{event.id}.")
            notes = await self._said(request, session, "event delete", event)
            done = await editing.delete(session, event, self._runtime.now())
            return _plain([done, *notes])

        return await self._change(request, change, after=BASE)

    async def _said(
        self, request: PageRequest, session: AsyncSession, command: str, event: Event
    ) -> list[str]:
        """What the other cogs say in *command*'s reply, asked as the command asks them."""
        viewer = request.viewer
        assert viewer is not None
        caller = Caller("web", str(viewer.person_id), viewer.name, viewer.role, "web")
        runtime = self._runtime
        ctx = Ctx(caller, viewer.person_id, session, runtime.env, runtime.clock, runtime.roles)
        return await self._notes[command](ctx, {"id": event.id})

    async def _change(
        self,
        request: PageRequest,
        change: Callable[[AsyncSession, Event], Awaitable[str]],
        *,
        keep_typed: bool = False,
        after: str | None = None,
    ) -> Redirect:
        event_id = _event_id(request)
        page = f"{BASE}/{event_id}"
        try:
            async with self._runtime.transaction() as session:
                event = await service.get_event(session, event_id, self._web)
                done = await change(session, event)
                note(session, EVENTS)
        except UserError as refused:
            typed = _given(request.form, editing.EDITABLE) if keep_typed else None
            return _back(page, to_plain(refused.shown()), typed)
        return Redirect(f"{after or page}?{urlencode({'done': done})}")


def _plain(lines: Sequence[str]) -> str:
    """A reply's lines as a page shows them: chat markup read as plain text."""
    return " ".join(to_plain(line) for line in lines)


def _event_id(request: PageRequest) -> int:
    text = request.path.get("id", "")
    if not text.isdigit():
        raise UserError(f"There is no event #{text[:20]}. See the upcoming ones on {BASE}.")
    return int(text)


def _field(form: Mapping[str, str], name: str, example: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise UserError(f"Give the {name}, e.g. {example}")
    return value


def _options(handler: Callable[..., object], typed: Mapping[str, str]) -> dict[str, Any]:
    """The form's fields read as the command reads its options (choices, lengths, ranges, with
    the same messages), and the command's defaults for those left empty."""
    spec: CommandSpec = getattr(handler, SPEC_ATTRIBUTE)
    options: dict[str, Any] = {}
    for option in spec.options:
        if option.name in typed:
            options[option.name] = option.convert(typed[option.name])
        elif option.required:
            raise UserError(f"Give the {option.name}: {option.help}.")
        elif option.default is not None:
            options[option.name] = option.default
    return options


def _next_text(event: Event) -> str:
    assert event.next_start is not None
    return f"{event.next_start:%Y-%m-%d %H:%M} UTC"
