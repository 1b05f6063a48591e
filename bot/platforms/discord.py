"""Discord adapter (discord.py): slash commands generated from the specs, buttons that run commands.

It needs no privileged intent: slash commands and button clicks arrive as interactions. Two are
optional: Message Content for the FAQ's auto-answer, Server Members for welcomes. Replies never
ping anyone unless a command explicitly asks (`allowed_mentions` none).
"""

from __future__ import annotations

import asyncio
import inspect
import io
import logging
import re
from collections.abc import Coroutine
from typing import Any, Literal

import aiohttp
import discord
import yarl
from discord import app_commands

from bot.core.context import Caller, Role
from bot.core.diagnose import Finding
from bot.core.markup import escape_title
from bot.core.ports import DIRECT, SendResult
from bot.core.reply import Reply
from bot.core.rooms import Rooms
from bot.core.router import Router
from bot.core.spec import CommandSpec, OptionSpec
from bot.platforms import discord_doctor
from bot.platforms.base import Refused
from bot.platforms.settings import DiscordSettings

log = logging.getLogger(__name__)

DEFER_AFTER = 2.0
# How long a stop waits for the interactions under way; within the stop's STOP_STEP for closing.
ANSWER_GRACE = 0.8
# discord.py waits this long after the last GUILD_CREATE before on_ready; a bot in a few guilds
# without the members intent has them all within milliseconds of READY.
GUILD_READY_TIMEOUT = 0.5
# discord.py sleeps through a 429 inside the request, however long; past this (its minimum) it
# raises RateLimited instead, so that one rate-limited send postpones its own delivery row
# rather than holding up every delivery behind it.
MAX_RATELIMIT_WAIT = 30.0
# Between two tries to log in while Discord refuses for a while (429, 5xx, unreachable).
MAX_LOGIN_BACKOFF = 60.0
_PASSING = {429, 500, 502, 503, 504}
BUTTON_PREFIX = "cv:"
# What others briefly see in place of a public "thinking…" when the answer is for the caller.
ANSWERED_PRIVATELY = "Answered privately."
SENT_BY_DM = "I've sent it to you in a direct message."
_STYLES = {
    "primary": discord.ButtonStyle.primary,
    "secondary": discord.ButtonStyle.secondary,
    "success": discord.ButtonStyle.success,
    "danger": discord.ButtonStyle.danger,
}
Postable = discord.TextChannel | discord.Thread | discord.DMChannel | discord.VoiceChannel
_ERROR_COLOUR = discord.Colour.red()
_COLOUR = discord.Colour.blurple()


def render(reply: Reply) -> dict[str, Any]:
    """Content when it fits, an embed for titles, fields and long text; buttons as a view."""
    kwargs: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
    if reply.title or reply.fields or len(reply.text) > 2000:
        embed = discord.Embed(
            title=escape_title(reply.title or "")[:256] or None,
            description=reply.text[:4096] or None,
            colour=_ERROR_COLOUR if reply.error else _COLOUR,
        )
        for name, value in reply.fields[:25]:
            embed.add_field(name=name[:256], value=value[:1024], inline=False)
        kwargs["embed"] = embed
    else:
        kwargs["content"] = reply.text or "\u200b"
    if reply.buttons:
        view = discord.ui.View(timeout=None)
        for button in reply.buttons[:25]:
            view.add_item(CommandButton(button.command, button.label, _STYLES[button.style]))
        kwargs["view"] = view
    if reply.attachment is not None:
        data = io.BytesIO(reply.attachment.data)
        kwargs["files"] = [discord.File(data, filename=reply.attachment.filename)]
    return kwargs


