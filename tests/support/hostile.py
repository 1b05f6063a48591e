"""Hostile and clumsy input, generated from the command specs, and the checks every answer passes.

Everything here is read off `CommandSpec`/`OptionSpec` (kinds, choices, ranges, lengths and the
spec's own example), so a command added tomorrow is fuzzed with no new test code. The hypothesis
suite (`tests/test_fuzz.py`) draws from the strategies; `benchmarks/hostile.py` walks a fixed
corpus built from the same classes.

The checks say what a person must never see: an internal error, a refusal that changed the
store, user text turned into markup (a masked link, bold that runs on) or into a ping, in the
reply or in anything planned into the outbox, rendered for Discord and for Matrix.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings, parse_settings
from bot.core import markup
from bot.core.context import Caller, Role
from bot.core.errors import UserError
from bot.core.parser import bind
from bot.core.reply import Reply
from bot.core.router import Router
from bot.core.spec import CommandSpec, OptionSpec
from bot.delivery import decode
from bot.platforms.discord import render as discord_render
from bot.platforms.matrix import render as matrix_render

# A word that never occurs in the bot's own text: markup next to it came from the user.
SENTINEL = "zq"
EVIL = "evil.example"
APOLOGY = "something went wrong on my side"
NOW = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)

# Hand-written classes of what people type, by kind; every one is tried in every text option.
HOSTILE: dict[str, tuple[str, ...]] = {
    "markup": (
        f"[{SENTINEL}](https://{EVIL})",
        f"**{SENTINEL}**",
        "**",
        f"**{SENTINEL}",
        f"__{SENTINEL}__",
        f"*{SENTINEL}*",
        f"~~{SENTINEL}~~",
        f"||{SENTINEL}||",
        f"# {SENTINEL}",
        f"> {SENTINEL}",
        f"`{SENTINEL}",
        f'<a href="https://{EVIL}">{SENTINEL}</a>',
        f"<script>{SENTINEL}</script>",
        f"https://meet.example.org/[{SENTINEL}](https://{EVIL})",
        f"![{SENTINEL}](https://{EVIL}/i.png)",
    ),
    "pings": (
        "@everyone",
        "@here",
        "@room",
        "<@&123>",
        "<@123>",
        "<#123>",
        "@@everyone",
        "@everyone @here @room <@&123>",
        "@EVERYONE",
    ),
    "control": ("\x00", "a\x00b", "\x1b[31mred", "\u202eevil", "\u200b", "a\r\nb", "\t", "\x7f"),
    "numbers": (
        "0",
        "-1",
        "2147483647",
        "2147483648",
        "-2147483649",
        "9223372036854775808",
        "9" * 40,
        "1e309",
        "NaN",
        "inf",
        "\u0663",
        "0x10",
        "1_000",
        "+3",
        "3.0",
    ),
    "dates": (
        "9999-12-31",
        "0001-01-01",
        "9999-12-31 23:59",
        "0001-01-01 00:00",
        "2044-02-29 10:00",
        "2027-02-30",
        "2027-13-45 25:61",
        "1969-12-31 23:59",
        "2200-01-01 00:00",
        "2027-01-05 17:00",
        "tomorrow",
        "17:00",
    ),
    "zones": ("Pacific/Kiritimati", "Etc/GMT+12", "../../etc/passwd", "UTC", "Mars/Olympus"),
    "rules": (
        "FREQ=SECONDLY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=10",
        "FREQ=MINUTELY",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;COUNT=100000",
        "daily",
        "weekly",
        "monthly-nth",
    ),
    "durations": ("15m", "0", "-5", "99999999", "1 d 2 h", "30x", "1e9h", "24h,15m," * 10),
    "quotes": ('"', "\\", '\\"', '"open', "\u201ccurly\u201d", "'single'", '""', 'a"b', "\\\\"),
    "unicode": ("\U0001f389" * 50, "\u65e5\u672c\u8a9e", "e\u0301" * 30, "\ufeff", "\U0010ffff"),
    "urls": (
        "javascript:alert(1)",
        f'https://{EVIL}/"><b>x</b>',
        "https://",
        "ftp://example.org/x",
        "https://meet.example.org/core",
    ),
}


# The examples of issue 11, as they were reported, beside the classes generated from the specs.
ISSUE_LINES: tuple[tuple[str, str], ...] = (
    (
        "event create",
        'event create "Leap" "2044-02-29 10:00" repeat=FREQ=SECONDLY;INTERVAL=7;BYMONTH=2;'
        "BYMONTHDAY=29;BYDAY=MO;BYHOUR=10;BYMINUTE=0;BYSECOND=0",
    ),
    ("event create", 'event create "Far" "9999-12-31 10:00"'),
    ("event create", 'event create "Early" "0001-01-01 10:00"'),
    ("event create", 'event create "Unquoted" 2027-01-05 17:00'),
    ("event create", 'event create "@here <@&123> @room" "2027-01-05 10:00"'),
    ("event create", 'event create "Ping" "2027-01-05 10:00" mention=@@everyone'),
    (
        "event create",
        'event create "Link" "2027-01-05 10:00" '
        f"link=https://meet.example.org/[Click](https://{EVIL})",
    ),
    (
        "event create",
        'event create "Many" "2027-01-05 10:00" reminders='
        + ",".join(f"{minutes}m" for minutes in range(1, 31)),
    ),
    ("event create", f'event create "[Title](https://{EVIL})" "2027-01-05 10:00"'),
    ("event rsvp", "event rsvp 1 going date=9999-12-31"),
    ("event rsvp", "event rsvp 1 going remind=15m"),
    ("event list", f"event list days=[x](https://{EVIL})"),
    ("event show", "event show 2147483648"),
    ("mentor claim", "mentor claim 2147483648"),
    ("sprint claim", "sprint claim 2147483648"),
    ("faq vote", "faq vote 2147483648 up"),
    ("faq ask", "faq ask how do I\x00 build"),
    ("mentor request", "mentor request setup my build\x00 fails"),
    ("faq add", f'faq add bold "Bold?" "An unbalanced ** bolds [all](https://{EVIL})"'),
    ("faq edit", f'faq edit run-tests question="[Tests](https://{EVIL})"'),
    ("faq add", 'faq add ping "Who?" "@everyone knows"'),
)


def hostile_texts() -> list[str]:
    return [value for values in HOSTILE.values() for value in values]


def example_values(spec: CommandSpec) -> dict[str, str]:
    """The option values the spec's own example gives: realistic input to mutate. Whole
    numbers become 1, an id that the seeded store holds, so that the other values are read."""
    words = len(spec.words)
    parts = spec.example.split(maxsplit=words)
    try:
        values = bind(spec, parts[words] if len(parts) > words else "")
    except UserError:
        return {}
    numbers = {o.name for o in spec.options if o.kind is int}
    return {name: "1" if name in numbers else value for name, value in values.items()}


def boundary_ints(option: OptionSpec) -> list[int]:
    low = option.min if option.min is not None else -(2**31)
    high = option.max if option.max is not None else 2**31 - 1
    return [low - 1, low, low + 1, 1, 2, 3, high, high + 1, 2**31, 2**63, -(2**63), 10**30, 0]


# Strategies -----------------------------------------------------------------------------------

_fragments = st.sampled_from(hostile_texts())
_any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


def _dates() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
    near = st.datetimes(min_value=datetime(2027, 1, 4), max_value=datetime(2027, 3, 1))
    return st.one_of(moments, near).map(
        lambda moment: moment.strftime("%Y-%m-%d %H:%M").replace(" 00:00", "")
    )


_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?$")


def realistic(example: str) -> st.SearchStrategy[str]:
    """The example's own value, or for a date the same shape near the bot's clock, so that
    what is accepted is soon announced and the outbox gets read too."""
    match = _DATE_LIKE.match(example)
    if match is None:
        return st.just(example)
    shape = "%Y-%m-%d %H:%M" if match.group(1) else "%Y-%m-%d"
    near = st.datetimes(min_value=datetime(2027, 1, 4, 12, 5), max_value=datetime(2027, 1, 20))
    return st.one_of(st.just(example), near.map(lambda moment: moment.strftime(shape)))


def text_value(option: OptionSpec, example: str | None) -> st.SearchStrategy[str]:
    """What someone might type for one option: the example, its mutations, hostile classes."""
    pool: list[st.SearchStrategy[str]] = [_fragments, _any_text, _dates()]
    if option.choices:
        choices = st.sampled_from(option.choices)
        pool += [choices, choices.map(str.upper), choices.map(lambda c: f" {c}x")]
    if option.kind is int:
        pool += [
            st.integers(min_value=-5, max_value=12).map(str),
            st.sampled_from(boundary_ints(option)).map(str),
        ]
    if option.kind is bool:
        pool.append(st.sampled_from(["yes", "no", "maybe", "TRUE", "0"]))
    if example:
        pool += [
            st.just(example),
            st.tuples(st.just(example), _fragments).map(lambda pair: f"{pair[0]} {pair[1]}"),
            st.tuples(_fragments, st.just(example)).map(lambda pair: pair[0] + pair[1]),
        ]
    if option.max_length is not None:
        size = option.max_length
        pool.append(st.sampled_from([f"{SENTINEL} " + "x" * (size - 3), "y" * (size + 1)]))
    return st.one_of(pool)


def slash_value(option: OptionSpec, example: str | None) -> st.SearchStrategy[Any]:
    """What Discord hands the router for one option: typed numbers, choices, free text."""
    if option.kind is int:
        return st.one_of(
            st.integers(min_value=-3, max_value=12),
            st.sampled_from(boundary_ints(option)),
            st.integers(),
        )
    if option.kind is bool:
        return st.booleans()
    if option.kind is float:
        return st.floats(allow_nan=True, allow_infinity=True)
    if option.choices:
        return st.one_of(st.sampled_from(option.choices), _fragments)
    return text_value(option, example)


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@st.composite
def command_line(draw: st.DrawFn, spec: CommandSpec) -> str:
    """A typed line for *spec* (without prefix): options positional or `name=value`, quoted or
    not, with now and then an unknown option or a stray word."""
    examples = example_values(spec)
    words = [draw(st.sampled_from([spec.name, spec.name.upper()]))]
    positional = True
    for option in spec.options:
        if not draw(st.booleans()) and not (option.required and draw(st.booleans())):
            positional = False
            continue
        example = examples.get(option.name)
        if example is not None and draw(st.booleans()):
            value = draw(realistic(example))
        else:
            value = draw(text_value(option, example))
        style = draw(st.sampled_from(["bare", "quoted", "quoted", "raw-quote"]))
        shown = value
        if style == "quoted" or (style == "bare" and value.split() != [value]):
            shown = _quote(value)
        elif style == "raw-quote":
            shown = f'"{value}"'
        if positional and draw(st.booleans()):
            words.append(shown)
        else:
            positional = False
            words.append(f"{option.name}={shown}")
    if draw(st.integers(0, 9)) == 0:
        words.append(draw(st.sampled_from(["nosuch=1", "extra", f"{SENTINEL}=**"])))
    return " ".join(words)


@st.composite
def slash_options(draw: st.DrawFn, spec: CommandSpec) -> dict[str, Any]:
    """Options as Discord delivers them: required ones nearly always there, others sometimes."""
    examples = example_values(spec)
    raw: dict[str, Any] = {}
    for option in spec.options:
        present = draw(st.integers(0, 19)) > 0 if option.required else draw(st.booleans())
        example = examples.get(option.name)
        if present and example is not None and option.kind is str and draw(st.booleans()):
            raw[option.name] = draw(realistic(example))
        elif present:
            raw[option.name] = draw(slash_value(option, example))
    return raw


# The corpus: a fixed list per command ---------------------------------------------------------


def corpus_lines(spec: CommandSpec, per_class: int = 2) -> Iterator[tuple[str, str]]:
    """(class, typed line) for *spec*: *per_class* values of every hostile class in every
    option (a different few in each option), the rest of the line as the example gives it;
    boundaries for numbers; over-long text; the bare command; junk after it."""
    examples = example_values(spec)

    def line(values: dict[str, str]) -> str:
        shown = [f"{name}={_quote(value)}" for name, value in values.items()]
        return " ".join([spec.name, *shown])

    yield "example", spec.example
    for name, typed in ISSUE_LINES:
        if name == spec.name:
            yield "issue", typed
    yield "bare", spec.name
    yield "junk", f"{spec.name} {SENTINEL}=1 {HOSTILE['markup'][0]} {HOSTILE['pings'][-2]}"
    yield "quotes", f'{spec.name} "never closed'
    yield "length", f"{spec.name} " + "z" * 5000
    for index, option in enumerate(spec.options):
        if option.kind is int:
            for number in boundary_ints(option):
                yield "numbers", line({**examples, option.name: str(number)})
        kinds = ["markup", "pings", "control", "quotes"]
        if option.kind is str and not option.choices:
            kinds += ["dates", "unicode", "urls", "numbers", "zones", "rules", "durations"]
            if option.max_length is not None:
                yield "length", line({**examples, option.name: "y" * (option.max_length + 1)})
        for kind in kinds:
            values = HOSTILE[kind]
            for step in range(min(per_class, len(values))):
                value = values[(index * per_class + step) % len(values)]
                yield kind, line({**examples, option.name: value})


# The world the commands run in ----------------------------------------------------------------

SETTINGS: dict[str, Any] = {
    "rooms": [
        {
            "name": "community",
            "matrix_room_id": "!community:x",
            "discord_channel_id": 9,
            "purposes": ["announcements", "help", "welcome"],
        },
        {
            "name": "mentors",
            "matrix_room_id": "!mentors:x",
            "discord_channel_id": 10,
            "purposes": ["mentors"],
        },
    ]
}

# What the house holds before anyone fuzzes it, so that ids 1 and 2 name real rows.
SEED: tuple[tuple[Role, str], ...] = (
    (Role.MENTOR, "mentor available on"),
    (Role.ORGANIZER, 'event create "Core meeting" start="2027-01-05 17:00" tz=UTC repeat=weekly'),
    (Role.ORGANIZER, 'event create "Sprint" start="2027-01-04 12:30" tz=UTC kind=sprint'),
    (Role.ORGANIZER, 'faq add run-tests "How do I run the tests?" "Run pytest." testing'),
    (Role.ORGANIZER, 'faq add build "How do I build?" "Run make." build'),
    (Role.CONTRIBUTOR, 'mentor request "dev setup" the build fails on Windows'),
    (Role.MENTOR, 'mentor request "docs" where do I start'),
    (Role.ORGANIZER, "sprint issue add https://github.com/o/r/issues/1 newcomers 2"),
    (Role.ORGANIZER, "sprint issue add https://github.com/o/r/issues/2"),
    (Role.CONTRIBUTOR, "event rsvp 1 going remind=15m"),
    (Role.CONTRIBUTOR, "faq ask how do I run the tests?"),
    (Role.MENTOR, "mentor claim 1"),
)


def settings() -> Settings:
    return parse_settings(SETTINGS, "fuzz settings")


def caller(role: Role, platform: str) -> Caller:
    """One person per role and platform: Discord callers use slash commands."""
    if platform == "discord":
        user, room, style = str(100 + role), "9", "slash"
    else:
        user, room, style = f"@{role.label}:x", "!community:x", "text"
    return Caller(platform, user, f"{role.label} one", role, room, style=style)  # type: ignore[arg-type]


async def seed(bot: Router) -> None:
    for platform in ("matrix", "discord"):
        for role in Role:
            await bot.handle_text(caller(role, platform), "whoami")
    for role, line in SEED:
        reply = await bot.handle_text(caller(role, "matrix"), line)
        assert not reply.error, f"seeding {line!r}: {reply.text}"


# The checks -----------------------------------------------------------------------------------


COUNTS_EVERY_RUN = frozenset({"rate_limit"})
# A limited command counts its run in a transaction of its own, refused or not, and so records
# the caller's person and account first: a caller who is new, or new again after `me forget`.
FIRST_CONTACT = frozenset({"person", "account"})


def _first_contact(
    table: str, before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]
) -> bool:
    """Whether *table* only gained rows, and is one a caller's first contact writes."""
    return table in FIRST_CONTACT and set(before.get(table, [])) <= set(after[table])


