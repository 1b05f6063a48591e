"""The small markup subset replies are written in, and its renderings.

Handlers write `**bold**`, `` `code` ``, `[text](https://…)` and `<https://…>`; that subset is
also Discord markdown, so Discord gets it as it is, Matrix gets HTML and the console plain text.
Text that came from users goes through `escape` so that it can never become markup (or a link,
or a Discord mention) by accident; a link the bot shows goes through `link`.
"""

from __future__ import annotations

import html
import re

_SPECIAL = re.compile(r"([\\*_`\[\]()~|<>#-])")
# Discord markup outside the subset: emphasis, strike and spoilers anywhere, a heading or a
# quote at the start of a line. Lists ("- ") read the same everywhere and stay.
_STRAY = re.compile(r"[*_~|]|^[#>]", re.MULTILINE)
_EMPHASIS = re.compile(r"([\\*_`~|])")
_TOKEN = re.compile(
    r"\\(?P<escaped>.)"
    r"|\*\*(?P<bold>(?:\\.|[^\\])+?)\*\*"
    r"|`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>https?://[^)\s]+)\)"
    r"|<(?P<bare>https?://[^\s<>]+)>",
    re.DOTALL,
)
# Words that would ping a whole room if a platform ever let them through.
_MASS_MENTION = re.compile(r"@(everyone|here|room)\b", re.IGNORECASE)
# Discord's mention syntax for a user, a role or a channel.
_MENTION = re.compile(r"<(@[!&]?|#)\d+>")
# A web address the bot may show as a link: no spaces, quotes or brackets to break out of it.
_URL = re.compile(r"https?://[^\s<>\[\]()\"'`\\]+")


def mass_mention(text: str) -> str | None:
    """The first `@everyone`, `@here` or `@room` in *text*, which user text must never carry."""
    match = _MASS_MENTION.search(text)
    return match.group(0) if match else None


def ping(text: str) -> str | None:
    """The first thing in *text* that pings on some platform: a mass mention, or Discord's
    `<@…>`, `<@&…>` and `<#…>`; stored text people wrote must carry none."""
    match = _MASS_MENTION.search(text) or _MENTION.search(text)
    return match.group(0) if match else None


def defuse(text: str) -> str:
    """*text* with every ping made inert by a word joiner after its `@` or `<`: it reads the
    same, and no platform sees a mention in it. For text from elsewhere (an imported calendar)
    that cannot be sent back to its author to fix."""
    text = _MASS_MENTION.sub(lambda m: "@\u2060" + m.group(1), text)
    return _MENTION.sub(lambda m: "<\u2060" + m.group(0)[1:], text)


def is_url(text: str) -> bool:
    """Whether *text* is a web address `link` may show."""
    return _URL.fullmatch(text) is not None


def link(url: str) -> str:
    """A web address as a link; only what `is_url` accepts becomes one, the rest stays text."""
    return f"<{url}>" if is_url(url) else escape(url)


def authored(text: str) -> str:
    """Markup an organizer wrote (an FAQ answer) as the bot sends it: bold, code and links
    stay, but a link shows where it leads, `[docs](https://…)` as `docs (<https://…>)`, so a
    label can never hide its address; what Discord alone would read as markup (`__`, `~~`,
    `||`, a single `*`, a `#` heading) is escaped, so the answer reads the same everywhere."""

    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        out.append(_stray(text[pos : match.start()]))
        pos = match.end()
        if (inner := match["bold"]) is not None:
            out.append(f"**{authored(inner)}**")
        elif (url := match["url"]) is not None:
            label = match["label"]
            out.append(f"<{url}>" if label == url else f"{_stray(label)} (<{url}>)")
        else:
            out.append(match.group(0))
    out.append(_stray(text[pos:]))
    return "".join(out)


def _stray(text: str) -> str:
    return _STRAY.sub(lambda match: "\\" + match.group(0), text)


def unbalanced(text: str) -> str | None:
    """What is left open in organizer-written markup (`**` or a backtick), which would run into
    whatever the bot writes after it, said in markup; None when every span is closed."""
    rest = re.sub(r"\\.", "", text)
    rest = re.sub(r"`[^`\n]+`", "", rest)
    if rest.count("`") % 2:
        return "a backtick (code) is never closed"
    if rest.count("**") % 2:
        return "a `**` (bold) is never closed"
    return None


def escape(text: str) -> str:
    """Make user-provided text literal in every rendering; an escaped `@` keeps `@everyone`
    and `@here` from pinging on Discord, where a refusal may quote them. Most names and topics
    hold nothing to escape, and a search costs a fifth of a substitution."""
    if _SPECIAL.search(text) is None and "@" not in text:
        return text
    return _MASS_MENTION.sub(r"\\@\1", _SPECIAL.sub(r"\\\1", text))


def escape_title(text: str) -> str:
    """Plain text for a Discord embed title, which reads emphasis, strike, spoilers and code
    but no links, headings or mentions: only those are escaped, so no needless backslash shows
    (Discord shows a title's backslashes as they are where there is nothing to escape)."""
    return _EMPHASIS.sub(r"\\\1", text)


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
        elif (bare := match["bare"]) is not None:
            url = html.escape(bare, quote=True)
            out.append(f'<a href="{url}">{html.escape(bare, quote=False)}</a>')
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
        elif (bare := match["bare"]) is not None:
            out.append(bare)
        else:
            out.append(f"{to_plain(match['label'])} ({match['url']})")
    out.append(text[pos:])
    return "".join(out)