def _as_edit(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Rendered for an edit, where files are given as `attachments`."""
    if "files" in kwargs:
        kwargs["attachments"] = kwargs.pop("files")
    return kwargs


class _Unusable(Exception):
    """A target that can never take the message."""


async def _outcome(work: Coroutine[Any, Any, SendResult]) -> SendResult:
    """A platform call as a delivery outcome: 429 and outages retry, refusals are final."""
    try:
        return await work
    except _Unusable as exc:
        return SendResult(error=str(exc))
    except discord.RateLimited as exc:
        return SendResult(retry_after=exc.retry_after, error="429 rate limited", limited=True)
    except (discord.Forbidden, discord.NotFound) as exc:
        return SendResult(error=f"{exc.status} {exc.text or type(exc).__name__}")
    except discord.HTTPException as exc:
        if exc.status == 429:
            return SendResult(retry_after=5.0, error="429 rate limited", limited=True)
        return SendResult(retry_after=30.0, error=f"{exc.status} {exc.text}")
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return SendResult(retry_after=10.0, error=f"connection error: {exc}")


class CommandButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=BUTTON_PREFIX + r"(?P<command>.+)"
):
    """A button whose custom id is the command it runs, so it works across restarts."""

    def __init__(
        self,
        command: str,
        label: str = "",
        style: discord.ButtonStyle = discord.ButtonStyle.primary,
    ) -> None:
        if len(BUTTON_PREFIX + command) > 100:
            raise ValueError(f"button command too long for a Discord custom id: {command!r}")
        super().__init__(
            discord.ui.Button(
                label=label or command, style=style, custom_id=BUTTON_PREFIX + command
            )
        )
        self.command = command

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> CommandButton:
        assert isinstance(item, discord.ui.Button)
        return cls(match["command"], item.label or "", item.style)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        client = interaction.client
        assert isinstance(client, ConveneClient)
        await client.platform.run_button(interaction, self.command)


class ConveneClient(discord.Client):
    def __init__(self, platform: DiscordPlatform, settings: DiscordSettings) -> None:
        intents = discord.Intents.default()
        intents.message_content = settings.message_content
        intents.members = settings.members_intent
        super().__init__(
            intents=intents,
            application_id=settings.application_id,
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=GUILD_READY_TIMEOUT,
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
        )
        self.platform = platform
        self.tree = app_commands.CommandTree(self)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(CommandButton)
        await self.platform.sync_commands()

    async def on_message(self, message: discord.Message) -> None:
        await self.platform.on_message(message)

    async def on_member_join(self, member: discord.Member) -> None:
        await self.platform.on_member_join(member)

    async def on_guild_role_create(self, role: discord.Role) -> None:
        self.platform.report_roles()

    async def on_guild_role_delete(self, role: discord.Role) -> None:
        self.platform.report_roles()

    async def on_guild_role_update(self, before: discord.Role, after: discord.Role) -> None:
        self.platform.report_roles()

    async def on_ready(self) -> None:
        self.platform.report_roles()
        self.platform.ready.set()
        log.info("Discord: connected as %s in %d guilds", self.user, len(self.guilds))


def _annotation(option: OptionSpec) -> Any:
    kind: Any = option.kind
    if option.choices:
        kind = Literal[option.choices]
    elif option.kind is str and option.max_length is not None:
        kind = app_commands.Range[str, 1, option.max_length]
    elif option.kind in (int, float) and (option.min is not None or option.max is not None):
        kind = app_commands.Range[option.kind, option.min, option.max]
    return kind if option.required else kind | None


class DiscordPlatform:
    name = "discord"

    def __init__(self, router: Router, settings: DiscordSettings, rooms: Rooms) -> None:
        self.router = router
        self.settings = settings
        if self.settings.api_base_url:
            discord.http.Route.BASE = self.settings.api_base_url.rstrip("/")
        if self.settings.gateway_url:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.settings.gateway_url)
        self.rooms = rooms
        self.client = ConveneClient(self, self.settings)
        router.runtime.roles.expect(self.name)
        router.runtime.doctors.add(self)
        self.ready = asyncio.Event()
        self._answering: set[asyncio.Task[Any]] = set()
        self.synced = asyncio.Event()

    def report_roles(self) -> None:
        """What `mention=` may name: the servers' roles, never the default one nor a bot's."""
        names = (
            role.name
            for guild in self.client.guilds
            for role in guild.roles
            if not role.is_default() and not role.managed
        )
        self.router.runtime.roles.report(self.name, names)

    @property
    def connected(self) -> bool:
        return self.ready.is_set() and not self.client.is_closed()

    @property
    def purposes(self) -> dict[int, frozenset[str]]:
        """The channels that are rooms, read at each use: rooms added from chat count at once."""
        return {int(target): purposes for target, purposes in self.rooms.on("discord").items()}

    async def run(self) -> None:
        listening = any(self.router.listens(p) for p in self.purposes.values())
        if listening and not self.settings.message_content:
            log.warning(
                "Discord: auto-answer in help rooms is off: it needs the Message Content intent "
                "(enable it in the Developer Portal and set [discord] message_content = true); "
                "/faq works without it"
            )
        welcoming = any(self.router.wants_joins(p) for p in self.purposes.values())
        if welcoming and not self.settings.members_intent:
            log.warning(
                "Discord: welcome is off: seeing members join needs the Server Members intent "
                "(enable it in the Developer Portal and set [discord] members_intent = true)"
            )
        await self._login(self.settings.token().get_secret_value())
        try:
            await self.client.connect()
        except asyncio.CancelledError:
            # Stopped (a stop, a lost lease): take no more interactions at once. Discord sends
            # each to one session and never again, so one sent to a gateway left open and
            # unread would be lost; closed, Discord has the next holder's session to send to.
            if self.client.ws is not None:
                await self.client.ws.close(code=1000)
            raise

    async def _login(self, token: str) -> None:
        """Log in, waiting out what passes (a 429 longer than discord.py's retries, an outage):
        failing here would stop the whole process, and with it the other platforms it serves.
        A rejected token is final."""
        backoff = 1.0
        while True:
            try:
                await self.client.login(token)
                return
            except discord.LoginFailure:
                raise Refused(
                    "Discord rejected the bot token; check the variable named by [discord] "
                    "token_env"
                ) from None
            except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
                if isinstance(exc, discord.HTTPException) and exc.status not in _PASSING:
                    raise
                log.warning("Discord: cannot log in (%s); retrying in %.0f s", exc, backoff)
            # The next login opens a session of its own: this one, and its connector, go.
            await self.client.http.close()
            self.client.http.connector = discord.utils.MISSING
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_LOGIN_BACKOFF)

    async def close(self) -> None:
        """Let the interactions under way answer (their answers go over REST, which needs no
        gateway), then close."""
        if self._answering:
            await asyncio.wait(self._answering, timeout=ANSWER_GRACE)
        await self.client.close()

    async def diagnose(self) -> list[Finding]:
        """What `doctor` reports of Discord; over REST, so it works before `run` too."""
        return await discord_doctor.diagnose(self)

    async def deliver(self, target: str, reply: Reply, key: str) -> SendResult:
        """One send with a nonce: Discord drops a retried send with the same nonce
        (discord.py sets enforce_nonce), so a resend after a crash cannot post twice.

        A 429 up to MAX_RATELIMIT_WAIT is waited out by discord.py, which resends the same
        payload; a longer one is returned, and the dispatcher sends again when it has passed."""

        async def send() -> SendResult:
            channel = await self._messageable(target)
            message = await channel.send(**self._with_pings(reply, channel), nonce=key[-25:])
            return SendResult(message_id=str(message.id))

        return await _outcome(send())

    async def edit(self, target: str, message_id: str, reply: Reply, key: str) -> SendResult:
        """Rewrite a post in place; an edit is idempotent, so it needs no key."""

        async def edit() -> SendResult:
            channel = await self._messageable(target)
            kwargs = self._with_pings(reply, channel)
            kwargs.setdefault("content", None)
            kwargs.setdefault("embed", None)
            kwargs.setdefault("view", None)
            await channel.get_partial_message(int(message_id)).edit(**_as_edit(kwargs))
            return SendResult(message_id=message_id)

        return await _outcome(edit())

    async def _messageable(self, target: str) -> Postable:
        if target.startswith(DIRECT):
            return await self.client.create_dm(discord.Object(id=int(target.removeprefix(DIRECT))))
        channel = self.client.get_channel(int(target)) or await self.client.fetch_channel(
            int(target)
        )
        if not isinstance(channel, Postable):
            raise _Unusable(f"channel {target} cannot take messages")
        return channel

    def _with_pings(self, reply: Reply, channel: Postable) -> dict[str, Any]:
        """The rendered reply, with the mentions it asks for put where Discord pings: the
        content, allowed for exactly those users and roles."""
        kwargs = render(reply)
        guild: discord.Guild | None = getattr(channel, "guild", None)
        roles = [] if guild is None else self._roles_named(guild, reply.mention_roles)
        users = [discord.Object(id=int(u)) for u in reply.mentions if u.isdigit()]
        pings = [f"<@{u.id}>" for u in users] + [role.mention for role in roles]
        if pings:
            body = kwargs.get("content")
            kwargs["content"] = " ".join(pings) + (f" {body}" if body else "")
            kwargs["allowed_mentions"] = discord.AllowedMentions(
                everyone=False, users=users, roles=roles, replied_user=False
            )
        return kwargs

    def _roles_named(self, guild: discord.Guild, names: list[str]) -> list[discord.Role]:
        """The server's roles of these names; never the default role, whose name is
        "@everyone", whatever a stored name says."""
        wanted: set[str] = set()
        for name in names:
            if name == "organizers":
                wanted.update(self.settings.organizer_roles)
            elif name == "mentors":
                wanted.update(self.settings.mentor_roles)
            else:
                wanted.add(name)
        folded = {name.casefold() for name in wanted}
        return [
            role for role in guild.roles if role.name.casefold() in folded and not role.is_default()
        ]

    def _build(self) -> list[app_commands.Command[Any, ..., Any] | app_commands.Group]:
        """One app command per spec, nested in groups by the words of its name."""
        top: dict[str, app_commands.Command[Any, ..., Any] | app_commands.Group] = {}
        groups: dict[tuple[str, ...], app_commands.Group] = {}
        for spec in self.router.specs:
            *path, leaf = spec.words
            parent: app_commands.Group | None = None
            for depth in range(1, len(path) + 1):
                key = tuple(path[:depth])
                if key not in groups:
                    groups[key] = app_commands.Group(
                        name=key[-1], description=f"{' '.join(key)} commands", parent=parent
                    )
                    if parent is None:
                        top[key[0]] = groups[key]
                parent = groups[key]
            command: app_commands.Command[Any, ..., Any] = app_commands.Command(
                name=leaf,
                description=spec.help,
                callback=self._callback(spec),
                parent=parent,
            )
            if parent is None:
                top[leaf] = command
            else:
                parent.add_command(command)
        return list(top.values())

    def _callback(self, spec: CommandSpec) -> Any:
        async def callback(interaction: discord.Interaction[Any], **options: Any) -> None:
            await self.run_command(interaction, spec, options)

        params = [
            inspect.Parameter(
                "interaction",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=discord.Interaction,
            )
        ]
        params += [
            inspect.Parameter(
                option.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=_annotation(option),
                default=inspect.Parameter.empty if option.required else None,
            )
            for option in sorted(spec.options, key=lambda o: not o.required)
        ]
        callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        callback.__qualname__ = callback.__name__ = spec.name.replace(" ", "_")
        descriptions = {option.name: option.help for option in spec.options}
        described = app_commands.describe(**descriptions)(callback)
        completers = {o.name: self._completer(spec, o.name) for o in spec.options if o.suggest}
        return app_commands.autocomplete(**completers)(described) if completers else described

    def _completer(self, spec: CommandSpec, name: str) -> Any:
        async def complete(
            interaction: discord.Interaction[Any], current: str
        ) -> list[app_commands.Choice[str]]:
            found = await self.router.suggest(spec, name, current)
            return [app_commands.Choice(name=text, value=text) for text in found]

        return complete

    async def sync_commands(self) -> None:
        tree = self.client.tree
        guilds = [discord.Object(id=guild_id) for guild_id in self.settings.guild_ids]
        for command in self._build():
            tree.add_command(command, guilds=guilds or discord.utils.MISSING)
        try:
            for guild in guilds:
                await tree.sync(guild=guild)
            if not guilds:
                await tree.sync()
        except discord.RateLimited as exc:
            log.warning(
                "Discord: syncing the commands is rate limited for %.0f s; the commands of the "
                "last sync stay until a restart after that",
                exc.retry_after,
            )
            return
        self.synced.set()

    def caller(self, interaction: discord.Interaction[Any]) -> Caller:
        return self._caller(
            interaction.user, interaction.channel_id, interaction.guild_id, str(interaction.id)
        )

    def _caller(
        self,
        user: discord.User | discord.Member,
        channel_id: int | None,
        guild_id: int | None,
        event_id: str | None = None,
    ) -> Caller:
        return Caller(
            platform="discord",
            user_id=str(user.id),
            display_name=user.name,
            role=self._role(user),
            room_id=str(channel_id),
            is_direct=guild_id is None,
            style="slash",
            event_id=event_id,
        )

    async def on_message(self, message: discord.Message) -> None:
        """An ordinary message in a room whose purpose has listeners (a help room's FAQ);
        the answer goes in a thread on the message, or as a reply where threads are not allowed."""
        purposes = self.rooms.purposes_at("discord", str(message.channel.id))
        if message.author.bot or not message.content or not self.router.listens(purposes):
            return
        guild_id = message.guild.id if message.guild is not None else None
        caller = self._caller(message.author, message.channel.id, guild_id)
        reply = await self.router.handle_message(caller, message.content, purposes)
        if reply is None:
            return
        try:
            thread = await message.create_thread(name=(reply.title or "Answer")[:100])
            await thread.send(**render(reply))
        except discord.HTTPException:
            await message.reply(**render(reply))

    async def on_member_join(self, member: discord.Member) -> None:
        """Joining a server is joining each of its channels: those whose purposes have join
        listeners (welcome channels) are handed to the router together."""
        if member.bot:
            return
        rooms = {
            str(channel_id): purposes
            for channel_id, purposes in self.purposes.items()
            if self.router.wants_joins(purposes) and member.guild.get_channel(channel_id)
        }
        if rooms:
            caller = self._caller(member, int(next(iter(rooms))), member.guild.id)
            await self.router.handle_join(caller, rooms)

    def _role(self, user: discord.User | discord.Member) -> Role:
        if not isinstance(user, discord.Member):
            return Role.CONTRIBUTOR
        names = {role.name for role in user.roles}
        if names & set(self.settings.organizer_roles) or user.guild_permissions.administrator:
            return Role.ORGANIZER
        if names & set(self.settings.mentor_roles):
            return Role.MENTOR
        return Role.CONTRIBUTOR

    async def run_command(
        self, interaction: discord.Interaction[Any], spec: CommandSpec, options: dict[str, Any]
    ) -> None:
        work = self.router.invoke(self.caller(interaction), spec, options)
        await self._answer(self._respond(interaction, work, private=spec.private))

    async def run_button(self, interaction: discord.Interaction[Any], command: str) -> None:
        work = self.router.handle_text(self.caller(interaction), command)
        await self._answer(self._respond(interaction, work, private=True))

    async def _answer(self, responding: Coroutine[Any, Any, None]) -> None:
        """Answer, known to `close` as under way."""
        task = asyncio.current_task()
        assert task is not None
        self._answering.add(task)
        try:
            await responding
        finally:
            self._answering.discard(task)

    async def _respond(
        self, interaction: discord.Interaction[Any], work: Any, *, private: bool
    ) -> None:
        """Answer within Discord's 3 s: directly when fast, else defer and fill in the answer.

        A deferred answer keeps the visibility chosen when deferring, before the reply exists,
        so *private* (the spec's word) chooses it. A reply only for the caller after a public
        defer, such as an error, never fills the public placeholder: the placeholder is closed
        with a neutral line, the reply follows as a new, ephemeral message, and the placeholder
        is deleted. An interaction another instance already answered (None) is left to it."""
        deferring: list[asyncio.Task[Any]] = []

        def defer() -> None:
            deferring.append(
                asyncio.create_task(interaction.response.defer(ephemeral=private, thinking=True))
            )

        # The work runs here, in this task; only when it is slow does a timer defer beside it.
        timer = asyncio.get_running_loop().call_later(DEFER_AFTER, defer)
        try:
            reply = await work
        finally:
            timer.cancel()
        if reply is None:
            if deferring:
                await deferring[0]
            return
        if not deferring and reply.attachment is None:
            await interaction.response.send_message(
                **render(reply), ephemeral=private or _for_caller(reply)
            )
            return
        if deferring:
            await deferring[0]
        else:
            # A file takes another request or two: defer first, so Discord's 3 s cannot run out.
            await interaction.response.defer(ephemeral=private, thinking=True)
        if reply.attachment is not None and reply.private:
            reply = await self._by_direct_message(interaction.user, reply)
        if private or not _for_caller(reply):
            await interaction.edit_original_response(**_as_edit(render(reply)))
            return
        await interaction.edit_original_response(content=ANSWERED_PRIVATELY, embed=None, view=None)
        await interaction.followup.send(**render(reply), ephemeral=True)
        await interaction.delete_original_response()

    async def _by_direct_message(self, user: discord.User | discord.Member, reply: Reply) -> Reply:
        """A private file goes to the caller's direct messages, where it stays (an ephemeral
        answer is gone once dismissed); the answer points there. When their direct messages
        are closed, the ephemeral answer carries the file itself."""
        try:
            channel = await user.create_dm()
            await channel.send(**render(reply))
        except discord.HTTPException as exc:
            log.info("Discord: cannot send a file by direct message (%s); answering here", exc)
            return reply
        return Reply(SENT_BY_DM, private=True)


def _for_caller(reply: Reply) -> bool:
    """Private replies and refusals are shown to the caller alone."""
    return reply.private or reply.error
