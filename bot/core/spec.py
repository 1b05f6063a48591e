"""Declaring a command once: its name, rights, help, and options read from the handler's signature.

The same spec feeds the text parser (Matrix, console), the Discord slash-command builder and the
generated help, so a command can never drift between platforms.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Literal,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

from bot.core.audience import CommandStyle, lead
from bot.core.context import Ctx, Role
from bot.core.errors import UserError
from bot.core.limits import Limit
from bot.core.markup import quoted
from bot.core.reply import Reply

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

Handler = Callable[..., Awaitable[Reply]]
# Completions for what someone has typed so far in an option (Discord's autocomplete).
Suggest = Callable[["AsyncSession", str], Awaitable[list[str]]]

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# Control characters a person never means to send (NUL breaks PostgreSQL text); tab and newline
# are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Whole numbers fit the store's INTEGER columns, so an id like 2**31 is refused, not a crash.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# Text options without a bound of their own fit one chat message.
MAX_TEXT = 2000
_TRUE = {"yes", "y", "true", "on", "1"}
_FALSE = {"no", "n", "false", "off", "0"}
SPEC_ATTRIBUTE = "__convene_command__"


@dataclass(frozen=True)
class Opt:
    """Extra facts about one option, given with `Annotated[type, Opt(...)]`.

    `word` marks a text option that is one word, such as a link: it never takes the rest of the
    line, so options declared after it can still be given positionally.
    """

    help: str = ""
    max_length: int | None = None
    min: int | None = None
    max: int | None = None
    suggest: Suggest | None = None
    word: bool = False


@dataclass(frozen=True)
class OptionSpec:
    name: str
    kind: type
    required: bool
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    min: int | None = None
    max: int | None = None
    suggest: Suggest | None = field(default=None, compare=False)
    word: bool = False

    @property
    def placeholder(self) -> str:
        shown = "|".join(self.choices) if self.choices else self.name
        return f"<{shown}>" if self.required else f"[{shown}]"

    def convert(self, value: Any) -> Any:
        """Turn text (or an already typed value from Discord) into the declared type, validated."""
        if self.choices:
            text = str(value).strip().lower()
            if text not in self.choices:
                raise UserError(f"{self.name} must be one of: {', '.join(self.choices)}.")
            return text
        if self.kind is bool:
            return self._to_bool(value)
        if self.kind is int:
            number = self._to_number(value, int, "a whole number, e.g. 7")
            return self._in_range(number)
        if self.kind is float:
            return self._in_range(self._to_number(value, float, "a number, e.g. 1.5"))
        text = clean(str(value)).strip()
        if not text:
            raise UserError(f"{self.name} cannot be empty.")
        if self.max_length is not None and len(text) > self.max_length:
            raise UserError(
                f"{self.name} is too long ({len(text):,} characters; at most {self.max_length:,})."
            )
        return text

    def _to_bool(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise UserError(f"{self.name} must be yes or no.")

    def _to_number(self, value: Any, kind: type[int] | type[float], expected: str) -> Any:
        if isinstance(value, kind) and not isinstance(value, bool):
            return value
        try:
            return kind(str(value).strip().replace("_", ""))
        except ValueError:
            raise UserError(f"{self.name} must be {expected} (got {quoted(str(value))}).") from None

    def _in_range(self, number: Any) -> Any:
        if self.min is not None and number < self.min:
            raise UserError(f"{self.name} must be at least {self.min}.")
        if self.max is not None and number > self.max:
            raise UserError(f"{self.name} must be at most {self.max}.")
        return number


@dataclass(frozen=True)
class CommandSpec:
    name: str
    func: Handler
    help: str
    role: Role
    private: bool
    options: tuple[OptionSpec, ...]
    example: str
    limit: Limit | None = None

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    @property
    def rest_option(self) -> str | None:
        """The last text option takes the rest of the line, so free text needs no quotes."""
        for option in reversed(self.options):
            if option.kind is str and not option.choices and not option.word:
                return option.name
        return None

    def option(self, name: str) -> OptionSpec | None:
        return next((option for option in self.options if option.name == name), None)

    def usage(self, style: CommandStyle = "text", prefix: str = "!") -> str:
        if style == "slash":
            args = " ".join(
                f"{o.name}:{o.placeholder[1:-1]}" if o.required else f"[{o.name}:…]"
                for o in self.options
            )
            return f"{lead(style, prefix)}{self.name} {args}".rstrip()
        placeholders = " ".join(o.placeholder for o in self.options)
        return f"{lead(style, prefix)}{self.name} {placeholders}".rstrip()

    def example_text(self, style: CommandStyle = "text", prefix: str = "!") -> str:
        return f"{lead(style, prefix)}{self.example}"


def clean(text: str) -> str:
    """*text* without the control characters nobody types."""
    return _CONTROL.sub("", text)


def _unwrap(annotation: Any) -> tuple[Any, Opt, bool]:
    """Return the bare type, its Opt, and whether None is allowed."""
    opt = Opt()
    if get_origin(annotation) is Annotated:
        annotation, *extras = get_args(annotation)
        opt = next((extra for extra in extras if isinstance(extra, Opt)), opt)
    optional = False
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        optional = len(members) < len(get_args(annotation))
        if len(members) != 1:
            raise TypeError(f"unsupported option type {annotation!r}")
        annotation = members[0]
    return annotation, opt, optional


def _option(name: str, param: inspect.Parameter, annotation: Any, command: str) -> OptionSpec:
    if not _NAME.match(name):
        raise TypeError(f"{command}: option name {name!r} must be lowercase letters and digits")
    kind, opt, optional = _unwrap(annotation)
    choices: tuple[str, ...] = ()
    if get_origin(kind) is Literal:
        choices = tuple(str(choice) for choice in get_args(kind))
        kind = str
    if kind not in (str, int, bool, float):
        raise TypeError(f"{command}: option {name!r} has unsupported type {kind!r}")
    if len(opt.help) > 100:
        raise TypeError(f"{command}: help of {name!r} is over Discord's 100 characters")
    required = param.default is inspect.Parameter.empty
    if optional and required:
        raise TypeError(f"{command}: optional option {name!r} needs a default")
    return OptionSpec(
        name=name,
        kind=kind,
        required=required,
        default=None if required else param.default,
        help=opt.help or name,
        choices=choices,
        max_length=opt.max_length if opt.max_length is not None or kind is not str else MAX_TEXT,
        min=opt.min if opt.min is not None or kind is not int else INT_MIN,
        max=opt.max if opt.max is not None or kind is not int else INT_MAX,
        suggest=opt.suggest,
        word=opt.word,
    )


def command(
    name: str,
    *,
    help: str,
    example: str | None = None,
    role: Role = Role.CONTRIBUTOR,
    private: bool = False,
    limit: Limit | None = None,
) -> Callable[[Handler], Handler]:
    """Mark an async handler `(ctx, **options) -> Reply` as the command *name* ("group sub").

    `private=True` declares that the command answers only its caller (a link code, a
    requester's details): every reply it gives is made private, and Discord defers it
    ephemerally, since a deferred answer keeps the visibility chosen when deferring. A command
    not declared private may not return a private reply: the dispatcher refuses it.

    `limit` caps how often one person may run it (a command that writes, or whose input could
    be guessed at); past it, the router answers when to try again and runs nothing.
    """
    words = name.split()
    if not 1 <= len(words) <= 3 or not all(_NAME.match(word) for word in words):
        raise TypeError(f"command name {name!r} must be 1-3 lowercase words")
    if not 1 <= len(help) <= 100:
        raise TypeError(f"{name}: help must be 1-100 characters (Discord's limit)")

    def decorate(func: Handler) -> Handler:
        signature = inspect.signature(func)
        hints = get_type_hints(func, include_extras=True)
        params = list(signature.parameters.values())
        if not params or hints.get(params[0].name) is not Ctx:
            raise TypeError(f"{name}: the first parameter must be `ctx: Ctx`")
        options = tuple(_option(p.name, p, hints[p.name], name) for p in params[1:])
        required = [o for o in options if o.required]
        if example is None and required:
            raise TypeError(f"{name}: a command with required options needs an example")
        spec = CommandSpec(
            name=name,
            func=func,
            help=help,
            role=role,
            private=private,
            options=options,
            example=example or name,
            limit=limit,
        )
        setattr(func, SPEC_ATTRIBUTE, spec)
        return func

    return decorate
