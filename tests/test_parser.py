from typing import Annotated, Literal

import pytest

from bot.core import Ctx, Opt, Reply, UserError, command
from bot.core.parser import bind, convert, tokenize
from bot.core.spec import SPEC_ATTRIBUTE, CommandSpec


@command("event create", help="Schedule an event", example='event create "Sprint" 2026-12-07')
async def create(
    ctx: Ctx,
    title: Annotated[str, Opt("what it is", max_length=200)],
    start: str,
    days: Annotated[int, Opt(min=1, max=90)] = 14,
    kind: Literal["meeting", "sprint"] = "meeting",
    public: bool = True,
    description: str | None = None,
) -> Reply:
    return Reply()


SPEC: CommandSpec = getattr(create, SPEC_ATTRIBUTE)


def test_tokenize_quotes_and_keywords() -> None:
    tokens = tokenize('"Core meeting" start="2026-12-07 17:00" “curly quotes”  x')
    assert [(t.value, t.key) for t in tokens] == [
        ("Core meeting", None),
        ("2026-12-07 17:00", "start"),
        ("curly quotes", None),
        ("x", None),
    ]


def test_positional_then_keywords() -> None:
    raw = bind(SPEC, '"Core meeting" 2026-12-07 kind=sprint days=7')
    assert raw == {"title": "Core meeting", "start": "2026-12-07", "kind": "sprint", "days": "7"}
    args = convert(SPEC, raw)
    assert args["days"] == 7 and args["public"] is True and args["description"] is None


def test_last_text_option_takes_the_rest_of_the_line() -> None:
    raw = bind(SPEC, "Sprint 2026-12-07 7 sprint no bring a laptop, and x=y too")
    assert raw["description"] == "bring a laptop, and x=y too"
    assert raw["public"] == "no"
    raw = bind(SPEC, "Sprint 2026-12-07 description=bring a laptop days=3")
    assert raw == {
        "title": "Sprint",
        "start": "2026-12-07",
        "description": "bring a laptop",
        "days": "3",
    }


def test_rest_keeps_inner_quotes() -> None:
    raw = bind(SPEC, 'T S 1 meeting yes say "hi" to all')
    assert raw["description"] == 'say "hi" to all'


@command("link add", help="Add a link", example="link add https://x.example/1 big")
async def link_add(
    ctx: Ctx,
    url: Annotated[str, Opt("a link", word=True)],
    size: Literal["big", "small"] = "small",
    note: str | None = None,
) -> Reply:
    return Reply()


def test_a_one_word_option_leaves_the_rest_of_the_line_to_later_options() -> None:
    spec: CommandSpec = getattr(link_add, SPEC_ATTRIBUTE)
    assert spec.rest_option == "note"
    assert bind(spec, "https://x.example/1 big mind the gap") == {
        "url": "https://x.example/1",
        "size": "big",
        "note": "mind the gap",
    }
    assert bind(spec, "size=big https://x.example/1") == {
        "size": "big",
        "url": "https://x.example/1",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"unclosed', "never closed"),
        ("T S days=3 days=4", "given twice"),
        ("T S colour=red", "no option called 'colour'"),
        ('"a"b S', "space after the closing quote"),
    ],
)
def test_bind_errors(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        bind(SPEC, text)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"title": "T"}, "Missing start"),
        ({"title": "T", "start": "S", "days": "soon"}, "days must be a whole number"),
        ({"title": "T", "start": "S", "days": "0"}, "days must be at least 1"),
        ({"title": "T", "start": "S", "kind": "party"}, "kind must be one of: meeting, sprint"),
        ({"title": "T", "start": "S", "public": "maybe"}, "public must be yes or no"),
        ({"title": "x" * 201, "start": "S"}, r"title is too long \(201 characters; at most 200\)"),
    ],
)
def test_convert_errors_ask_for_usage(raw: dict[str, str], message: str) -> None:
    with pytest.raises(UserError, match=message) as info:
        convert(SPEC, raw)
    assert info.value.show_usage


def test_typed_values_from_discord_pass_through() -> None:
    args = convert(SPEC, {"title": "T", "start": "S", "days": 3, "public": False})
    assert args["days"] == 3 and args["public"] is False


def test_usage_per_style() -> None:
    assert SPEC.usage() == (
        "!event create <title> <start> [days] [meeting|sprint] [public] [description]"
    )
    assert SPEC.usage("slash").startswith("/event create title:title start:start [days:…]")


def test_bad_declarations_fail_at_import() -> None:
    with pytest.raises(TypeError, match="needs an example"):

        @command("x", help="x")
        async def needs_example(ctx: Ctx, name: str) -> Reply:
            return Reply()

    with pytest.raises(TypeError, match="first parameter"):

        @command("y", help="y")
        async def no_ctx(name: str) -> Reply:
            return Reply()

    with pytest.raises(TypeError, match="1-3 lowercase words"):
        command("Bad Name", help="z")
