"""Self-test of the fake Discord, driven by the real discord.py client.

The tiny bot below uses each discord.py feature the real bot leans on, so a
discord.py upgrade that changes what it sends or expects fails here first.
"""

import asyncio
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
import pytest_asyncio
from discord import app_commands

from tests.support.discord_fixtures import (
    ANNOUNCEMENTS,
    CONTRIBUTOR,
    GENERAL,
    GUILD_ID,
    MENTOR,
    MENTORS,
    MENTORS_CHANNEL,
    ORGANIZER,
    fake_discord_server,  # noqa: F401
    running_client,
)
from tests.support.fake_discord import EPHEMERAL, CallbackType, FakeDiscord

pytestmark = pytest.mark.e2e

Interaction = discord.Interaction[discord.Client]
GUILD = discord.Object(GUILD_ID)


class RSVPButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"rsvp:(?P<event_id>\d+)",
):
    def __init__(self, event_id: int) -> None:
        super().__init__(discord.ui.Button(label="RSVP", custom_id=f"rsvp:{event_id}"))
        self.event_id = event_id

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> "RSVPButton":
        return cls(int(match["event_id"]))

    async def callback(self, interaction: Interaction) -> None:
        await interaction.response.edit_message(
            content=f"{interaction.user.name} is going to event {self.event_id}", view=None
        )


class PickView(discord.ui.View):
    @discord.ui.select(
        custom_id="pick",
        options=[discord.SelectOption(label=name) for name in ("hack night", "meetup")],
    )
    async def pick(self, interaction: Interaction, select: discord.ui.Select["PickView"]) -> None:
        await interaction.response.send_message(f"picked {select.values[0]}", ephemeral=True)


class PlanModal(discord.ui.Modal, title="Plan an event"):
    name: discord.ui.TextInput[discord.ui.Modal] = discord.ui.TextInput(label="Name")

    async def on_submit(self, interaction: Interaction) -> None:
        await interaction.response.send_message(f"planned {self.name.value}", ephemeral=True)


@app_commands.command(description="Echoes its option")
async def ping(interaction: Interaction, text: str) -> None:
    await interaction.response.send_message(f"pong: {text}")


@app_commands.command(description="Answers only the caller")
async def whisper(interaction: Interaction) -> None:
    await interaction.response.send_message("psst", ephemeral=True)


@app_commands.command(description="Thinks before answering")
async def slow(interaction: Interaction) -> None:
    await interaction.response.defer(thinking=True)
    await interaction.followup.send("done")
    await interaction.followup.send("one more thing", ephemeral=True)
    await interaction.edit_original_response(content="done, edited")


@app_commands.command(description="Opens a form")
async def plan(interaction: Interaction) -> None:
    await interaction.response.send_modal(PlanModal())


@app_commands.command(description="Describes a member")
async def who(interaction: Interaction, member: discord.Member) -> None:
    roles = ", ".join(role.name for role in member.roles[1:])
    await interaction.response.send_message(f"{member.display_name}: {roles}")


@app_commands.command(description="Describes where a role gets pinged")
async def notify(
    interaction: Interaction, role: discord.Role, channel: discord.TextChannel
) -> None:
    await interaction.response.send_message(f"{role.name} in #{channel.name}")


@app_commands.command(description="Offers a choice")
async def choose(interaction: Interaction) -> None:
    await interaction.response.send_message("Which one?", view=PickView())


@app_commands.command(description="Organizers only")
@app_commands.default_permissions(manage_events=True)
async def purge(interaction: Interaction) -> None:
    await interaction.response.send_message("purged", ephemeral=True)


@app_commands.command(description="Answers too late")
async def nap(interaction: Interaction) -> None:
    await asyncio.sleep(0.3)
    await interaction.response.send_message("yawn")


event = app_commands.Group(name="event", description="Community events")


@event.command(name="list", description="Upcoming events")
async def event_list(interaction: Interaction, days: int) -> None:
    view = discord.ui.View(timeout=None)
    view.add_item(RSVPButton(42))
    await interaction.response.send_message(f"1 event in the next {days} days", view=view)


