"""The real Discord adapter (unmodified discord.py) against the fake Discord in tests/support."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import pytest

from bot.app import App
from bot.core import Button, Ctx, Opt, Reply, Role, command
from bot.core.router import Router
from tests.support.bot_harness import running
from tests.support.clock import Clock
from tests.support.discord_bot import answered, discord_settings, text_of
from tests.support.discord_fixtures import (
    CONTRIBUTOR,
    GENERAL,
    GUILD_ID,
    MENTOR,
    ORGANIZER,
)
from tests.support.fake_discord import CallbackType, FakeDiscord
from tests.support.fake_discord import FakeUser as DiscordUser

pytestmark = pytest.mark.e2e


@command("demo pick", help="A grouped command with choices and a button", example="demo pick red")
async def demo_pick(
    ctx: Ctx,
    colour: Literal["red", "green"],
    note: Annotated[str | None, Opt("anything", max_length=50)] = None,
) -> Reply:
    return Reply(
        f"{ctx.caller.display_name} picked {colour} ({note or 'no note'}) @everyone",
        buttons=[Button("Who am I?", "whoami")],
    )


@command("demo slow", help="Takes longer than Discord's 3 s answer window", role=Role.MENTOR)
async def demo_slow(ctx: Ctx) -> Reply:
    import asyncio

    await asyncio.sleep(2.5)
    return Reply("done slowly")


def sent_mentions(fake: FakeDiscord) -> list[object]:
    """allowed_mentions of every reply the bot sent: none may ping."""
    return [
        request.json["data"].get("allowed_mentions")
        for request in fake.requests
        if request.path.endswith("/callback") and request.json.get("data")
    ]


async def test_slash_commands_are_generated_from_the_specs(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = discord_settings(fake_discord, tmp_path, monkeypatch)
    async with running(settings, extra=[demo_pick, demo_slow]):
        synced = {c["name"]: c for c in await fake_discord.wait_commands_synced(GUILD_ID)}
        assert {"help", "whoami", "link", "demo"} <= set(synced)
        demo = {o["name"]: o for o in synced["demo"]["options"]}
        pick = {o["name"]: o for o in demo["pick"]["options"]}
        assert [c["value"] for c in pick["colour"]["choices"]] == ["red", "green"]
        assert pick["colour"]["required"] and not pick["note"]["required"]
        assert pick["note"]["max_length"] == 50
        assert synced["link"]["options"][0]["description"] == "the code from your other platform"


async def test_a_rate_limited_command_sync_keeps_the_last_commands(
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A restart that Discord rate-limits for minutes starts at once with the synced commands,
    instead of waiting inside discord.py."""
    settings = discord_settings(fake_discord, tmp_path, monkeypatch)
    async with running(settings):
        await fake_discord.wait_commands_synced(GUILD_ID)
    fake_discord.rate_limit_next(r"/guilds/\d+/commands$", method="PUT", retry_after=600)
    async with running(settings):
        who = await answered(await fake_discord.slash(GUILD_ID, GENERAL.id, ORGANIZER, "whoami"))
        assert "olivia — organizer here" in text_of(who)
    assert "syncing the commands is rate limited for 600 s" in caplog.text


async def test_help_whoami_link_on_discord(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = discord_settings(fake_discord, tmp_path, monkeypatch)
    async with running(settings):
        await fake_discord.wait_commands_synced(GUILD_ID)
        help_ = await answered(await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "help"))
        assert help_.type is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE
        assert "commands you can use here" in text_of(help_)
        assert "`/whoami`" in text_of(help_)
        mentions = sent_mentions(fake_discord)
        assert mentions and all(m == {"parse": []} for m in mentions)

        who = await answered(await fake_discord.slash(GUILD_ID, GENERAL.id, ORGANIZER, "whoami"))
        assert "olivia — organizer here" in text_of(who)
        mentor = await answered(await fake_discord.slash(GUILD_ID, GENERAL.id, MENTOR, "whoami"))
        assert "marco — mentor here" in text_of(mentor)

        link = await answered(await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "link"))
        assert link.ephemeral
        assert re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", text_of(link))

        bad = await answered(
            await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "link", {"code": "NOPE"})
        )
        assert bad.ephemeral and "doesn't exist" in text_of(bad)
        assert "Usage: `/link [code:…]`" in text_of(bad)


async def test_groups_buttons_and_slow_commands(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = discord_settings(fake_discord, tmp_path, monkeypatch)
    async with running(settings, extra=[demo_pick, demo_slow]):
        await fake_discord.wait_commands_synced(GUILD_ID)
        pick = await answered(
            await fake_discord.slash(
                GUILD_ID, GENERAL.id, CONTRIBUTOR, "demo pick", {"colour": "green"}
            )
        )
        assert pick.content == "casey picked green (no note) @everyone"
        assert pick.message is not None and sent_mentions(fake_discord)[-1] == {"parse": []}
        button = pick.components[0]["components"][0]
        assert button["label"] == "Who am I?" and button["custom_id"] == "cv:whoami"

        click = await answered(
            await fake_discord.click(GUILD_ID, GENERAL.id, MENTOR, pick.message, "cv:whoami")
        )
        assert click.ephemeral and "marco — mentor here" in text_of(click)

        refused = await answered(
            await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "demo slow")
        )
        assert "Only mentors can use `/demo slow`" in text_of(refused)

        slow = await fake_discord.slash(GUILD_ID, GENERAL.id, MENTOR, "demo slow")
        await slow.wait_until(lambda r: r.content != "")
        assert slow.type is CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
        assert slow.content == "done slowly"


