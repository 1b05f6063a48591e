"""Routing what people send: commands to their handlers, other messages and joins to listeners.

Every platform ends up here, so permissions, the transaction and error handling are written
once. One command is one transaction: the caller's Person is resolved in it, the handler runs in
it, and it commits once; the changes it noted wake planners only after that commit. A handler's
`UserError` becomes a short reply with usage; anything else is logged with an error id and
answered with an apology, never a traceback.

A caller that carries its platform's event id is answered once per id, whichever instance gets
the event and however often, when answering it changed something: the id is recorded (`Record`)
at the end of the command's own transaction when that transaction wrote, so it is kept exactly
when the command's work is, and a replayed event gets `None`, which adapters answer with
silence, or, on a platform that sends once per event whatever the tries (`Caller.resends`), the
answer kept with the record, so a crash between the commit and the send loses no answer. A
read-only command writes nothing, the id included; its replay is answered again.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any, Protocol, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.audience import Audience
from bot.core.context import Caller, Ctx, Role
from bot.core.errors import UserError
from bot.core.limits import Limit, Throttle, try_again
from bot.core.markup import code
from bot.core.observe import NOBODY, Observer, Outcome
from bot.core.parser import bind, convert
from bot.core.reply import Reply
from bot.core.retry import retried
from bot.core.runtime import Runtime
from bot.core.spec import SPEC_ATTRIBUTE, CommandSpec, Handler, clean

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_MESSAGE = 4000

# Finds or creates the Person behind a caller, inside the command's transaction.
Resolve = Callable[[AsyncSession, Caller, datetime], Awaitable[int]]
Listener = Callable[[Ctx, str], Awaitable[Reply | None]]
JoinListener = Callable[[Ctx, Sequence[str]], Awaitable[None]]
Consequence = Callable[[Ctx, Mapping[str, Any]], Awaitable[str | None]]
# A command's answer and how it went; no outcome for a replayed event, which is no command.
Step = tuple[Reply | None, Outcome | None]


@dataclass(frozen=True)
class Earlier:
    """The caller's event was handled before; *reply* is its answer, when it was kept."""

    reply: Reply | None = None


class Record(Protocol):
    """At the end of a transaction that handled the caller's event: `Earlier` when it already
    was handled, else None. Records it, with *reply* to give again on a replay, when the
    transaction wrote, or always when told to *keep* it."""

    async def __call__(
        self,
        session: AsyncSession,
        caller: Caller,
        now: datetime,
        reply: Reply | None = None,
        *,
        keep: bool = False,
    ) -> Earlier | None: ...


class _Handled(Exception):
    """The event was handled before, here or by another instance."""

    def __init__(self, earlier: Earlier) -> None:
        super().__init__()
        self.reply = earlier.reply


class _Unanswered(Exception):
    """A listener's answer went over its limit: undo it, and say nothing."""


