"""The one text parser shared by Matrix and the console.

Arguments are positional in declared order or `name=value`; double quotes (straight or curly)
group words, and a backslash writes a quote inside them (`"the \\"dev\\" branch"`); the last text
option takes the rest of the line, so `!mentor request setup my build fails on Windows` needs no
quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.core.errors import UserError
from bot.core.markup import quoted
from bot.core.spec import CommandSpec

_QUOTES = {'"': '"', "“": "”", "„": "“", "«": "»"}
_KEYWORD = re.compile(r"^([a-z][a-z0-9]*)=")


@dataclass(frozen=True)
class Token:
    value: str
    start: int
    end: int
    quoted: bool
    key: str | None = None


def tokenize(text: str) -> list[Token]:
    """Split on whitespace, keeping quoted runs whole and remembering where each token stood."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        key = None
        if match := _KEYWORD.match(text[i:]):
            key = match.group(1)
            i += match.end()
        if i < n and text[i] in _QUOTES:
            value, i = _quoted_run(text, i)
            if i < n and not text[i].isspace():
                raise UserError(
                    f"Put a space after the closing quote in {quoted(text[start : i + 10])}."
                )
            tokens.append(Token(value, start, i, True, key))
            continue
        while i < n and not text[i].isspace():
            i += 1
        tokens.append(Token(text[start + (len(key) + 1 if key else 0) : i], start, i, False, key))
    return tokens


def _quoted_run(text: str, opening: int) -> tuple[str, int]:
    """The value of the quoted run that opens at *opening*, and where it ends; a backslash
    makes the next quote (or backslash) part of the value."""
    close = _QUOTES[text[opening]]
    value: list[str] = []
    i = opening + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in (close, "\\", '"'):
            value.append(text[i + 1])
            i += 2
            continue
        if char == close:
            return "".join(value), i + 1
        value.append(char)
        i += 1
    raise UserError(
        f"A quote opened at {quoted(text[opening : opening + 20])} is never closed. "
        'To put a quote inside quotes, write \\".'
    )


def bind(spec: CommandSpec, text: str) -> dict[str, str]:
    """Assign the argument text of one command to its options, as raw strings."""
    tokens = tokenize(text)
    values: dict[str, str] = {}
    rest = spec.rest_option
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if _is_known_keyword(spec, token):
            slot = token.key
            assert slot is not None
            if slot in values:
                raise UserError(f"{slot} is given twice.")
        else:
            slot = next((o.name for o in spec.options if o.name not in values), None)
            if slot is None:
                raise UserError(f"Too many arguments: {quoted(text[token.start :].strip(), 60)}.")
            if token.key is not None and slot != rest:
                raise UserError(f"{spec.name} has no option called {token.key!r}.")
        if slot != rest:
            values[slot] = token.value
            i += 1
            continue
        j = i
        while j + 1 < len(tokens) and not _is_known_keyword(spec, tokens[j + 1]):
            j += 1
        if j == i and (token.key is None or token.key == slot):
            values[slot] = token.value
        else:
            start = token.start + len(slot) + 1 if token.key == slot else token.start
            values[slot] = text[start : tokens[j].end]
        i = j + 1
    return values


def _is_known_keyword(spec: CommandSpec, token: Token) -> bool:
    return token.key is not None and spec.option(token.key) is not None


def convert(spec: CommandSpec, raw: dict[str, Any]) -> dict[str, Any]:
    """Check required options and convert every value; shared by text and slash commands."""
    missing = [o.name for o in spec.options if o.required and raw.get(o.name) in (None, "")]
    if missing:
        raise UserError(f"Missing {', '.join(missing)}.", show_usage=True)
    converted: dict[str, Any] = {}
    for option in spec.options:
        if option.name in raw and raw[option.name] is not None:
            try:
                converted[option.name] = option.convert(raw[option.name])
            except UserError as exc:
                raise UserError(exc.message, show_usage=True, plain=exc.plain) from None
        else:
            converted[option.name] = option.default
    return converted