class TinyBot(discord.Client):
    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        commands: list[app_commands.Command[Any, ..., None] | app_commands.Group]
        commands = [ping, whisper, slow, plan, who, notify, choose, purge, nap, event]
        for command in commands:
            self.tree.add_command(command, guild=GUILD)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(RSVPButton)
        await self.tree.sync(guild=GUILD)

    def text_channel(self, channel_id: int) -> discord.TextChannel:
        channel = self.get_channel(channel_id)
        assert isinstance(channel, discord.TextChannel)
        return channel


@pytest_asyncio.fixture
async def bot(fake_discord: FakeDiscord) -> AsyncIterator[TinyBot]:
    async with running_client(TinyBot(), fake_discord) as client:
        assert isinstance(client, TinyBot)
        yield client


@app_commands.command(description="Defers in public, then asks for ephemeral followups")
async def leak(interaction: Interaction) -> None:
    await interaction.response.defer(thinking=True)
    await interaction.followup.send("for your eyes only", ephemeral=True)
    await interaction.followup.send("and this too", ephemeral=True)


@app_commands.command(description="Defers ephemerally, then asks for a public followup")
async def hush(interaction: Interaction) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    await interaction.followup.send("for everyone")


@app_commands.command(description="Defers in public, then answers the caller alone")
async def aside(interaction: Interaction) -> None:
    await interaction.response.defer(thinking=True)
    await interaction.edit_original_response(content="Answered privately.")
    await interaction.followup.send("for your eyes only", ephemeral=True)
    await interaction.delete_original_response()


class DeferBot(discord.Client):
    """Defers and answers in every order whose visibility Discord documents."""

    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        for command in (leak, hush, aside):
            self.tree.add_command(command, guild=GUILD)

    async def setup_hook(self) -> None:
        await self.tree.sync(guild=GUILD)


@pytest_asyncio.fixture
async def defer_bot(fake_discord: FakeDiscord) -> AsyncIterator[discord.Client]:
    async with running_client(DeferBot(), fake_discord) as client:
        yield client


async def test_tree_sync_registers_guild_commands(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    await fake_discord.wait_ready()
    commands = await fake_discord.wait_commands_synced(GUILD_ID)

    names = ["choose", "event", "nap", "notify", "ping", "plan", "purge", "slow", "whisper", "who"]
    assert sorted(c["name"] for c in commands) == names
    assert all(c["guild_id"] == str(GUILD_ID) for c in commands)


async def test_slash_command_reply(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    result = await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "ping", {"text": "hi"})

    assert result.type is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE
    assert result.content == "pong: hi"
    assert not result.ephemeral
    assert fake_discord.channel_messages[GENERAL.id] == [result.message]


async def test_ephemeral_reply_stays_out_of_the_channel(
    fake_discord: FakeDiscord, bot: TinyBot
) -> None:
    result = await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "whisper")

    assert result.content == "psst"
    assert result.ephemeral
    assert fake_discord.channel_messages[GENERAL.id] == []


async def test_first_followup_fills_the_deferred_response(
    fake_discord: FakeDiscord, bot: TinyBot
) -> None:
    result = await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "slow")

    assert result.type is CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    filled = await result.wait_followup(0)
    extra = await result.wait_followup(1)
    await result.wait_until(lambda r: r.content == "done, edited")
    assert result.message is not None
    assert filled["id"] == result.message["id"]
    assert extra["content"] == "one more thing"
    assert extra["flags"] & EPHEMERAL
    assert [m["content"] for m in fake_discord.channel_messages[GENERAL.id]] == ["done, edited"]


async def test_the_first_followup_after_a_public_defer_is_public(
    fake_discord: FakeDiscord, defer_bot: discord.Client
) -> None:
    """Discord: it edits the loading message, whose visibility cannot change, and ignores
    the followup's ephemeral flag; later followups are new messages with their own."""
    result = await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "leak")

    filled = await result.wait_followup(0)
    later = await result.wait_followup(1)
    assert result.message is not None and filled["id"] == result.message["id"]
    assert not result.ephemeral
    assert [m["content"] for m in fake_discord.channel_messages[GENERAL.id]] == [
        "for your eyes only"
    ]
    assert later["flags"] & EPHEMERAL and later["content"] == "and this too"


