"""Dispatch through the real registry: permissions, errors and help, seen as users see them."""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cogs import discover
from bot.core import Ctx, Opt, Reply, Role, UserError, command
from bot.core.bus import Topic, UnknownTopic
from bot.core.cog import Contributions, Listens, Sees, Setup
from bot.core.help import help_command
from bot.core.markup import to_plain
from bot.core.router import Router
from bot.identity import Person
from tests.support.fake_platform import FakePlatform
from tests.support.house import build_bot, build_router


@command(
    "widget create", help="Schedule an event", example='widget create "Sprint"', role=Role.ORGANIZER
)
async def widget_create(ctx: Ctx, title: Annotated[str, Opt(max_length=20)]) -> Reply:
    if title == "fail":
        raise UserError("That title is taken.")
    if title == "crash":
        raise RuntimeError("database exploded with password=hunter2")
    return Reply(f"created {title}")


@command("widget list", help="Upcoming events")
async def widget_list(ctx: Ctx, days: int = 14) -> Reply:
    return Reply(f"{days} days")


@pytest.fixture
def registry(sqlite_sessions: async_sessionmaker[AsyncSession]) -> Router:
    registry = build_bot(sqlite_sessions)
    registry.add(widget_create)
    registry.add(widget_list)
    return registry


@pytest.fixture
def platform(registry: Router) -> FakePlatform:
    return FakePlatform(registry)


async def test_help_lists_only_what_the_caller_may_use(platform: FakePlatform) -> None:
    nina = platform.person("@nina:x", Role.CONTRIBUTOR)
    said = await nina.say("!help")
    assert (
        "!widget list [days]" in said.text
        and "!whoami" in said.text
        and "!link [code]" in said.text
    )
    assert "widget create" not in said.text
    omar = platform.person("@omar:x", Role.ORGANIZER)
    assert "!widget create <title>" in (await omar.say("!help")).text
    listed = (await omar.say("!help")).text
    assert "!event create <title> <start> […] — Schedule" in listed


async def test_help_for_one_command_and_a_group(platform: FakePlatform) -> None:
    nina = platform.person("@nina:x")
    said = await nina.say("!help link")
    assert said.reply.title == "!link [code]"
    assert "Example: !link ABCD-EFGH" in said.text
    assert said.text.endswith("Each person at most 10 times in 10 min.")
    assert "widget list" in (await nina.say("!help widget")).text
    assert "There is no command bogus" in (await nina.say("!help bogus")).text


async def test_unknown_command_names_the_closest(platform: FakePlatform) -> None:
    nina = platform.person("@nina:x")
    said = await nina.say("!widgt list")
    assert said.reply.error and "Did you mean !widget list?" in said.text
    assert "Did you mean !widget list?" in (await nina.say("!widget lst")).text
    assert "Did you mean !whoami?" in (await nina.say("!whoamii")).text
    assert "needs a subcommand: !widget list" in (await nina.say("!widget")).text


async def test_permissions(platform: FakePlatform) -> None:
    said = await platform.person("@nina:x").say('!widget create "x"')
    assert said.text == "Only organizers can use !widget create."


async def test_bad_arguments_get_usage_and_example(platform: FakePlatform) -> None:
    omar = platform.person("@omar:x", Role.ORGANIZER)
    said = await omar.say("!widget create")
    assert said.text.splitlines() == [
        "Missing title.",
        "Usage: !widget create <title>",
        'Example: !widget create "Sprint"',
    ]
    said = await omar.say("!widget list soon")
    assert "days must be a whole number" in said.text and "Usage: !widget list [days]" in said.text
    said = await omar.say("!widget list 3 4")
    assert "Too many arguments: '4'" in said.text and "Usage:" in said.text


async def test_handler_errors(platform: FakePlatform, caplog: pytest.LogCaptureFixture) -> None:
    omar = platform.person("@omar:x", Role.ORGANIZER)
    assert (await omar.say("!widget create fail")).text == "That title is taken."
    said = await omar.say("!widget create crash")
    assert said.reply.error and "something went wrong on my side (error id" in said.text
    assert "hunter2" not in said.text and "Traceback" not in said.text
    assert "database exploded" in caplog.text


@command("secret keep", help="Keeps a secret, but says nothing of it in its spec")
async def secret_keep(ctx: Ctx) -> Reply:
    ctx.session.add(Person(display_name="kept", created_at=ctx.now()))
    return Reply("the secret", private=True)


@command("secret tell", help="Tells a secret to its caller alone", private=True)
async def secret_tell(ctx: Ctx) -> Reply:
    ctx.session.add(Person(display_name="told", created_at=ctx.now()))
    return Reply("the secret")


