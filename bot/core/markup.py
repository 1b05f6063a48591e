"""The small markup subset replies are written in, and its renderings.

Handlers write `**bold**`, `` `code` `` and `[text](https://…)`; that subset is also Discord
markdown, so Discord gets it as it is, Matrix gets HTML and the console plain text. Text that came
from users goes through `escape` so that it can never become markup (or a link) by accident.
"""

from __future__ import annotations

import html
import re

_SPECIAL = re.compile(r"([\\*_`\[\]()~|>#-])")
_TOKEN = re.compile(
    r"\\(?P<escaped>.)"
    r"|\*\*(?P<bold>.+?)\*\*"
    r"|`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>https?://[^)\s]+)\)",
    re.DOTALL,
)
# Words that would ping a whole room if a platform ever let them through.
_MASS_MENTION = re.compile(r"@(everyone|here|room)\b", re.IGNORECASE)


def mass_mention(text: str) -> str | None:
    """The first `@everyone`, `@here` or `@room` in *text*, which user text must never carry."""
    match = _MASS_MENTION.search(text)
    return match.group(0) if match else None


def escape(text: str) -> str:
    """Make user-provided text literal in every rendering."""
    return _SPECIAL.sub(r"\\\1", text)


def quoted(text: str, limit: int = 40) -> str:
    """A person's text echoed back in a message ('…'), shortened and never markup."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"'{escape(shown)}'"


def code(text: str) -> str:
    """A code span holding *text*; backticks inside would end the span, so they become quotes."""
    return "`" + text.replace("`", "'") + "`" if text else "``"


def to_html(text: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        out.append(html.escape(text[pos : match.start()], quote=False))
        pos = match.end()
        if (char := match["escaped"]) is not None:
            out.append(html.escape(char, quote=False))
        elif (inner := match["bold"]) is not None:
            out.append(f"<strong>{to_html(inner)}</strong>")
        elif (snippet := match["code"]) is not None:
            out.append(f"<code>{html.escape(snippet, quote=False)}</code>")
        else:
            url = html.escape(match["url"], quote=True)
            out.append(f'<a href="{url}">{to_html(match["label"])}</a>')
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out).replace("\n", "<br>\n")


def to_plain(text: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        if (char := match["escaped"]) is not None:
            out.append(char)
        elif (inner := match["bold"]) is not None:
            out.append(to_plain(inner))
        elif (snippet := match["code"]) is not None:
            out.append(snippet)
        else:
            out.append(f"{to_plain(match['label'])} ({match['url']})")
    out.append(text[pos:])
    return "".join(out)