async def test_the_first_followup_after_an_ephemeral_defer_is_ephemeral(
    fake_discord: FakeDiscord, defer_bot: discord.Client
) -> None:
    result = await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "hush")

    filled = await result.wait_followup(0)
    assert filled["content"] == "for everyone" and result.ephemeral
    assert fake_discord.channel_messages[GENERAL.id] == []
    assert fake_discord.shown == []


async def test_after_a_public_defer_an_ephemeral_answer_needs_the_placeholder_filled(
    fake_discord: FakeDiscord, defer_bot: discord.Client
) -> None:
    """Editing the original response ends its loading state, so a followup is then a new
    message that keeps its ephemeral flag; deleting the original leaves the channel empty."""
    result = await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "aside")

    answer = await result.wait_followup(0)
    await result.wait_until(lambda r: r.message is None)
    assert answer["content"] == "for your eyes only" and answer["flags"] & EPHEMERAL
    assert fake_discord.channel_messages[GENERAL.id] == []
    assert [m["content"] for m in fake_discord.shown] == ["", "Answered privately."]


async def test_subcommand_button_survives_a_restart(fake_discord: FakeDiscord) -> None:
    async with running_client(TinyBot(), fake_discord):
        listing = await fake_discord.slash(
            GUILD_ID, GENERAL.id, CONTRIBUTOR, "event list", {"days": 7}
        )
    assert listing.content == "1 event in the next 7 days"
    assert listing.message is not None

    async with running_client(TinyBot(), fake_discord):
        click = await fake_discord.click(GUILD_ID, GENERAL.id, MENTOR, listing.message, "rsvp:42")

    assert click.type is CallbackType.UPDATE_MESSAGE
    assert click.message is listing.message
    assert listing.content == "marco is going to event 42"
    assert listing.components == []