async def test_only_a_private_spec_answers_privately(
    registry: Router, platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord defers before the reply exists, by the spec, so a private reply from a spec not
    declared private is refused and its work undone, not sent."""
    registry.add(secret_keep)
    registry.add(secret_tell)
    nina = platform.person("@nina:x")
    refused = await nina.say("!secret keep")
    assert refused.reply.error and "something went wrong on my side" in refused.text
    assert "the secret" not in refused.text
    assert "secret keep answered privately; declare it private=True" in caplog.text
    told = await nina.say("!secret tell")
    assert told.reply.private and told.text == "the secret"
    async with registry.runtime.sessions() as session:
        names = (await session.exec(select(Person.display_name))).all()
    assert "told" in names and "kept" not in names


NOBODYS = Topic("nobodys")


@command("secret change", help="Changes a topic no cog declares")
async def secret_change(ctx: Ctx) -> Reply:
    ctx.session.add(Person(display_name="changed", created_at=ctx.now()))
    ctx.changed(NOBODYS)
    return Reply("changed")


def test_a_timer_woken_by_an_undeclared_topic_fails_at_start(registry: Router) -> None:
    async def step() -> float:
        return 60.0

    setup = Setup(registry.runtime, registry, Contributions(), "listener")
    with pytest.raises(UnknownTopic, match="'nobodys'"):
        setup.timer("listens", step, wake_on=[NOBODYS])


def test_a_listener_the_cog_does_not_declare_fails_at_start(registry: Router) -> None:
    """Unless declared, `convene init` could not ask Discord to send it anything."""

    async def greet(ctx: Ctx, newcomers: Sequence[str]) -> None:
        pass

    declared = Listens("welcome", Sees.JOINS, "welcomes")
    Setup(registry.runtime, registry, Contributions(), "greeter", [declared]).on_join(
        "welcome", greet
    )
    setup = Setup(registry.runtime, registry, Contributions(), "greeter")
    with pytest.raises(ValueError, match="'greeter' listens to joins in 'welcome' rooms"):
        setup.on_join("welcome", greet)


async def test_a_change_to_an_undeclared_topic_is_not_committed(
    registry: Router, platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    """Published only after the commit, an undeclared topic would leave the work kept behind
    an apology that says nothing was changed."""
    registry.add(secret_change)
    said = await platform.person("@nina:x").say("!secret change")
    assert said.reply.error and "Nothing was changed" in said.text
    assert "no loaded cog declares the topic 'nobodys'" in caplog.text
    async with registry.runtime.sessions() as session:
        names = (await session.exec(select(Person.display_name))).all()
    assert "changed" not in names


async def test_long_messages_are_refused_politely(platform: FakePlatform) -> None:
    said = await platform.person("@nina:x").say("!widget list " + "9" * 5000)
    assert "too long for a command (5,012 characters; the limit is 4,000)" in said.text


async def test_slash_style_usage(registry: Router) -> None:
    discord = FakePlatform(registry, name="discord", style="slash")
    said = await discord.person("123").say("!widget list x")
    assert "Usage: /widget list [days:…]" in said.text


async def test_a_discord_button_for_an_unknown_command_answers_in_slash_form(
    registry: Router,
) -> None:
    """A button runs its command as typed text (`run_button`), and may outlive the command it
    names; the answer still writes commands as a Discord user types them."""
    discord = FakePlatform(registry, name="discord", style="slash")
    caller = discord.person("123").caller
    unknown = await registry.handle_text(caller, "widget remove 3")
    assert unknown is not None
    assert to_plain(unknown.body()) == (
        "I don't know the command /widget remove. Did you mean /widget list? "
        "Type /help to see what I can do."
    )
    group = await registry.handle_text(caller, "widget")
    assert group is not None
    assert to_plain(group.body()) == "/widget needs a subcommand: /widget list."


def test_every_cog_loads_and_no_commands_clash(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    registry = build_bot(sqlite_sessions)
    assert discover() and {"help", "whoami", "link"} <= {spec.name for spec in registry.specs}
    with pytest.raises(ValueError, match="clashes"):
        registry.add(widget_list) or registry.add(widget_list)


@command("docs ask", help="Ask the docs", example="docs ask how do I build it?")
async def docs_ask(ctx: Ctx, question: str) -> Reply:
    return Reply(f"asked {question}")


@command("docs list", help="List the docs")
async def docs_list(ctx: Ctx) -> Reply:
    return Reply("listed")


@command("docs edit", help="Edit a doc", example="docs edit intro", role=Role.ORGANIZER)
async def docs_edit(ctx: Ctx, id: str) -> Reply:
    return Reply(f"edited {id}")


async def test_an_alias_takes_lines_no_subcommand_claims(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    registry = build_router(sqlite_sessions)
    for handler in (docs_ask, docs_list, docs_edit):
        registry.add(handler)
    registry.add_alias("docs", "docs ask")
    nina = FakePlatform(registry).person("@nina:x")
    assert (await nina.say("!docs how do I build it?")).text == "asked how do I build it?"
    assert (await nina.say("!Docs listing")).text == "asked listing"
    assert (await nina.say("!docs ask why")).text == "asked why"
    assert (await nina.say("!docs list")).text == "listed"
    assert (await nina.say("!docs edit intro")).text == "Only organizers can use !docs edit."
    assert (await nina.say("!docs")).text.splitlines()[:2] == [
        "Missing question.",
        "Usage: !docs ask <question>",
    ]
    with pytest.raises(ValueError, match="not registered"):
        registry.add_alias("guide", "guide ask")
    with pytest.raises(ValueError, match="not a command"):
        registry.add_alias("docs list", "docs ask")
    with pytest.raises(ValueError, match="and new"):
        registry.add_alias("DOCS", "docs ask")


async def test_join_listeners_get_their_rooms_and_fail_silently(
    registry: Router, platform: FakePlatform, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, list[str]]] = []

    async def greet(ctx: Ctx, rooms: Sequence[str]) -> None:
        seen.append((ctx.caller.display_name, list(rooms)))
        if ctx.caller.display_name == "crash":
            raise RuntimeError("join listener exploded")

    registry.add_join_listener("lobby", greet)
    assert registry.wants_joins(["help", "lobby"]) and not registry.wants_joins(["help"])
    caller = platform.person("@ann:x").caller
    await registry.handle_join(caller, {"!a:x": ("lobby",), "!b:x": ("help",), "!c:x": ("lobby",)})
    await registry.handle_join(caller, {"!b:x": ("help",)})
    await registry.handle_join(platform.person("@crash:x").caller, {"!a:x": ("lobby",)})
    assert seen == [("ann", ["!a:x", "!c:x"]), ("crash", ["!a:x"])]
    assert "a join listener failed on matrix" in caplog.text


@command("kit part add", help="Add a part", example="kit part add https://x.example/1 big 2")
async def kit_part_add(
    ctx: Ctx,
    url: Annotated[str, Opt("a link", word=True)],
    size: Literal["big", "small"] = "small",
    count: int = 1,
) -> Reply:
    return Reply(f"added {url} {size} {count}")


@command("kit part remove", help="Remove a part", example="kit part remove 3")
async def kit_part_remove(ctx: Ctx, number: int) -> Reply:
    return Reply(f"removed {number}")


@command("kit parts", help="List the parts")
async def kit_parts(ctx: Ctx) -> Reply:
    return Reply("parts")


async def test_three_word_commands_beside_two_word_ones(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    registry = build_router(sqlite_sessions)
    registry.add(help_command(registry))
    for handler in (kit_part_add, kit_part_remove, kit_parts):
        registry.add(handler)
    nina = FakePlatform(registry).person("@nina:x")
    assert (await nina.say("!kit part add https://x.example/1 big 2")).text == (
        "added https://x.example/1 big 2"
    )
    assert (await nina.say("!KIT Part add https://x.example/1")).text == (
        "added https://x.example/1 small 1"
    )
    assert (await nina.say("!kit parts")).text == "parts"
    assert (await nina.say("!kit part")).text == (
        "!kit part needs a subcommand: !kit part add, !kit part remove."
    )
    whole = (await nina.say("!kit")).text
    assert whole == "!kit needs a subcommand: !kit part add, !kit part remove, !kit parts."
    said = await nina.say("!kit part remov 3")
    assert said.text.startswith("I don't know the command !kit part remov. Did you mean")
    assert "Did you mean !kit part remove?" in said.text
    group = await nina.say("!help kit part")
    assert group.reply.title == "!kit part commands"
    assert "!kit part add <url> [big|small] [count]" in group.text
    assert "!kit parts" not in group.text
    assert (await nina.say("!help kit part add")).reply.title == (
        "!kit part add <url> [big|small] [count]"
    )


async def test_a_consequence_speaks_in_the_commands_reply_only_when_it_succeeds(
    registry: Router, platform: FakePlatform
) -> None:
    seen: list[str] = []

    async def named(ctx: Ctx, options: Mapping[str, Any]) -> str | None:
        title = str(options["title"])
        seen.append(title)
        return None if title == "quiet" else f"Two widgets named {title} were waiting."

    registry.add_consequence("widget create", named)
    registry.check_consequences()
    omar = platform.person("@omar:x", Role.ORGANIZER)
    assert (await omar.say('!widget create "Sprint"')).text.splitlines() == [
        "created Sprint",
        "Two widgets named Sprint were waiting.",
    ]
    assert (await omar.say("!widget create quiet")).text == "created quiet"
    assert (await omar.say("!widget create fail")).text == "That title is taken."
    assert seen == ["Sprint", "quiet", "fail"]
    registry.add_consequence("widget destroy", named)
    with pytest.raises(ValueError, match="'widget destroy', which is not registered"):
        registry.check_consequences()
