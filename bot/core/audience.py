"""Who reads a message, and so how a command is written for them: `/x` on Discord, the
configured prefix elsewhere, and both where the reader's platform is not known (a web page,
`anywhere`). Every command the bot shows people ("type `!link`…") is written here: through an
`Audience` (`Ctx.cmd`, `Env.audience`), `anywhere`, or a spec's usage, which starts with `lead`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CommandStyle = Literal["text", "slash"]


def style_of(platform: str) -> CommandStyle:
    """How people type commands on *platform*: Discord's are slash commands."""
    return "slash" if platform == "discord" else "text"


def lead(style: CommandStyle, prefix: str) -> str:
    """What a command starts with: `/` for slash commands, else the configured prefix."""
    return "/" if style == "slash" else prefix


@dataclass(frozen=True)
class Named:
    """An option written by name (`remind=15m`) where position would not reach it."""

    value: object


@dataclass(frozen=True)
class Audience:
    platform: str
    style: CommandStyle = "text"
    prefix: str = "!"

    @classmethod
    def of(cls, platform: str, prefix: str = "!") -> Audience:
        return cls(platform, style_of(platform), prefix)

    def command(self, name: str, /, **options: object) -> str:
        """`/mentor done id:12` on Discord, `!mentor done 12` elsewhere.

        Options go in the order given, which for text must be the command's declared order
        unless given as `Named(value)`; an option given as `...` is a placeholder (`id:…` or
        `<id>`)."""
        if self.style == "slash":
            shown = [f"{key}:{_slash(value)}" for key, value in options.items()]
            return " ".join([f"{lead(self.style, self.prefix)}{name}", *shown])
        words = [_text(key, value) for key, value in options.items()]
        return " ".join([f"{lead(self.style, self.prefix)}{name}", *words])


def anywhere(prefix: str, name: str, /, **options: object) -> tuple[str, str]:
    """A command for a reader whose platform is not known (a web page, a code to send from
    another platform): typed with the prefix, and as Discord's slash command."""
    typed = Audience("text", "text", prefix).command(name, **options)
    return typed, Audience.of("discord", prefix).command(name, **options)


def _slash(value: object) -> str:
    if value is ...:
        return "…"
    return str(value.value if isinstance(value, Named) else value)


def _text(key: str, value: object) -> str:
    if value is ...:
        return f"<{key}>"
    if isinstance(value, Named):
        return f"{key}={_word(str(value.value))}"
    return _word(str(value))


def _word(value: str) -> str:
    return f'"{value}"' if not value or any(char.isspace() for char in value) else value