async def test_modal_round_trip(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    form = await fake_discord.slash(GUILD_ID, GENERAL.id, ORGANIZER, "plan")
    assert form.type is CallbackType.MODAL
    assert form.data["title"] == "Plan an event"

    submitted = await fake_discord.submit_modal(form, {"Name": "Hack night"})

    assert submitted.content == "planned Hack night"
    assert submitted.ephemeral


async def test_user_option_resolves_to_a_member(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    result = await fake_discord.slash(
        GUILD_ID, MENTORS_CHANNEL.id, ORGANIZER, "who", {"member": MENTOR}
    )

    assert result.content == f"marco: {MENTORS.name}"


async def test_role_and_channel_options_resolve(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    result = await fake_discord.slash(
        GUILD_ID, GENERAL.id, ORGANIZER, "notify", {"role": MENTORS, "channel": MENTORS_CHANNEL}
    )

    assert result.content == "Mentors in #mentors"


async def test_select_menu_choice(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    menu = await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "choose")
    assert menu.message is not None

    choice = await fake_discord.click(
        GUILD_ID, GENERAL.id, CONTRIBUTOR, menu.message, "pick", values=["meetup"]
    )

    assert choice.type is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE
    assert choice.content == "picked meetup"
    assert choice.ephemeral


async def test_default_permissions_hide_a_command(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    with pytest.raises(PermissionError):
        await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "purge")

    result = await fake_discord.slash(GUILD_ID, GENERAL.id, ORGANIZER, "purge")
    assert result.content == "purged"


async def test_a_late_response_is_rejected(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake_discord.interaction_response_timeout = 0.1

    with pytest.raises(TimeoutError, match="after"):
        await fake_discord.slash(GUILD_ID, GENERAL.id, CONTRIBUTOR, "nap")


async def test_send_with_nonce_is_idempotent(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    channel = bot.text_channel(ANNOUNCEMENTS.id)
    seen = asyncio.ensure_future(bot.wait_for("message", timeout=5))

    first = await channel.send("Hack night on Friday", nonce="announce-1")
    retry = await channel.send("Hack night on Friday", nonce="announce-1")

    assert retry.id == first.id
    assert (await seen).id == first.id
    assert len(fake_discord.channel_messages[ANNOUNCEMENTS.id]) == 1
    posts = [r.json for r in fake_discord.requests if r.method == "POST" and "/messages" in r.path]
    assert [(p["nonce"], p["enforce_nonce"]) for p in posts] == [("announce-1", True)] * 2

    fetched = await channel.fetch_message(first.id)
    await fetched.edit(content="Hack night moved to Saturday")
    assert fake_discord.channel_messages[ANNOUNCEMENTS.id][0]["edited_timestamp"] is not None
    await fetched.delete()
    assert fake_discord.channel_messages[ANNOUNCEMENTS.id] == []


async def test_fetch_channel_before_the_cache_has_it(
    fake_discord: FakeDiscord, bot: TinyBot
) -> None:
    """What a bot does when it sends before READY filled its cache, e.g. right after a restart."""
    channel = await bot.fetch_channel(GENERAL.id)
    assert isinstance(channel, discord.TextChannel) and channel.name == "general"
    with pytest.raises(discord.NotFound):
        await bot.fetch_channel(1)


async def test_file_upload_becomes_an_attachment(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    ics = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"

    sent = await bot.text_channel(GENERAL.id).send(
        "Calendar", file=discord.File(io.BytesIO(ics), filename="event.ics")
    )

    assert [a.filename for a in sent.attachments] == ["event.ics"]
    assert fake_discord.attachments[sent.attachments[0].id] == ics


async def test_route_rate_limit_is_retried(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    fake_discord.rate_limit_next(r"^/channels/\d+/messages$", retry_after=0.2, method="POST")
    loop = asyncio.get_running_loop()
    started = loop.time()

    await bot.text_channel(GENERAL.id).send("eventually")

    assert loop.time() - started >= 0.2
    posts = [r for r in fake_discord.requests if r.method == "POST"]
    assert len(posts) == 2


async def test_global_rate_limit_pauses_other_routes(
    fake_discord: FakeDiscord, bot: TinyBot
) -> None:
    fake_discord.rate_limit_next(f"/channels/{GENERAL.id}/", retry_after=0.3, global_=True)
    loop = asyncio.get_running_loop()
    started = loop.time()
    limited = asyncio.ensure_future(bot.text_channel(GENERAL.id).send("first"))
    await asyncio.sleep(0.1)

    await bot.text_channel(MENTORS_CHANNEL.id).send("second")

    assert loop.time() - started >= 0.3
    await limited


async def test_resume_replays_missed_events(fake_discord: FakeDiscord, bot: TinyBot) -> None:
    await fake_discord.disconnect_bot(code=4000, wait=False, downtime=0.2)

    result = await fake_discord.slash(
        GUILD_ID, GENERAL.id, CONTRIBUTOR, "ping", {"text": "still there?"}
    )

    assert result.content == "pong: still there?"
    assert (fake_discord.identify_count, fake_discord.resume_count) == (1, 1)


async def test_members_arrive_only_through_chunking(fake_discord: FakeDiscord) -> None:
    plain = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    async with running_client(plain, fake_discord):
        guild = plain.get_guild(GUILD_ID)
        assert guild is not None
        assert guild.me is not None
        assert guild.member_count == 4
        assert guild.get_member(MENTOR.id) is None

    intents = discord.Intents.default()
    intents.members = True
    chunking = discord.Client(intents=intents, guild_ready_timeout=0.05)
    async with running_client(chunking, fake_discord):
        guild = chunking.get_guild(GUILD_ID)
        assert guild is not None
        mentor = guild.get_member(MENTOR.id)
        assert mentor is not None
        assert [role.name for role in mentor.roles] == ["@everyone", MENTORS.name]


async def test_wrong_token_fails_login(fake_discord: FakeDiscord) -> None:
    client = discord.Client(intents=discord.Intents.default())
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    finally:
        await client.close()
