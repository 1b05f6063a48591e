"""A feature declares itself once: its settings, room purposes, topics, CLI, and a setup that
registers its commands, listeners, pages, timers and gauges through one small object.

The core never imports a cog; the app finds them by the `convene.cogs` entry point and reads
these declarations before anything starts, so the settings schema, the known room purposes and
the bus's topics are complete before the first cog sets up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from types import ModuleType
from typing import Any, TypeVar

from apscheduler.triggers.base import BaseTrigger
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.bus import Topic
from bot.core.cli import CliCommand
from bot.core.context import Ctx, Role
from bot.core.env import Env
from bot.core.limits import Limit
from bot.core.observe import StoreGauge
from bot.core.pages import PageHandler, PageSpec
from bot.core.personal import Export, Forget, Keeper, PersonalData, Words
from bot.core.router import Consequence, JoinListener, Listener, Router
from bot.core.runtime import Runtime
from bot.core.settings import Section
from bot.core.spec import Handler
from bot.core.wakeup import WakeLoop
from bot.core.webhooks import MAX_BODY, Webhook, WebhookHandler

S = TypeVar("S", bound=Section)

# A line for the start banner while a feature has nothing yet (the FAQ is empty: how to load
# the starter one), or None: what a new store can do is shown, never added without asking.
FirstStep = Callable[[AsyncSession, Env, datetime], Awaitable[str | None]]


class Sees(Enum):
    """What a listener of a room purpose is sent: a platform may send it only once allowed to
    (Discord's privileged intents), so `convene init` must know which purposes need which."""

    MESSAGES = "messages"
    JOINS = "joins"


@dataclass(frozen=True)
class Listens:
    purpose: str
    sees: Sees
    # What people call what the listener does, for the note that asks for the permission.
    feature: str


@dataclass(frozen=True)
class Cog:
    name: str
    setup: Callable[[Setup], None]
    settings: type[Section] | None = None
    purposes: tuple[str, ...] = ()
    topics: tuple[Topic, ...] = ()
    # Its `on_message` and `on_join` listeners, declared so before setup runs.
    listens: tuple[Listens, ...] = ()
    cli: tuple[CliCommand, ...] = ()
    # The module that defines the cog's tables, imported before migrations and merges run.
    models: str | None = None
    # The package whose `templates/` folder holds the cog's page templates, named "<cog>/<file>".
    templates: str | None = None


@dataclass
class Contributions:
    """What the cogs added to the house, for the app to serve and run."""

    pages: dict[str, PageSpec] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    timers: list[WakeLoop] = field(default_factory=list)
    first_steps: list[FirstStep] = field(default_factory=list)
    gauges: dict[str, StoreGauge] = field(default_factory=dict)
    personal: PersonalData = field(default_factory=PersonalData)
    # What other cogs say in a command's reply, by command: for a page doing what it does.
    consequences: dict[str, list[Consequence]] = field(default_factory=dict)


class Setup:
    """The one object a cog's setup gets: what it may read and where it may register."""

    def __init__(
        self,
        runtime: Runtime,
        router: Router,
        contributions: Contributions,
        cog: str = "",
        listens: Iterable[Listens] = (),
    ) -> None:
        self.runtime = runtime
        self._router = router
        self._contributions = contributions
        self._cog = cog
        self._listens = {(declared.purpose, declared.sees) for declared in listens}

    def personal_data(
        self, *, export: Export, forget: Forget, words: Mapping[str, Words] | None = None
    ) -> None:
        """What this cog keeps about a person: *export* gives it to them, *forget* removes it
        or detaches it from them (`me export`, `me forget`); *words* say each kind of record
        the export holds in words people read, and what forgetting does to it."""
        self._contributions.personal.add(Keeper(self._cog, export, forget, words or {}))

    @property
    def personal(self) -> PersonalData:
        """Every cog's part, complete once all have set up: for the commands that act on it."""
        return self._contributions.personal

    def section(self, kind: type[S]) -> S:
        return self.runtime.env.section(kind)

    def commands(self, *sources: ModuleType | Handler) -> None:
        """Register @command handlers, or every one a module defines."""
        for source in sources:
            if isinstance(source, ModuleType):
                self._router.add_module(source)
            else:
                self._router.add(source)

    def alias(self, words: str, target: str) -> None:
        self._router.add_alias(words, target)

    def consequence(self, command: str, note: Consequence) -> None:
        """Another cog's *command* changes what this cog keeps: *note* says how, in its reply."""
        self._router.add_consequence(command, note)
        self._contributions.consequences.setdefault(command, []).append(note)

    def consequences(
        self, command: str
    ) -> Callable[[Ctx, Mapping[str, Any]], Awaitable[list[str]]]:
        """What the other cogs say about *command*, for a page that does what the command
        does (with the same service functions) and must tell the same: run with the page's
        context and the command's options, in the page's transaction, before the change."""
        found = self._contributions.consequences.setdefault(command, [])

        async def notes(ctx: Ctx, options: Mapping[str, Any]) -> list[str]:
            return [note for consequence in found if (note := await consequence(ctx, options))]

        return notes

    def on_message(self, purpose: str, listener: Listener, *, limit: Limit | None = None) -> None:
        self._declared(purpose, Sees.MESSAGES)
        self._router.add_listener(purpose, listener, limit)

    def on_join(self, purpose: str, listener: JoinListener) -> None:
        self._declared(purpose, Sees.JOINS)
        self._router.add_join_listener(purpose, listener)

    def _declared(self, purpose: str, sees: Sees) -> None:
        """A listener the cog does not declare would get nothing on a platform nobody allowed
        to send it."""
        if (purpose, sees) not in self._listens:
            raise ValueError(
                f"cog {self._cog!r} listens to {sees.value} in {purpose!r} rooms without "
                "declaring it in its Cog's listens"
            )

    def page(
        self,
        path: str,
        handler: PageHandler,
        *,
        role: Role | None = None,
        title: str | None = None,
        methods: tuple[str, ...] = ("GET",),
    ) -> None:
        """A page on the web server, e.g. the calendar feed. With *role*, only a viewer logged
        in with at least that role reaches *handler*; a POST is also checked for its CSRF token.
        *title* puts the page in the navigation."""
        pages = self._contributions.pages
        if path in pages:
            raise ValueError(f"page {path!r} is registered twice")
        pages[path] = PageSpec(path, handler, role, title, methods)

    def webhook(self, path: str, handler: WebhookHandler, *, max_body: int = MAX_BODY) -> None:
        """A POST endpoint for a machine, e.g. a forge's webhook: *handler* gets the raw body
        and headers; a body longer than *max_body* bytes is refused before it is read whole."""
        hooks = self._contributions.webhooks
        if path in hooks:
            raise ValueError(f"webhook {path!r} is registered twice")
        hooks[path] = Webhook(handler, max_body)

    def first_step(self, step: FirstStep) -> None:
        """A hint for the start banner while this feature has nothing to show yet."""
        self._contributions.first_steps.append(step)

    def timer(
        self,
        name: str,
        step: Callable[[], Awaitable[float]],
        *,
        wake_on: Iterable[Topic] = (),
        schedule: BaseTrigger | None = None,
    ) -> WakeLoop:
        """Background work the app runs for as long as it runs: *step* does what is due and
        returns the seconds until it must run again; a change to *wake_on* runs it sooner, and
        so does each moment of *schedule* (an APScheduler trigger such as a CronTrigger)."""
        loop = WakeLoop(name, step, schedule=schedule)
        for topic in wake_on:
            self.runtime.bus.subscribe(topic, loop.wake)
        self._contributions.timers.append(loop)
        return loop

    def gauge(self, gauge: StoreGauge) -> None:
        """A number /metrics reads from the store at each scrape, under `convene_<name>`."""
        gauges = self._contributions.gauges
        if gauge.name in gauges:
            raise ValueError(f"gauge {gauge.name!r} is registered twice")
        gauges[gauge.name] = gauge