async def digest(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: equal digests mean an unchanged store.

    Per-person rate limits count every run of a limited command, refused or not (a wrong link
    code must count against the guesser), so their table is left out."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as session:
        connection = await session.connection()
        for table in SQLModel.metadata.sorted_tables:
            if table.name in COUNTS_EVERY_RUN:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            rows = await connection.execute(select(table).order_by(*order))
            out[table.name] = [tuple(row) for row in rows]
    return out


async def deliveries(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    """(key, body) of every row in the outbox."""
    async with sessions() as session:
        connection = await session.connection()
        rows = await connection.execute(text("SELECT key, body FROM delivery ORDER BY id"))
        return [(str(key), str(body)) for key, body in rows]


def _inert(text: str, keep_bold: bool = True) -> str:
    """*text* with what can never be markup blanked: escaped characters and code spans; with
    *keep_bold* false, the delimiters of bold spans too, which are then the bot's own."""
    out: list[str] = []
    pos = 0
    for match in markup._TOKEN.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        if match["escaped"] is not None or match["code"] is not None:
            out.append("\u00b7" * len(match.group(0)))
        elif match["bold"] is not None:
            inner = _inert(match["bold"], keep_bold)
            out.append(f"**{inner}**" if keep_bold else f"\u27e6{inner}\u27e7")
        else:
            out.append(match.group(0))
    out.append(text[pos:])
    return "".join(out)


_SENTINEL_MARKUP = re.compile(
    rf"(\*|_|~~|\|\||^#+ |^> |<a\b|<script|\]\(|\]\(https?://{re.escape(EVIL)})\s*{SENTINEL}"
    rf"|{SENTINEL}(\*|_|~~|\|\||</a>|</script>)"
    rf"|\]\(https?://{re.escape(EVIL)}",
    re.MULTILINE,
)
# What pings on some platform: a mass mention, or Discord's user and role mentions. A channel
# mention (`<#id>`, which `room list` builds) links to a channel and pings nobody; one a user
# typed is still caught as their text echoed unescaped.
_PING = re.compile(r"@(everyone|here|room)\b|<@[!&]?\d+>", re.IGNORECASE)
_TITLE_INERT = re.compile(r"([\[\]()<>#@-])")
_ANCHOR = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
_DANGEROUS = set("*_~|[]<>`")


def markup_problems(text: str, said: Sequence[str], where: str) -> list[str]:
    """What in one text Discord reads as Markdown came from a user and became markup or a
    ping; *said* are the values the user typed."""
    problems: list[str] = []
    inert = _inert(text)
    if match := _SENTINEL_MARKUP.search(_inert(text, keep_bold=False)):
        problems.append(f"{where}: user markup {match.group(0)!r} is live")
    if (found := _PING.search(inert)) is not None:
        problems.append(f"{where}: {found.group(0)!r} would ping")
    if inert.count("**") % 2:
        problems.append(f"{where}: a ** is left open")
    for value in said:
        value = value.strip()
        dangerous = _DANGEROUS & set(value)
        readable = sum(c.isalnum() for c in value) >= 2
        if len(value) >= 4 and dangerous and readable and value in inert:
            problems.append(f"{where}: {value!r} is echoed unescaped")
    return problems


def html_problems(page: str, where: str) -> list[str]:
    """A masked link in Matrix's HTML that a user wrote (the rest of the subset is checked
    as Discord reads it, a superset)."""
    problems: list[str] = []
    for url, label in _ANCHOR.findall(page):
        if EVIL in url and html.unescape(label) != html.unescape(url):
            problems.append(f"{where}: a masked link to {url!r}")
    return problems


def reply_problems(reply: Reply, said: Sequence[str] = (), where: str = "reply") -> list[str]:
    """A reply as the Discord and Matrix adapters render it."""
    problems: list[str] = []
    shown = discord_render(reply)
    texts = [shown.get("content") or ""]
    if (embed := shown.get("embed")) is not None:
        # A title reads emphasis and code only: no links, headings, lists or mentions.
        texts.append(_TITLE_INERT.sub(r"\\\1", embed.title or ""))
        texts.append(embed.description or "")
        texts += [f"{f.name} {f.value}" for f in embed.fields]
    for shown_text in filter(None, texts):
        problems += markup_problems(shown_text, said, f"{where} on Discord")
    content = matrix_render(reply, "!")
    problems += html_problems(content["formatted_body"], f"{where} on Matrix")
    if content["m.mentions"] and not (reply.mentions or reply.mention_roles):
        problems.append(f"{where} on Matrix: mentions {content['m.mentions']}")
    if APOLOGY in reply.text:
        problems.append(f"{where}: internal error: {reply.text}")
    return sorted(set(problems))


class ErrorLog(logging.Handler):
    """Everything logged at ERROR or above while installed: an error logged is a bug."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> ErrorLog:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)

    def take(self) -> list[str]:
        found = [f"logged {r.levelname}: {r.getMessage()}" for r in self.records]
        self.records.clear()
        return found


@dataclass
class Outcome:
    """What one input did: the reply, whether it was refused, and every problem seen."""

    reply: Reply
    refused: bool
    changed: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class Checker:
    """Runs one input against the bot and checks every property; keeps the outbox bodies it
    has already checked, so that each planned message is read once."""

    bot: Router = field(repr=False)
    planners: Sequence[Callable[[], Any]] = field(repr=False)
    seen: set[str] = field(default_factory=set, repr=False)

    async def run(self, who: Caller, said: Sequence[str], send: Callable[[], Any]) -> Outcome:
        sessions = self.bot.runtime.sessions
        with ErrorLog() as errors:
            before = await digest(sessions)
            reply: Reply = await send()
            after = await digest(sessions)
            problems = reply_problems(reply, said)
            refused = reply.error
            changed = before != after
            if refused and changed:
                changes = [
                    name
                    for name in after
                    if before.get(name) != after[name] and not _first_contact(name, before, after)
                ]
                if changes:
                    problems.append(f"refused, yet changed {', '.join(changes)}")
            if not refused:
                for plan in self.planners:
                    await plan()
                for key, body in await deliveries(sessions):
                    if body not in self.seen:
                        self.seen.add(body)
                        problems += reply_problems(decode(body), said, f"outbox {key}")
            problems += errors.take()
        return Outcome(reply, refused, changed, problems)
