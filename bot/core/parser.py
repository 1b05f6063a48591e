"""The one text parser shared by Matrix and the console.

Arguments are positional in declared order or `name=value`; double quotes (straight or curly)
group words; the last text option takes the rest of the line, so `!mentor request setup my build
fails on Windows` needs no quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.core.errors import UserError
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
            close = _QUOTES[text[i]]
            end = text.find(close, i + 1)
            if end == -1:
                raise UserError(f"A quote opened at {text[i : i + 20]!r} is never closed.")
            value, i = text[i + 1 : end], end + 1
            if i < n and not text[i].isspace():
                raise UserError(f"Put a space after the closing quote in {text[start : i + 10]!r}.")
            tokens.append(Token(value, start, i, True, key))
            continue
        while i < n and not text[i].isspace():
            i += 1
        tokens.append(Token(text[start + (len(key) + 1 if key else 0) : i], start, i, False, key))
    return tokens


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
                raise UserError(f"Too many arguments: {text[token.start :].strip()[:60]!r}.")
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
                raise UserError(exc.message, show_usage=True) from None
        else:
            converted[option.name] = option.default
    return converted