async def test_registry_is_shared_with_discord(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command added to the registry is a slash command without any Discord code."""
    settings = discord_settings(fake_discord, tmp_path, monkeypatch)
    async with running(settings, extra=[demo_pick]) as app:
        assert isinstance(app.router, Router)
        names = {c["name"] for c in await fake_discord.wait_commands_synced(GUILD_ID)}
        assert names == {spec.words[0] for spec in app.router.specs}


async def test_answers_after_the_gateway_drops(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = discord_settings(fake_discord, tmp_path, monkeypatch)
    async with running(settings):
        await fake_discord.wait_commands_synced(GUILD_ID)
        await fake_discord.disconnect_bot(code=4000)
        who = await answered(await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "whoami"))
        assert "casey — contributor here" in text_of(who)
        assert fake_discord.resume_count == 1


async def test_a_rate_limited_login_is_waited_out(
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """More 429s at login than discord.py retries: the bot tries again later instead of
    stopping (and taking the other platforms of its process down with it)."""
    settings = discord_settings(fake_discord, tmp_path, monkeypatch)
    fake_discord.rate_limit_next(r"^/users/@me$", method="GET", retry_after=0.05, count=8)
    async with running(settings):
        await fake_discord.wait_commands_synced(GUILD_ID)
        who = await answered(await fake_discord.slash(GUILD_ID, GENERAL.id, ORGANIZER, "whoami"))
        assert "olivia — organizer here" in text_of(who)
    assert "Discord: cannot log in (429 Too Many Requests" in caplog.text


async def test_bad_token_stops_with_a_clear_error(
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = discord_settings(fake_discord, tmp_path, monkeypatch)
    monkeypatch.setenv("CONVENE_TEST_DISCORD_TOKEN", "wrong-token")
    assert await App(settings, stdout=io.StringIO()).run() == 1
    assert "Discord rejected the bot token" in caplog.text
    assert "wrong-token" not in caplog.text
    (stopped,) = [r for r in caplog.records if r.getMessage().startswith("discord stopped")]
    assert stopped.exc_info is None, "a rejected token is said in one line, without a traceback"


async def test_three_word_sprint_commands_as_slash_commands(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/sprint issue add` is a subcommand of the group `issue` inside `/sprint`, beside the
    plain subcommands `/sprint issues` and `/sprint claim`."""
    settings = discord_settings(fake_discord, tmp_path, monkeypatch)
    clock = Clock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    async with running(settings, clock=clock):
        synced = {c["name"]: c for c in await fake_discord.wait_commands_synced(GUILD_ID)}
        sprint = {o["name"]: o for o in synced["sprint"]["options"]}
        assert {name: o["type"] for name, o in sprint.items()} == {
            "issue": 2,
            "issues": 1,
            "claim": 1,
            "unclaim": 1,
        }
        assert {o["name"] for o in sprint["issue"]["options"]} == {
            "add",
            "done",
            "import",
            "remove",
        }

        async def slash(user: DiscordUser, name: str, **options: object) -> str:
            result = await answered(
                await fake_discord.slash(GUILD_ID, GENERAL.id, user, name, options)
            )
            return text_of(result)

        created = await slash(
            ORGANIZER,
            "event create",
            title="Newcomer sprint",
            start="2026-11-28 10:00",
            tz="Europe/Paris",
            kind="sprint",
            tier="newcomers",
        )
        assert "Event #1" in created
        unknown = await slash(ORGANIZER, "event edit", id=1, mention="Sprinters")
        assert unknown.startswith(
            "No role is named 'Sprinters'. Roles: 'Mentors', 'Organizers'; e.g. mention=mentors"
        )
        known = await slash(ORGANIZER, "event edit", id=1, mention="mentors")
        assert known == "Updated #1 **Newcomer sprint**: mention."
        url = "https://github.com/python/cpython/issues/12"
        added = await slash(ORGANIZER, "sprint issue add", url=url, tier="newcomers", event=1)
        assert f"Listed #1 [python/cpython\\#12]({url}) for newcomers." in added
        assert "<t:1795856400:F>" in added
        assert "Only organizers can use `/sprint issue add`" in await slash(
            CONTRIBUTOR, "sprint issue add", url=url
        )
        assert await slash(CONTRIBUTOR, "sprint claim", number=1) == (
            f"#1 [python/cpython\\#12]({url}) is kept for newcomers until event #1 "
            "**Newcomer sprint** starts: <t:1795856400:F> (<t:1795856400:R>)."
        )
        clock.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
        assert (await slash(CONTRIBUTOR, "sprint claim", number=1)).startswith(
            f"You have #1 [python/cpython\\#12]({url})."
        )
        assert await slash(MENTOR, "sprint claim", number=1) == "#1 is held by casey."
        listing = await slash(MENTOR, "sprint issues")
        assert "held by casey" in listing
        assert all(m == {"parse": []} for m in sent_mentions(fake_discord))