class Router:
    def __init__(
        self,
        runtime: Runtime,
        resolve: Resolve,
        observer: Observer = NOBODY,
        throttle: Throttle | None = None,
        record: Record | None = None,
        transient: Callable[[BaseException], bool] = lambda exc: False,
    ) -> None:
        self.runtime = runtime
        self.observer = observer
        self.prefix = runtime.env.prefix
        self._resolve = resolve
        self._throttle = throttle
        self._record = record
        self._transient = transient
        self._specs: dict[str, CommandSpec] = {}
        self._aliases: dict[tuple[str, ...], CommandSpec] = {}
        self._message_listeners: dict[str, list[tuple[Listener, Limit | None]]] = {}
        self._join_listeners: dict[str, list[JoinListener]] = {}
        self._joining = asyncio.Lock()
        self._consequences: dict[str, list[Consequence]] = {}

    def add(self, handler: Handler) -> None:
        spec: CommandSpec | None = getattr(handler, SPEC_ATTRIBUTE, None)
        if spec is None:
            raise TypeError(f"{handler!r} is not declared with @command")
        clash = self._clash(spec)
        if clash:
            raise ValueError(f"command {spec.name!r} clashes with {clash!r}")
        self._specs[spec.name] = spec

    def add_consequence(self, target: str, consequence: Consequence) -> None:
        """Let another cog say, in *target*'s reply, what the command does to what it keeps.

        Deleting an event releases the sprint issues kept for it; the events cog cannot know
        that, so the sprints cog tells the organizer in the same reply. *consequence* runs in
        the command's transaction, before the handler, with its converted options; its note
        is added only when the command succeeds."""
        self._consequences.setdefault(target, []).append(consequence)

    def check_consequences(self) -> None:
        for target in self._consequences:
            if target not in self._specs:
                raise ValueError(f"a consequence targets {target!r}, which is not registered")

    def add_module(self, module: ModuleType) -> None:
        """Register every @command handler a cog's commands module defines."""
        for value in vars(module).values():
            if callable(value) and hasattr(value, SPEC_ATTRIBUTE):
                self.add(value)

    def add_alias(self, prefix: str, target: str) -> None:
        """Let typed lines starting with *prefix* run *target* when no command of that name fits.

        Discord cannot have `/faq` both as a command and as a group, so the question command is
        `faq ask`; with `add_alias("faq", "faq ask")` text users may still type `!faq how do I…`,
        while `!faq list` keeps reaching `faq list`. Slash commands are unaffected.
        """
        words = tuple(prefix.lower().split())
        spec = self._specs.get(target)
        if spec is None:
            raise ValueError(f"alias {prefix!r} targets {target!r}, which is not registered")
        if not 1 <= len(words) <= 3 or " ".join(words) in self._specs or words in self._aliases:
            raise ValueError(f"alias {prefix!r} must be 1-3 words, not a command, and new")
        self._aliases[words] = spec

    def _clash(self, new: CommandSpec) -> str | None:
        """Discord cannot have `/faq` both as a command and as a group, nor two of one name."""
        for name, spec in self._specs.items():
            shorter, longer = sorted((spec.words, new.words), key=len)
            if longer[: len(shorter)] == shorter:
                return name
        return None

    @property
    def specs(self) -> list[CommandSpec]:
        return sorted(self._specs.values(), key=lambda spec: spec.name)

    def get(self, name: str) -> CommandSpec | None:
        return self._specs.get(name)

    def allowed(self, role: Role) -> list[CommandSpec]:
        return [spec for spec in self.specs if spec.role <= role]

    def strip_prefix(self, body: str) -> str | None:
        """The command text of a chat message, or None when it is not addressed to the bot."""
        if not body.startswith(self.prefix):
            return None
        rest = body[len(self.prefix) :]
        return rest if rest[:1].isalpha() else None

    async def handle_text(self, caller: Caller, text: str) -> Reply | None:
        """Run a typed command line such as `event create "Sprint" start=…` (no prefix);
        None when the caller's event was handled before."""
        text = clean(text)
        if len(text) > MAX_MESSAGE:
            too_long = Reply(
                f"That message is too long for a command ({len(text):,} characters; the limit "
                f"is {MAX_MESSAGE:,}). Shorten it, or put long text in a link.",
                error=True,
            )
            return (await self._refused(caller, too_long, "refused"))[0]
        found = self._find(text)
        if found is not None:
            return await self._run_text(caller, *found, text)
        lowered = [word.lower() for word in text.split(maxsplit=3)]
        return (await self._refused(caller, self._unknown(caller, lowered), "refused"))[0]

    def find(self, text: str) -> CommandSpec | None:
        """The command a typed line (no prefix) runs, if any."""
        found = self._find(text)
        return None if found is None else found[0]

    def _find(self, text: str) -> tuple[CommandSpec, int] | None:
        """The command a typed line runs and how many of its words name it."""
        lowered = [word.lower() for word in text.split(maxsplit=3)]
        for size in (3, 2, 1):
            spec = self._specs.get(" ".join(lowered[:size])) if len(lowered) >= size else None
            if spec is not None:
                return spec, size
        for prefix, spec in self._aliases.items():
            if tuple(lowered[: len(prefix)]) == prefix:
                return spec, len(prefix)
        return None

    async def _run_text(
        self, caller: Caller, spec: CommandSpec, size: int, text: str
    ) -> Reply | None:
        """Run *spec* on what follows the first *size* words of *text*."""

        async def run() -> Step:
            if caller.role < spec.role:
                return await self._refused(caller, self._forbidden(spec, caller), "forbidden")
            parts = text.split(maxsplit=size)
            try:
                raw = bind(spec, parts[size] if len(parts) > size else "")
            except UserError as exc:
                refusal = self._refusal(
                    spec, caller, UserError(exc.message, show_usage=True, plain=exc.plain)
                )
                return await self._refused(caller, refusal, "refused")
            return await self._run(caller, spec, raw)

        return await self._observed(spec, run)

    async def invoke(self, caller: Caller, spec: CommandSpec, raw: dict[str, Any]) -> Reply | None:
        """Run *spec* with raw option values (text, or typed values from Discord); None when
        the caller's event was handled before."""

        async def run() -> Step:
            if caller.role < spec.role:
                return await self._refused(caller, self._forbidden(spec, caller), "forbidden")
            return await self._run(caller, spec, raw)

        return await self._observed(spec, run)

    async def _observed(
        self, spec: CommandSpec, run: Callable[[], Awaitable[Step]]
    ) -> Reply | None:
        """Every command, whatever its platform, is counted here once, by its spec's name; a
        replayed event is not a command."""
        started = time.perf_counter()
        reply, outcome = await run()
        if outcome is not None:
            self.observer.command(spec.name, outcome, time.perf_counter() - started)
        return reply

    async def _refused(self, caller: Caller, refusal: Reply, outcome: Outcome) -> Step:
        """A refusal outside a command's transaction is recorded on its own, so it too is
        given once per event."""
        if caller.event_id is None or self._record is None:
            return refusal, outcome
        runtime, record = self.runtime, self._record

        async def kept() -> Earlier | None:
            async with runtime.transaction() as session:
                return await record(session, caller, runtime.now(), refusal, keep=True)

        earlier = await self._retried(caller, kept)
        if earlier is not None:
            return self._again(caller, earlier.reply), None
        return refusal, outcome

    @staticmethod
    def _again(caller: Caller, reply: Reply | None) -> Reply | None:
        """What a replayed event gets: its kept answer, on a platform that sends it once
        whatever the number of tries, else nothing."""
        return reply if caller.resends else None

    async def _run(self, caller: Caller, spec: CommandSpec, raw: dict[str, Any]) -> Step:
        try:
            args = convert(spec, raw)
            person_id: int | None = None
            if spec.limit is not None:
                person_id, wait = await self._limited(caller, spec.name, spec.limit)
                if wait is not None:
                    what = code(self.usage_name(spec, caller))
                    limited = Reply(
                        try_again(spec.limit, what, wait), error=True, private=spec.private
                    )
                    return limited, "refused"
            reply = await self._in_context(
                caller, lambda ctx: self._call(spec, ctx, args), person_id
            )
        except _Handled as handled:
            return self._again(caller, handled.reply), None
        except UserError as exc:
            # The refusal rolled the command back, its record with it.
            return await self._refused(caller, self._refusal(spec, caller, exc), "refused")
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception("command %r failed (error id %s)", spec.name, error_id)
            apology = Reply(
                f"Sorry, something went wrong on my side (error id {code(error_id)}). "
                "Nothing was changed; please try again, or tell an organizer.",
                error=True,
            )
            return apology, "error"
        assert reply is not None
        return reply, "refused" if reply.error else "ok"

    async def _limited(
        self, caller: Caller, bucket: str, limit: Limit
    ) -> tuple[int | None, timedelta | None]:
        """Count one run of *bucket* by the caller, in a transaction of its own so that a run
        that then fails (a wrong link code) counts too; the caller's Person, resolved and
        committed there for the command's own transaction, and how long to wait when over
        *limit*."""
        if self._throttle is None:
            return None, None
        runtime = self.runtime
        throttle = self._throttle

        async def count() -> tuple[int, datetime, datetime | None]:
            async with runtime.transaction() as session:
                now = runtime.now()
                person_id = await self._resolve(session, caller, now)
                return person_id, now, await throttle(session, bucket, person_id, limit, now)

        person_id, now, again = await self._retried(caller, count)
        return person_id, None if again is None else max(again - now, timedelta(seconds=1))

    async def _over(self, ctx: Ctx, bucket: str, limit: Limit) -> bool:
        if self._throttle is None:
            return False
        return (
            await self._throttle(ctx.session, bucket, ctx.person_id, limit, ctx.now()) is not None
        )

    async def _call(self, spec: CommandSpec, ctx: Ctx, args: dict[str, Any]) -> Reply:
        """Platforms pick a reply's visibility from the spec before it is ready (Discord
        defers), so a private reply from a command not declared private is a bug: rolled back,
        logged and answered with the apology."""
        notes = [
            note
            for consequence in self._consequences.get(spec.name, ())
            if (note := await consequence(ctx, args))
        ]
        reply = await spec.func(ctx, **args)
        if reply.private and not spec.private:
            raise TypeError(f"{spec.name} answered privately; declare it private=True")
        if notes and not reply.error:
            reply.text = "\n".join([reply.text, *notes])
        if spec.private:
            reply.private = True
        return reply

    async def _in_context(
        self,
        caller: Caller,
        work: Callable[[Ctx], Awaitable[Reply | None]],
        person_id: int | None = None,
    ) -> Reply | None:
        """One transaction for one piece of work as *caller*, whose *person_id* is resolved in
        it unless known already; `_Handled` when its event was.

        When the store fails for a moment (a connection ended, PostgreSQL restarting), the
        work is run again in a new transaction, a few times, instead of answered with an
        apology. Only for an event the store records: if the failure hid a commit that went
        through, the retry finds its record and gives the answer kept with it."""
        tries = 0

        async def attempt() -> Reply | None:
            nonlocal tries
            tries += 1
            try:
                return await self._once(caller, work, person_id)
            except _Handled as handled:
                if tries == 1 or handled.reply is None:
                    raise
                return handled.reply

        return await self._retried(caller, attempt)

    async def _retried(self, caller: Caller, work: Callable[[], Awaitable[T]]) -> T:
        """*work*, a transaction, run again a few times when the store fails for a moment,
        for a caller whose event the store records."""

        def transient(exc: Exception) -> bool:
            return (
                not isinstance(exc, _Handled)
                and caller.event_id is not None
                and self._transient(exc)
            )

        return await retried(work, transient, "the work")

    async def _once(
        self,
        caller: Caller,
        work: Callable[[Ctx], Awaitable[Reply | None]],
        person_id: int | None,
    ) -> Reply | None:
        runtime = self.runtime
        async with runtime.transaction() as session:
            if person_id is None:
                person_id = await self._resolve(session, caller, runtime.now())
            done = await work(
                Ctx(caller, person_id, session, runtime.env, runtime.clock, runtime.roles)
            )
            record = self._record if caller.event_id is not None else None
            if record is not None and (
                earlier := await record(session, caller, runtime.now(), done)
            ):
                raise _Handled(earlier)
            return done

    def add_listener(self, purpose: str, listener: Listener, limit: Limit | None = None) -> None:
        """Something that may answer ordinary messages in rooms with *purpose* (e.g. "help"),
        at most *limit* times per person: past it, the answer and what it wrote are undone,
        silently, since nobody asked the bot anything."""
        self._message_listeners.setdefault(purpose, []).append((listener, limit))

    def listens(self, purposes: Iterable[str]) -> bool:
        return any(purpose in self._message_listeners for purpose in purposes)

    async def handle_message(
        self, caller: Caller, text: str, purposes: Iterable[str]
    ) -> Reply | None:
        """Offer a non-command message to the listeners of its room; the first answer wins.

        Nobody asked the bot anything, so every failure is logged and stays silent."""
        listeners = [
            (f, limit, f"{p} answers")
            for p in purposes
            for f, limit in self._message_listeners.get(p, [])
        ]
        text = clean(text)
        if not listeners or len(text) > MAX_MESSAGE:
            return None

        async def first_answer(ctx: Ctx) -> Reply | None:
            for listener, limit, bucket in listeners:
                if (reply := await listener(ctx, text)) is None:
                    continue
                if limit is not None and await self._over(ctx, bucket, limit):
                    raise _Unanswered
                return reply
            return None

        try:
            return await self._in_context(caller, first_answer)
        except _Handled as handled:
            return self._again(caller, handled.reply)
        except _Unanswered:
            return None
        except Exception:
            log.exception("a message listener failed on %s in %s", caller.platform, caller.room_id)
            return None

    async def suggest(self, spec: CommandSpec, name: str, typed: str) -> list[str]:
        """Completions for option *name* as someone types it: at most 25, each at most 100
        characters (Discord's limits). Nobody pressed enter yet, so failures offer nothing."""
        option = spec.option(name)
        if option is None or option.suggest is None:
            return []
        try:
            async with self.runtime.sessions() as session:
                found = await option.suggest(session, typed[:MAX_MESSAGE])
        except Exception:
            log.exception("suggestions for %s %s failed", spec.name, name)
            return []
        return [text[:100] for text in found[:25]]

    def add_join_listener(self, purpose: str, listener: JoinListener) -> None:
        """Something to do when a person joins rooms with *purpose* (e.g. "welcome"); it gets
        the ids of those rooms and answers through the outbox, never directly."""
        self._join_listeners.setdefault(purpose, []).append(listener)

    def wants_joins(self, purposes: Iterable[str]) -> bool:
        return any(purpose in self._join_listeners for purpose in purposes)

    async def handle_join(self, caller: Caller, rooms: Mapping[str, Iterable[str]]) -> None:
        """*caller* joined *rooms* (room id -> purposes) at once: a Matrix room, or every
        channel of the Discord server they joined. One transaction for all listeners, and one
        join at a time: a raid handled in parallel would only fight over the same rows. Nobody
        asked the bot anything, so a failure is logged and stays silent."""
        calls: list[tuple[JoinListener, list[str]]] = []
        for purpose, listeners in self._join_listeners.items():
            where = [room for room, purposes in rooms.items() if purpose in purposes]
            calls += [(listener, where) for listener in listeners if where]
        if not calls:
            return

        async def each(ctx: Ctx) -> None:
            for listener, where in calls:
                await listener(ctx, where)

        try:
            async with self._joining:
                await self._in_context(caller, each)
        except Exception:
            log.exception("a join listener failed on %s in %s", caller.platform, caller.room_id)

    def usage_name(self, spec: CommandSpec, caller: Caller) -> str:
        return self._audience(caller).command(spec.name)

    def _audience(self, caller: Caller) -> Audience:
        return Audience(caller.platform, caller.style, self.prefix)

    def _forbidden(self, spec: CommandSpec, caller: Caller) -> Reply:
        return Reply(
            f"Only {spec.role.label}s can use {code(self.usage_name(spec, caller))}.", error=True
        )

    def _refusal(self, spec: CommandSpec, caller: Caller, exc: UserError) -> Reply:
        lines = [exc.shown()]
        if exc.show_usage:
            lines.append(f"Usage: {code(spec.usage(caller.style, self.prefix))}")
            lines.append(f"Example: {code(spec.example_text(caller.style, self.prefix))}")
        return Reply("\n".join(lines), error=True)

    def _unknown(self, caller: Caller, words: list[str]) -> Reply:
        allowed = self.allowed(caller.role)
        depth, group = 0, []
        for size in (2, 1):
            prefix = tuple(words[:size])
            group = [s for s in allowed if len(s.words) > size and s.words[:size] == prefix]
            if group:
                depth = size
                break
        audience = self._audience(caller)
        if group and len(words) == depth:
            names = ", ".join(code(audience.command(spec.name)) for spec in group)
            typed = code(audience.command(" ".join(words)))
            return Reply(f"{typed} needs a subcommand: {names}.", error=True)
        typed = audience.command(" ".join(words[: depth + 1]) or "(nothing)")
        suggestion = self._closest(words, group or allowed)
        hint = f" Did you mean {code(audience.command(suggestion.name))}?" if suggestion else ""
        return Reply(
            f"I don't know the command {code(typed)}.{hint} "
            f"Type {code(audience.command('help'))} to see what I can do.",
            error=True,
        )

    @staticmethod
    def _closest(words: list[str], specs: Iterable[CommandSpec]) -> CommandSpec | None:
        by_name = {spec.name: spec for spec in specs}
        for size in (3, 2, 1):
            typed = " ".join(words[:size])
            names = [name for name in by_name if len(name.split()) == size]
            match = difflib.get_close_matches(typed, names, n=1, cutoff=0.5)
            if match:
                return by_name[match[0]]
        return None
