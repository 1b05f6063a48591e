"""An in-process stand-in for Discord's REST API and gateway.

End-to-end tests run the real, unmodified discord.py client against this
server, so they exercise the same payloads, rate-limit handling and
interaction lifecycle the bot meets in production without a network or a
real bot token. Where discord.py or a bot can observe Discord's behaviour
(required payload keys, the 3 second acknowledgement window, deferred
responses being filled by the first followup with the visibility chosen when
deferring, nonce de-duplication, members only arriving through chunking) the
fake mimics it; everything else is left out.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import enum
import json
import math
import re
import secrets
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, Self, TypeAlias

from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler

JSON: TypeAlias = dict[str, Any]

API_PREFIX = "/api/v10"
EPHEMERAL = 1 << 6
LOADING = 1 << 7
ALL_PERMISSIONS = (1 << 53) - 1
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
MESSAGE_LENGTH_LIMIT = 2000
_DISCORD_EPOCH_MS = 1_420_070_400_000
_GUILD_MEMBERS_INTENT = 1 << 1
_GUILD_PRESENCES_INTENT = 1 << 8
_MESSAGE_CONTENT_INTENT = 1 << 15


class ApplicationFlag(enum.IntFlag):
    """The privileged intents' flags on an application, as the Developer Portal sets them: a bot
    in fewer than 100 servers gets the `_LIMITED` flag when its owner turns an intent on."""

    GATEWAY_PRESENCE = 1 << 12
    GATEWAY_PRESENCE_LIMITED = 1 << 13
    GATEWAY_GUILD_MEMBERS = 1 << 14
    GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
    GATEWAY_MESSAGE_CONTENT = 1 << 18
    GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19


class Permission(enum.IntFlag):
    """The bits the defaults and fixtures need; Discord defines many more."""

    CREATE_INSTANT_INVITE = 1 << 0
    ADMINISTRATOR = 1 << 3
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    CHANGE_NICKNAME = 1 << 26
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_EVENTS = 1 << 33
    CREATE_PUBLIC_THREADS = 1 << 35
    SEND_MESSAGES_IN_THREADS = 1 << 38


DEFAULT_EVERYONE_PERMISSIONS = (
    Permission.CREATE_INSTANT_INVITE
    | Permission.ADD_REACTIONS
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.CHANGE_NICKNAME
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.CREATE_PUBLIC_THREADS
    | Permission.SEND_MESSAGES_IN_THREADS
)


class InteractionType(enum.IntEnum):
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    APPLICATION_COMMAND_AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class CallbackType(enum.IntEnum):
    CHANNEL_MESSAGE_WITH_SOURCE = 4
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
    MODAL = 9


class OptionType(enum.IntEnum):
    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    CHANNEL = 7
    ROLE = 8
    MENTIONABLE = 9
    NUMBER = 10


@dataclass(frozen=True)
class FakeRole:
    id: int
    name: str
    permissions: int = 0

    def payload(self, position: int) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": position,
            "colors": {"primary_color": 0},
            "hoist": False,
            "managed": False,
            "mentionable": True,
            "flags": 0,
        }


@dataclass(frozen=True)
class FakeOverwrite:
    """A channel's permission overwrite for a role (`type` 0; the @everyone role's id is the
    guild's) or a member (`type` 1)."""

    id: int
    type: int = 0
    allow: int = 0
    deny: int = 0

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass(frozen=True)
class FakeChannel:
    id: int
    name: str
    type: int = 0
    topic: str | None = None
    parent_id: int | None = None
    overwrites: Sequence[FakeOverwrite] = ()

    def payload(self, guild_id: int, position: int) -> JSON:
        voice = {"bitrate": 64000, "user_limit": 0, "rtc_region": None}
        return {
            **(voice if self.type in (2, 13) else {}),
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(guild_id),
            "name": self.name,
            "position": position,
            "permission_overwrites": [overwrite.payload() for overwrite in self.overwrites],
            "parent_id": None if self.parent_id is None else str(self.parent_id),
            "topic": self.topic,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }


@dataclass(frozen=True)
class FakeUser:
    id: int
    username: str
    role_ids: Sequence[int] = ()
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass(frozen=True)
class FakeGuild:
    id: int
    name: str
    channels: Sequence[FakeChannel] = ()
    roles: Sequence[FakeRole] = ()
    members: Sequence[FakeUser] = ()
    owner_id: int | None = None
    everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS
    bot_permissions: int = Permission.ADMINISTRATOR

    def channel(self, channel_id: int) -> FakeChannel:
        for channel in self.channels:
            if channel.id == channel_id:
                return channel
        raise LookupError(f"guild {self.name!r} has no channel {channel_id}")

    def role(self, role_id: int) -> FakeRole:
        for role in self.roles:
            if role.id == role_id:
                return role
        raise LookupError(f"guild {self.name!r} has no role {role_id}")


class RecordedRequest(NamedTuple):
    method: str
    path: str
    json: Any


class _Upload(NamedTuple):
    filename: str
    content_type: str
    data: bytes


class _Body(NamedTuple):
    json: Any
    uploads: dict[int, _Upload]


_ApiHandler = Callable[[web.Request, _Body], Awaitable[web.StreamResponse]]


@dataclass
class _RateLimitRule:
    pattern: re.Pattern[str]
    method: str | None
    retry_after: float
    remaining: int
    global_: bool


@dataclass
class _GatewaySession:
    id: str
    intents: int
    sequence: int = 0
    sent: list[tuple[int, str]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    live: bool = False


class _DiscordError(Exception):
    """Carries a Discord-style error body so handlers can bail out early."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class InteractionResult:
    """What the bot did with one interaction, kept live as it keeps responding.

    ``message`` and the shortcut properties follow the interaction's original
    response (for component updates: the clicked message) through later edits,
    so a test can await a change instead of polling REST logs.
    """

    def __init__(
        self,
        fake: FakeDiscord,
        payload: JSON,
        guild: FakeGuild,
        user: FakeUser,
        description: str,
    ) -> None:
        self._fake = fake
        self.payload = payload
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.kind = InteractionType(payload["type"])
        self.guild = guild
        self.channel_id = int(payload["channel_id"])
        self.user = user
        self.description = description
        self.clicked_message_id: int | None = (
            int(payload["message"]["id"]) if "message" in payload else None
        )
        self.type: CallbackType | None = None
        self.data: JSON = {}
        self.message_id: int | None = None
        self.followups: list[JSON] = []
        self.late_by: float | None = None
        self.dispatched_at = asyncio.get_running_loop().time()
        self.responded_at: float | None = None

    def __repr__(self) -> str:
        return f"<InteractionResult {self.description} type={self.type!r}>"

    @property
    def message(self) -> JSON | None:
        if self.message_id is None:
            return None
        return self._fake.messages.get(self.message_id)

    @property
    def content(self) -> str | None:
        message = self.message
        return None if message is None else message["content"]

    @property
    def embeds(self) -> list[JSON]:
        message = self.message
        return [] if message is None else message["embeds"]

    @property
    def components(self) -> list[JSON]:
        message = self.message
        return [] if message is None else message["components"]

    @property
    def flags(self) -> int:
        message = self.message
        return 0 if message is None else message["flags"]

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    async def wait_until(self, predicate: Callable[[InteractionResult], bool]) -> None:
        await self._fake.wait_until(lambda: predicate(self), description=repr(self))

    async def wait_followup(self, index: int = 0) -> JSON:
        """Followups include the one that fills a deferred response."""
        await self._fake.wait_until(
            lambda: len(self.followups) > index,
            description=f"followup #{index} to {self.description}",
        )
        return self.followups[index]


class FakeDiscord:
    """Serves one bot: REST under ``api_base`` and the gateway at ``gateway_url``.

    Point discord.py at it by patching ``discord.http.Route.BASE`` and
    ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``.
    """

    def __init__(
        self,
        *,
        application_id: int,
        bot_user_id: int,
        guilds: Sequence[FakeGuild],
        bot_username: str = "Convene",
        application_flags: int = 0,
        token: str = "fake-bot-token",
        interaction_response_timeout: float = 3.0,
        wait_timeout: float = 5.0,
        settle_time: float = 0.02,
    ) -> None:
        self.application_id = application_id
        # What the Developer Portal allows, e.g. GATEWAY_MESSAGE_CONTENT (1 << 18).
        self.application_flags = application_flags
        self.bot_user = FakeUser(bot_user_id, bot_username, bot=True)
        self.guilds = {guild.id: guild for guild in guilds}
        self.token = token
        self.interaction_response_timeout = interaction_response_timeout
        self.wait_timeout = wait_timeout
        self.settle_time = settle_time
        self.port = 0
        self.commands: dict[int | None, list[JSON]] = {}
        self.messages: dict[int, JSON] = {}
        self.channel_messages: defaultdict[int, list[JSON]] = defaultdict(list)
        # Every state of every message that is not ephemeral, in order: what a channel or DM
        # showed, even for a moment before an edit or a deletion.
        self.shown: list[JSON] = []
        self.attachments: dict[int, bytes] = {}
        self.requests: list[RecordedRequest] = []
        self.identify_count = 0
        self.resume_count = 0
        self._last_id = 0
        self._bot_role_ids = {guild.id: self._next_id() for guild in guilds}
        self._channel_guilds = {channel.id: guild for guild in guilds for channel in guild.channels}
        self._interactions: dict[int, InteractionResult] = {}
        self._joined: defaultdict[int, list[FakeUser]] = defaultdict(list)
        self._nonces: dict[tuple[int, str], int] = {}
        self.dm_channels: dict[int, int] = {}
        self.closed_dms: set[int] = set()
        self._dm_recipients: dict[int, FakeUser] = {}
        self._rate_limits: list[_RateLimitRule] = []
        self._session: _GatewaySession | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._send_lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._requests_in_flight = 0
        self._gateway_opens_at = 0.0
        self._last_request_at = 0.0

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> None:
        self._runner = web.AppRunner(self._build_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        *,
        description: str = "condition",
    ) -> None:
        """Re-checks ``predicate`` whenever the fake's state changes."""
        try:
            async with asyncio.timeout(self.wait_timeout):
                while not predicate():
                    await self._changed.wait()
        except TimeoutError:
            raise TimeoutError(
                f"timed out after {self.wait_timeout}s waiting for {description}"
            ) from None

    def gateway_live(self) -> bool:
        """Whether a bot holds a gateway session now, to which Discord would send events."""
        return self._session is not None and self._session.live

    async def wait_ready(self) -> None:
        await self.wait_until(
            lambda: self._session is not None and self._session.live,
            description="the bot to connect to the gateway",
        )

    async def wait_commands_synced(self, guild_id: int | None = None) -> list[JSON]:
        """Returns once any sync of that scope arrived; ``None`` is the global scope."""
        await self.wait_until(
            lambda: guild_id in self.commands,
            description=f"commands to be synced for {guild_id or 'global scope'}",
        )
        return self.commands[guild_id]

    def rate_limit_next(
        self,
        path_regex: str,
        *,
        retry_after: float = 0.2,
        count: int = 1,
        global_: bool = False,
        method: str | None = None,
    ) -> None:
        """Answers the next ``count`` matching requests with a 429.

        ``path_regex`` is searched in the path below ``/api/v10``.
        """
        self._rate_limits.append(
            _RateLimitRule(re.compile(path_regex), method, retry_after, count, global_)
        )

    def add_bot_to(self, guild: FakeGuild) -> None:
        """Someone opened the bot's invite link for *guild*: REST lists it from now on. No
        GUILD_CREATE is sent, so this is for tests with no client connected."""
        self.guilds[guild.id] = guild
        self._bot_role_ids[guild.id] = self._next_id()
        self._channel_guilds.update({channel.id: guild for channel in guild.channels})

    def clear_rate_limits(self) -> None:
        """Answer every request again, whatever `rate_limit_next` asked for."""
        self._rate_limits.clear()

    async def disconnect_bot(
        self, code: int = 4000, *, wait: bool = True, downtime: float = 0.0
    ) -> None:
        """Drops the gateway socket; events dispatched meanwhile await a RESUME.

        discord.py reconnects at once, so ``downtime`` holds back the HELLO of
        new connections to leave a window in which events pile up.
        """
        session = self._require_session()
        ws, session.ws, session.live = session.ws, None, False
        self._gateway_opens_at = asyncio.get_running_loop().time() + downtime
        handshakes = self.identify_count + self.resume_count
        if ws is not None:
            await ws.close(code=code)
        if wait:
            await self.wait_until(
                lambda: self.identify_count + self.resume_count > handshakes,
                description="the bot to reconnect",
            )

    async def slash(
        self,
        guild_id: int,
        channel_id: int,
        user: FakeUser,
        command: str,
        options: Mapping[str, Any] | None = None,
    ) -> InteractionResult:
        """Invokes a synced chat command, e.g. ``"event list"``, as ``user``.

        Option values are plain JSON values, or ``FakeUser``/``FakeRole``/
        ``FakeChannel`` for the snowflake option types. Raises
        ``PermissionError`` when Discord would hide the command from ``user``.
        """
        guild = self.guilds[guild_id]
        top, *path = command.split()
        definition = self._find_command(guild_id, top)
        self._check_command_permissions(guild, user, definition, command)
        resolved: JSON = {}
        data: JSON = {
            "id": definition["id"],
            "name": top,
            "type": 1,
            "options": self._command_options(
                guild, definition, path, options or {}, resolved, command
            ),
        }
        if "guild_id" in definition:
            data["guild_id"] = definition["guild_id"]
        if resolved:
            data["resolved"] = resolved
        return await self._interact(
            InteractionType.APPLICATION_COMMAND,
            guild,
            channel_id,
            user,
            data,
            description=f"/{command}",
        )

    async def autocomplete(
        self,
        guild_id: int,
        channel_id: int,
        user: FakeUser,
        command: str,
        typing: str,
        partial: str,
        options: Mapping[str, Any] | None = None,
    ) -> list[JSON]:
        """*user* types *partial* into option *typing* of ``command``; the choices offered.

        As on Discord, other options may still be missing, and only an option the command
        declared with autocomplete asks the bot."""
        guild = self.guilds[guild_id]
        top, *path = command.split()
        definition = self._find_command(guild_id, top)
        self._check_command_permissions(guild, user, definition, command)
        values = {**(options or {}), typing: partial}
        built = self._command_options(guild, definition, path, values, {}, command, partial=True)
        leaf = built
        while leaf and leaf[0]["type"] in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP):
            leaf = leaf[0]["options"]
        schema = definition
        for name in path:
            schema = next(o for o in schema["options"] if o["name"] == name)
        if not next(o for o in schema["options"] if o["name"] == typing).get("autocomplete"):
            raise LookupError(f"/{command} {typing} has no autocomplete")
        focused = next(o for o in leaf if o["name"] == typing)
        focused["focused"] = True
        data: JSON = {"id": definition["id"], "name": top, "type": 1, "options": built}
        if "guild_id" in definition:
            data["guild_id"] = definition["guild_id"]
        result = await self._interact(
            InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE,
            guild,
            channel_id,
            user,
            data,
            description=f"autocomplete of /{command} {typing}",
        )
        if result.type is not CallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
            raise AssertionError(f"autocomplete answered with {result.type!r}")
        choices: list[JSON] = (result.data or {}).get("choices", [])
        return choices

    async def user_says(self, channel_id: int, user: FakeUser, content: str) -> JSON:
        """A member posts in a channel. As on Discord, the bot gets the text only with the
        Message Content intent (or when mentioned); otherwise the content arrives empty."""
        session = self._require_session()
        guild = self._guild_of_channel(channel_id)
        mentioned = f"<@{self.bot_user.id}>" in content
        visible = content if session.intents & _MESSAGE_CONTENT_INTENT or mentioned else ""
        message: JSON = {
            "id": str(self._next_id()),
            "channel_id": str(channel_id),
            "author": user.payload(),
            "content": content,
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        self.messages[int(message["id"])] = message
        self.channel_messages[channel_id].append(message)
        self.shown.append(copy.deepcopy(message))
        member = self._member_payload(guild, user)
        del member["user"]
        await self._dispatch(
            "MESSAGE_CREATE",
            {**message, "content": visible, "guild_id": str(guild.id), "member": member},
        )
        self._notify()
        return message

    async def member_joins(self, guild_id: int, user: FakeUser) -> None:
        """A user joins a guild. As on Discord, the bot is told (GUILD_MEMBER_ADD) only when it
        identified with the Server Members intent."""
        session = self._require_session()
        guild = self.guilds[guild_id]
        if user not in self._guild_members(guild):
            self._joined[guild_id].append(user)
        if session.intents & _GUILD_MEMBERS_INTENT:
            await self._dispatch(
                "GUILD_MEMBER_ADD", {**self._member_payload(guild, user), "guild_id": str(guild_id)}
            )
        self._notify()

    async def click(
        self,
        guild_id: int,
        channel_id: int,
        user: FakeUser,
        message: Mapping[str, Any] | int,
        custom_id: str,
        *,
        values: Sequence[str] | None = None,
    ) -> InteractionResult:
        """Uses a component of a stored message; pass ``values`` for a select."""
        message_id = message if isinstance(message, int) else int(message["id"])
        stored = self.messages.get(message_id)
        if stored is None:
            raise LookupError(f"message {message_id} is unknown or deleted")
        components = list(_walk_components(stored["components"]))
        component = next((c for c in components if c.get("custom_id") == custom_id), None)
        if component is None:
            known = [c["custom_id"] for c in components if "custom_id" in c]
            raise LookupError(f"message has no component {custom_id!r}; it has {known}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        data: JSON = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = list(values)
        return await self._interact(
            InteractionType.MESSAGE_COMPONENT,
            self.guilds[guild_id],
            channel_id,
            user,
            data,
            message=stored,
            description=f"click on {custom_id!r}",
        )

    async def submit_modal(
        self,
        modal: InteractionResult,
        values: Mapping[str, str | Sequence[str]],
    ) -> InteractionResult:
        """Submits the modal the bot answered ``modal`` with, as that user."""
        if modal.type is not CallbackType.MODAL:
            raise ValueError(f"{modal} did not open a modal")
        unused = set(values)
        components = _submitted_components(modal.data["components"], values, unused)
        if unused:
            raise LookupError(f"modal has no inputs {sorted(unused)}")
        data = {"custom_id": modal.data["custom_id"], "components": components}
        return await self._interact(
            InteractionType.MODAL_SUBMIT,
            modal.guild,
            modal.channel_id,
            modal.user,
            data,
            description=f"modal {modal.data['custom_id']!r}",
        )

    def permissions(self, guild: FakeGuild, user: FakeUser) -> int:
        """Guild-wide, as Discord computes them. Channel overwrites go to the bot in the
        channels' payloads but are not applied here."""
        if user.id == guild.owner_id:
            return ALL_PERMISSIONS
        value = guild.everyone_permissions
        for role_id in user.role_ids:
            value |= guild.role(role_id).permissions
        if user.id == self.bot_user.id:
            value |= guild.bot_permissions
        return ALL_PERMISSIONS if value & Permission.ADMINISTRATOR else value

    def _next_id(self) -> int:
        now = (int(time.time() * 1000) - _DISCORD_EPOCH_MS) << 22
        self._last_id = max(now, self._last_id + 1)
        return self._last_id

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _require_session(self) -> _GatewaySession:
        if self._session is None:
            raise RuntimeError("no bot has identified; await wait_ready() first")
        return self._session

    def _guild_members(self, guild: FakeGuild) -> list[FakeUser]:
        return [self.bot_user, *guild.members, *self._joined[guild.id]]

    def _member_payload(self, guild: FakeGuild, user: FakeUser) -> JSON:
        role_ids = list(user.role_ids)
        if user.id == self.bot_user.id:
            role_ids.append(self._bot_role_ids[guild.id])
        return {
            "user": user.payload(),
            "roles": [str(role_id) for role_id in role_ids],
            "nick": None,
            "avatar": None,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }

    def _roles_payload(self, guild: FakeGuild) -> list[JSON]:
        """@everyone (whose id is the guild's), the guild's roles, and the role Discord makes
        for the bot when it joins, managed by the integration."""
        everyone = {
            **FakeRole(guild.id, "@everyone", guild.everyone_permissions).payload(0),
            "mentionable": False,
        }
        bot_role = {
            **FakeRole(
                self._bot_role_ids[guild.id], self.bot_user.username, guild.bot_permissions
            ).payload(len(guild.roles) + 1),
            "managed": True,
            "tags": {"bot_id": str(self.bot_user.id)},
        }
        roles = (role.payload(i) for i, role in enumerate(guild.roles, start=1))
        return [everyone, *roles, bot_role]

    def _guild_payload(self, guild: FakeGuild, intents: int) -> JSON:
        members = self._guild_members(guild)
        presences = bool(intents & _GUILD_PRESENCES_INTENT)
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "banner": None,
            "description": None,
            "owner_id": None if guild.owner_id is None else str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "preferred_locale": "en-US",
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": self._roles_payload(guild),
            "channels": [channel.payload(guild.id, i) for i, channel in enumerate(guild.channels)],
            "members": [
                self._member_payload(guild, member)
                for member in (members if presences else [self.bot_user])
            ],
            "member_count": len(members),
            "joined_at": "2024-01-01T00:00:00+00:00",
            "large": False,
            "unavailable": False,
            "lazy": True,
            "voice_states": [],
            "presences": [],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _find_command(self, guild_id: int, name: str) -> JSON:
        synced = [*self.commands.get(guild_id, []), *self.commands.get(None, [])]
        for command in synced:
            if command["name"] == name and command["type"] == 1:
                return command
        names = sorted(command["name"] for command in synced)
        raise LookupError(f"/{name} is not synced for guild {guild_id}; synced: {names}")

    def _check_command_permissions(
        self, guild: FakeGuild, user: FakeUser, command: JSON, name: str
    ) -> None:
        required = command.get("default_member_permissions")
        if required is None:
            return
        if self.permissions(guild, user) & int(required) != int(required):
            raise PermissionError(f"{user.username} cannot see /{name}")

    def _command_options(
        self,
        guild: FakeGuild,
        parent: JSON,
        path: list[str],
        values: Mapping[str, Any],
        resolved: JSON,
        command: str,
        *,
        partial: bool = False,
    ) -> list[JSON]:
        schema: list[JSON] = parent.get("options") or []
        nested = (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP)
        subcommands = {o["name"]: o for o in schema if o["type"] in nested}
        if path or subcommands:
            name, *rest = path or [""]
            if name not in subcommands:
                raise LookupError(f"/{command}: choose one of {sorted(subcommands)}")
            sub = subcommands[name]
            return [
                {
                    "type": sub["type"],
                    "name": name,
                    "options": self._command_options(
                        guild, sub, rest, values, resolved, command, partial=partial
                    ),
                }
            ]
        known = {option["name"]: option for option in schema}
        if unknown := set(values) - set(known):
            raise LookupError(f"/{command} has no options {sorted(unknown)}")
        missing = [n for n, o in known.items() if o.get("required") and n not in values]
        if missing and not partial:
            raise ValueError(f"/{command} requires options {missing}")
        return [
            self._option_value(guild, known[name], value, resolved, command)
            for name, value in values.items()
        ]

    def _option_value(
        self, guild: FakeGuild, schema: JSON, value: Any, resolved: JSON, command: str
    ) -> JSON:
        kind: int = schema["type"]
        choices = [choice["value"] for choice in schema.get("choices") or []]
        if choices and value not in choices:
            raise ValueError(f"/{command} {schema['name']} must be one of {choices}")
        if isinstance(value, FakeUser):
            resolved.setdefault("users", {})[str(value.id)] = value.payload()
            member = self._member_payload(guild, value)
            del member["user"], member["deaf"], member["mute"]
            member["permissions"] = str(self.permissions(guild, value))
            resolved.setdefault("members", {})[str(value.id)] = member
            value = str(value.id)
        elif isinstance(value, FakeRole):
            role = value.payload(list(guild.roles).index(guild.role(value.id)) + 1)
            resolved.setdefault("roles", {})[str(value.id)] = role
            value = str(value.id)
        elif isinstance(value, FakeChannel):
            channel = {
                **value.payload(guild.id, guild.channels.index(value)),
                "permissions": str(self.permissions(guild, self.bot_user)),
            }
            resolved.setdefault("channels", {})[str(value.id)] = channel
            value = str(value.id)
        elif kind in (OptionType.USER, OptionType.ROLE, OptionType.CHANNEL):
            raise TypeError(f"pass a FakeUser/FakeRole/FakeChannel for {schema['name']}")
        return {"type": kind, "name": schema["name"], "value": value}

    async def _interact(
        self,
        kind: InteractionType,
        guild: FakeGuild,
        channel_id: int,
        user: FakeUser,
        data: JSON,
        *,
        description: str,
        message: JSON | None = None,
    ) -> InteractionResult:
        self._require_session()
        await self._settle()
        channel = guild.channel(channel_id)
        permissions = self.permissions(guild, user)
        member = {**self._member_payload(guild, user), "permissions": str(permissions)}
        payload: JSON = {
            "id": str(self._next_id()),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": {
                **channel.payload(guild.id, guild.channels.index(channel)),
                "permissions": str(permissions),
            },
            "member": member,
            "token": secrets.token_urlsafe(32),
            "version": 1,
            "app_permissions": str(self.permissions(guild, self.bot_user)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if message is not None:
            payload["message"] = copy.deepcopy(message)
        result = InteractionResult(self, payload, guild, user, description)
        self._interactions[result.id] = result
        await self._dispatch("INTERACTION_CREATE", payload)
        await self.wait_until(
            lambda: result.type is not None or result.late_by is not None,
            description=f"the bot to respond to {description}",
        )
        if result.late_by is not None:
            raise TimeoutError(
                f"the bot responded to {description} after {result.late_by:.2f}s;"
                f" Discord rejects responses after {self.interaction_response_timeout}s"
            )
        return result

    async def _settle(self) -> None:
        """Waits until the bot has gone quiet, as a human's reaction time would.

        The fake records a response before discord.py has read it, and the bot
        keeps working afterwards (registering views, sending followups); a user
        acting in that instant would hit state no real user can reach.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_timeout
        while self._requests_in_flight or loop.time() - self._last_request_at < self.settle_time:
            if loop.time() > deadline:
                raise TimeoutError(f"the bot kept making requests for {self.wait_timeout}s")
            await asyncio.sleep(self.settle_time)

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/resume-gateway", self._gateway)
        webhook_message = "/webhooks/{app_id}/{token}/messages/{message_id}"
        channel_message = "/channels/{channel_id}/messages/{message_id}"
        routes: list[tuple[str, str, _ApiHandler]] = [
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/users/@me", self._get_me),
            ("GET", "/users/@me/guilds", self._get_my_guilds),
            ("GET", "/guilds/{guild_id}", self._get_guild),
            ("GET", "/guilds/{guild_id}/channels", self._get_guild_channels),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/guilds/{guild_id}/roles", self._get_guild_roles),
            ("PUT", "/applications/{app_id}/commands", self._put_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._put_commands),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", channel_message, self._get_channel_message),
            ("PATCH", channel_message, self._edit_channel_message),
            ("DELETE", channel_message, self._delete_channel_message),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._interaction_callback),
            ("POST", "/webhooks/{app_id}/{token}", self._execute_webhook),
            ("GET", webhook_message, self._get_webhook_message),
            ("PATCH", webhook_message, self._edit_webhook_message),
            ("DELETE", webhook_message, self._delete_webhook_message),
            ("*", "/{path:.*}", self._not_implemented),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, API_PREFIX + path, self._api(handler))
        return app

    def _api(self, handler: _ApiHandler) -> Handler:
        """Logs, rate-limits and authenticates a REST call the way Discord would."""

        async def handle(request: web.Request) -> web.StreamResponse:
            self._requests_in_flight += 1
            try:
                return await authenticated(request)
            finally:
                self._requests_in_flight -= 1
                self._last_request_at = asyncio.get_running_loop().time()

        async def authenticated(request: web.Request) -> web.StreamResponse:
            path = request.path.removeprefix(API_PREFIX)
            body = await _read_body(request)
            self.requests.append(RecordedRequest(request.method, path, body.json))
            self._notify()
            if rule := self._take_rate_limit(request.method, path):
                return _rate_limited(rule)
            needs_auth = path != "/gateway" and not path.startswith(
                ("/webhooks/", "/interactions/")
            )
            try:
                if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
                    raise _DiscordError(401, 0, "401: Unauthorized")
                return await handler(request, body)
            except _DiscordError as error:
                return _json({"message": error.message, "code": error.code}, status=error.status)

        return handle

    async def _not_implemented(self, request: web.Request, _: _Body) -> web.Response:
        raise _DiscordError(404, 0, f"fake Discord has no {request.method} {request.path}")

    def _take_rate_limit(self, method: str, path: str) -> _RateLimitRule | None:
        for rule in self._rate_limits:
            if rule.method in (None, method) and rule.pattern.search(path):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rate_limits.remove(rule)
                return rule
        return None

    async def _get_me(self, request: web.Request, body: _Body) -> web.Response:
        return _json(
            {**self.bot_user.payload(), "verified": True, "mfa_enabled": False, "flags": 0}
        )

    async def _get_gateway(self, request: web.Request, body: _Body) -> web.Response:
        return _json({"url": self.gateway_url})

    async def _get_my_guilds(self, request: web.Request, body: _Body) -> web.Response:
        return _json(
            [
                {
                    "id": str(guild.id),
                    "name": guild.name,
                    "icon": None,
                    "banner": None,
                    "owner": guild.owner_id == self.bot_user.id,
                    "permissions": str(self.permissions(guild, self.bot_user)),
                    "features": [],
                }
                for guild in self.guilds.values()
            ]
        )

    def _my_guild(self, request: web.Request) -> FakeGuild:
        guild = self.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise _DiscordError(403, 50001, "Missing Access")
        return guild

    async def _get_guild(self, request: web.Request, body: _Body) -> web.Response:
        """The guild object as REST gives it: without the gateway's channels and members."""
        payload = self._guild_payload(self._my_guild(request), 0)
        for gateway_only in (
            "channels",
            "members",
            "member_count",
            "joined_at",
            "large",
            "unavailable",
            "lazy",
            "voice_states",
            "presences",
            "threads",
            "stage_instances",
            "guild_scheduled_events",
            "soundboard_sounds",
        ):
            del payload[gateway_only]
        return _json(payload)

    async def _get_guild_channels(self, request: web.Request, body: _Body) -> web.Response:
        guild = self._my_guild(request)
        return _json([channel.payload(guild.id, i) for i, channel in enumerate(guild.channels)])

    async def _get_member(self, request: web.Request, body: _Body) -> web.Response:
        guild = self._my_guild(request)
        user_id = int(request.match_info["user_id"])
        for member in self._guild_members(guild):
            if member.id == user_id:
                return _json(self._member_payload(guild, member))
        raise _DiscordError(404, 10007, "Unknown Member")

    async def _get_application(self, request: web.Request, body: _Body) -> web.Response:
        return _json(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.bot_user.payload(),
                "verify_key": "0" * 64,
                "team": None,
                "flags": self.application_flags,
            }
        )

    async def _get_guild_roles(self, request: web.Request, body: _Body) -> web.Response:
        return _json(self._roles_payload(self._my_guild(request)))

    def _check_application(self, request: web.Request) -> None:
        if request.match_info["app_id"] != str(self.application_id):
            raise _DiscordError(404, 10002, "Unknown Application")

    async def _put_commands(self, request: web.Request, body: _Body) -> web.Response:
        self._check_application(request)
        guild_id = int(request.match_info["guild_id"]) if "guild_id" in request.match_info else None
        if guild_id is not None and guild_id not in self.guilds:
            raise _DiscordError(403, 50001, "Missing Access")
        previous = {(c["name"], c["type"]): c["id"] for c in self.commands.get(guild_id, [])}
        stored: list[JSON] = []
        for command in body.json:
            kind = command.get("type", 1)
            stored.append(
                {
                    "description": "",
                    "options": [],
                    "default_member_permissions": None,
                    "nsfw": False,
                    **command,
                    "id": previous.get((command["name"], kind)) or str(self._next_id()),
                    "application_id": str(self.application_id),
                    "type": kind,
                    "version": str(self._next_id()),
                    **({} if guild_id is None else {"guild_id": str(guild_id)}),
                }
            )
        self.commands[guild_id] = stored
        self._notify()
        return _json(stored)

    def _guild_of_channel(self, channel_id: int) -> FakeGuild:
        guild = self._channel_guilds.get(channel_id)
        if guild is None:
            raise _DiscordError(404, 10003, "Unknown Channel")
        return guild

    def _check_channel(self, channel_id: int) -> None:
        if channel_id not in self._dm_recipients:
            self._guild_of_channel(channel_id)

    def dm_messages(self, user: FakeUser) -> list[JSON]:
        """What the bot sent *user* in direct messages."""
        channel_id = self.dm_channels.get(user.id)
        return [] if channel_id is None else list(self.channel_messages[channel_id])

    async def _create_dm(self, request: web.Request, body: _Body) -> web.Response:
        recipient_id = int(body.json["recipient_id"])
        user = next(
            (u for g in self.guilds.values() for u in g.members if u.id == recipient_id), None
        )
        if user is None:
            raise _DiscordError(400, 50033, "Invalid Recipient(s)")
        channel_id = self.dm_channels.get(user.id)
        if channel_id is None:
            channel_id = self.dm_channels[user.id] = self._next_id()
            self._dm_recipients[channel_id] = user
        return _json(
            {
                "id": str(channel_id),
                "type": 1,
                "last_message_id": None,
                "recipients": [user.payload()],
            }
        )

    async def _get_channel(self, request: web.Request, body: _Body) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        guild = self._guild_of_channel(channel_id)
        [channel] = [c for c in guild.channels if c.id == channel_id]
        return _json(channel.payload(guild.id, guild.channels.index(channel)))

    def _channel_message(self, request: web.Request) -> JSON:
        channel_id = int(request.match_info["channel_id"])
        self._check_channel(channel_id)
        message_id = int(request.match_info["message_id"])
        for message in self.channel_messages[channel_id]:
            if int(message["id"]) == message_id:
                return message
        raise _DiscordError(404, 10008, "Unknown Message")

    async def _create_message(self, request: web.Request, body: _Body) -> web.Response:
        channel_id = int(request.match_info["channel_id"])
        self._check_channel(channel_id)
        recipient = self._dm_recipients.get(channel_id)
        if recipient is not None and recipient.id in self.closed_dms:
            raise _DiscordError(403, 50007, "Cannot send messages to this user")
        payload: JSON = body.json
        nonce = payload.get("nonce")
        key = (channel_id, str(nonce))
        if nonce is not None and payload.get("enforce_nonce") and key in self._nonces:
            return _json(self.messages[self._nonces[key]])
        message = await self._post_message(channel_id, payload, body.uploads)
        if nonce is not None:
            self._nonces[key] = int(message["id"])
        return _json(message)

    async def _get_channel_message(self, request: web.Request, body: _Body) -> web.Response:
        return _json(self._channel_message(request))

    async def _edit_channel_message(self, request: web.Request, body: _Body) -> web.Response:
        message = self._channel_message(request)
        await self._edit_message(message, body.json, body.uploads)
        return _json(message)

    async def _delete_channel_message(self, request: web.Request, body: _Body) -> web.Response:
        await self._delete_message(self._channel_message(request))
        return web.Response(status=204)

    async def _interaction_callback(self, request: web.Request, body: _Body) -> web.Response:
        result = self._interactions.get(int(request.match_info["interaction_id"]))
        if result is None or result.token != request.match_info["token"]:
            raise _DiscordError(404, 10062, "Unknown interaction")
        if result.type is not None:
            raise _DiscordError(400, 40060, "Interaction has already been acknowledged.")
        result.responded_at = asyncio.get_running_loop().time()
        elapsed = result.responded_at - result.dispatched_at
        if elapsed > self.interaction_response_timeout:
            result.late_by = elapsed
            self._notify()
            raise _DiscordError(404, 10062, "Unknown interaction")
        kind = CallbackType(body.json["type"])
        data: JSON = body.json.get("data") or {}
        message: JSON | None = None
        if kind is CallbackType.CHANNEL_MESSAGE_WITH_SOURCE:
            message = await self._post_message(
                result.channel_id, data, body.uploads, result, flags=data.get("flags", 0)
            )
        elif kind is CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            flags = LOADING | (data.get("flags", 0) & EPHEMERAL)
            message = await self._post_message(result.channel_id, {}, {}, result, flags=flags)
        elif kind in (CallbackType.DEFERRED_UPDATE_MESSAGE, CallbackType.UPDATE_MESSAGE):
            if result.clicked_message_id is None:
                raise _DiscordError(400, 50035, "Invalid Form Body: not a component interaction")
            message = self.messages[result.clicked_message_id]
            if kind is CallbackType.UPDATE_MESSAGE:
                await self._edit_message(message, data, body.uploads)
        result.type, result.data = kind, data
        if message is not None:
            result.message_id = int(message["id"])
        self._notify()
        response: JSON = {
            "interaction": {"id": str(result.id), "type": result.kind},
            "resource": {"type": kind},
        }
        if message is not None:
            response["interaction"] |= {
                "response_message_id": message["id"],
                "response_message_loading": bool(message["flags"] & LOADING),
                "response_message_ephemeral": bool(message["flags"] & EPHEMERAL),
            }
            if kind in (CallbackType.CHANNEL_MESSAGE_WITH_SOURCE, CallbackType.UPDATE_MESSAGE):
                response["resource"]["message"] = message
        return _json(response)

    def _webhook_interaction(self, request: web.Request) -> InteractionResult:
        self._check_application(request)
        token = request.match_info["token"]
        for result in self._interactions.values():
            if result.token == token and result.type is not None:
                return result
        raise _DiscordError(404, 10015, "Unknown Webhook")

    def _webhook_message(self, request: web.Request) -> tuple[InteractionResult, JSON]:
        result = self._webhook_interaction(request)
        raw_id = request.match_info["message_id"]
        if raw_id == "@original":
            message = result.message
        else:
            own = [m for m in (result.message, *result.followups) if m is not None]
            message = next((m for m in own if m["id"] == raw_id), None)
        if message is None or int(message["id"]) not in self.messages:
            raise _DiscordError(404, 10008, "Unknown Message")
        return result, message

    async def _execute_webhook(self, request: web.Request, body: _Body) -> web.Response:
        result = self._webhook_interaction(request)
        payload: JSON = body.json
        original = result.message
        if original is not None and original["flags"] & LOADING:
            await self._edit_message(original, payload, body.uploads)
            message = original
        else:
            message = await self._post_message(
                result.channel_id,
                payload,
                body.uploads,
                result,
                flags=payload.get("flags", 0),
            )
        result.followups.append(message)
        self._notify()
        if request.query.get("wait") in ("1", "true", "True"):
            return _json(message)
        return web.Response(status=204)

    async def _get_webhook_message(self, request: web.Request, body: _Body) -> web.Response:
        _, message = self._webhook_message(request)
        return _json(message)

    async def _edit_webhook_message(self, request: web.Request, body: _Body) -> web.Response:
        _, message = self._webhook_message(request)
        await self._edit_message(message, body.json, body.uploads)
        return _json(message)

    async def _delete_webhook_message(self, request: web.Request, body: _Body) -> web.Response:
        _, message = self._webhook_message(request)
        await self._delete_message(message)
        return web.Response(status=204)

    async def _post_message(
        self,
        channel_id: int,
        payload: JSON,
        uploads: Mapping[int, _Upload],
        interaction: InteractionResult | None = None,
        *,
        flags: int = 0,
    ) -> JSON:
        message: JSON = {
            "id": str(self._next_id()),
            "channel_id": str(channel_id),
            "author": self.bot_user.payload(),
            "content": "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": flags,
        }
        if "nonce" in payload:
            message["nonce"] = payload["nonce"]
        if reference := payload.get("message_reference"):
            message["message_reference"] = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(reference.get("channel_id", channel_id)),
            }
        if interaction is not None:
            metadata: JSON = {
                "id": str(interaction.id),
                "type": interaction.kind,
                "user": interaction.user.payload(),
                "authorizing_integration_owners": {"0": str(interaction.guild.id)},
            }
            if interaction.clicked_message_id is not None:
                metadata["interacted_message_id"] = str(interaction.clicked_message_id)
            message |= {
                "webhook_id": str(self.application_id),
                "application_id": str(self.application_id),
                "interaction_metadata": metadata,
            }
            if interaction.kind is InteractionType.APPLICATION_COMMAND:
                message["type"] = 20
        self._apply_content(message, payload, uploads)
        if not flags & LOADING:
            _validate(message)
        self.messages[int(message["id"])] = message
        if not flags & EPHEMERAL:
            self.channel_messages[channel_id].append(message)
            self.shown.append(copy.deepcopy(message))
            await self._dispatch_message("MESSAGE_CREATE", message)
        self._notify()
        return message

    async def _edit_message(
        self, message: JSON, payload: JSON, uploads: Mapping[int, _Upload]
    ) -> None:
        """Edits in place so every holder of the dict sees the new state.

        Filling a deferred (loading) response is not an edit in Discord's
        eyes: no edited timestamp, and the ephemeral choice made when
        deferring wins over the payload's flags.
        """
        updated = dict(message)
        if message["flags"] & LOADING:
            updated["flags"] &= ~LOADING
        else:
            updated["edited_timestamp"] = _now()
        if payload.get("flags") is not None:
            keep = updated["flags"] & EPHEMERAL
            updated["flags"] = keep | (payload["flags"] & ~(EPHEMERAL | LOADING))
        self._apply_content(updated, payload, uploads)
        _validate(updated)
        message.clear()
        message.update(updated)
        if not message["flags"] & EPHEMERAL:
            self.shown.append(copy.deepcopy(message))
            await self._dispatch_message("MESSAGE_UPDATE", message)
        self._notify()

    async def _delete_message(self, message: JSON) -> None:
        del self.messages[int(message["id"])]
        channel_id = int(message["channel_id"])
        if message in self.channel_messages[channel_id]:
            self.channel_messages[channel_id].remove(message)
            guild = self._guild_of_channel(channel_id)
            await self._dispatch(
                "MESSAGE_DELETE",
                {"id": message["id"], "channel_id": str(channel_id), "guild_id": str(guild.id)},
            )
        self._notify()

    def _apply_content(self, message: JSON, payload: JSON, uploads: Mapping[int, _Upload]) -> None:
        if "content" in payload:
            message["content"] = payload["content"] or ""
            self._resolve_mentions(message, payload.get("allowed_mentions"))
        for key in ("embeds", "components"):
            if key in payload:
                message[key] = payload[key] or []
        if "attachments" in payload or uploads:
            existing = {a["id"]: a for a in message["attachments"]}
            specs = payload.get("attachments", [{"id": index} for index in uploads])
            attachments: list[JSON] = []
            for spec in specs:
                if str(spec["id"]) in existing:
                    attachments.append(existing[str(spec["id"])])
                elif int(spec["id"]) in uploads:
                    attachments.append(self._store_upload(uploads[int(spec["id"])], spec))
            message["attachments"] = attachments

    def _resolve_mentions(self, message: JSON, allowed: JSON | None) -> None:
        """Who the content pings, as Discord decides it: mentioned and allowed."""
        content = message["content"]
        users = {int(i) for i in re.findall(r"<@!?(\d+)>", content)}
        roles = {int(i) for i in re.findall(r"<@&(\d+)>", content)}
        everyone = bool(re.search(r"@(everyone|here)\b", content))
        if allowed is not None:
            parse = set(allowed.get("parse", []))
            if "users" not in parse:
                users &= {int(i) for i in allowed.get("users", [])}
            if "roles" not in parse:
                roles &= {int(i) for i in allowed.get("roles", [])}
            everyone = everyone and "everyone" in parse
        known = {u.id: u for g in self.guilds.values() for u in g.members}
        message["mentions"] = [known[i].payload() for i in sorted(users) if i in known]
        message["mention_roles"] = [str(i) for i in sorted(roles)]
        message["mention_everyone"] = everyone

    def _store_upload(self, upload: _Upload, spec: JSON) -> JSON:
        attachment_id = self._next_id()
        self.attachments[attachment_id] = upload.data
        filename = spec.get("filename") or upload.filename
        url = f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}"
        attachment: JSON = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(upload.data),
            "url": url,
            "proxy_url": url,
            "content_type": upload.content_type,
        }
        if spec.get("description"):
            attachment["description"] = spec["description"]
        return attachment

    async def _dispatch_message(self, event: str, message: JSON) -> None:
        channel_id = int(message["channel_id"])
        if channel_id in self._dm_recipients:
            await self._dispatch(event, message)
            return
        guild = self._guild_of_channel(channel_id)
        member = self._member_payload(guild, self.bot_user)
        del member["user"]
        await self._dispatch(event, {**message, "guild_id": str(guild.id), "member": member})

    async def _dispatch(self, event: str, data: JSON) -> None:
        """Queues a dispatch for the session, replayable on RESUME."""
        session = self._session
        if session is None:
            return
        async with self._send_lock:
            session.sequence += 1
            frame = json.dumps({"op": 0, "t": event, "s": session.sequence, "d": data})
            session.sent.append((session.sequence, frame))
            if session.ws is not None:
                await _send(session.ws, frame)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await asyncio.sleep(self._gateway_opens_at - asyncio.get_running_loop().time())
            await _send(ws, _control_frame(10, {"heartbeat_interval": 41250}))
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._gateway_op(ws, json.loads(msg.data))
        finally:
            self._sockets.discard(ws)
            session = self._session
            if session is not None and session.ws is ws:
                session.ws, session.live = None, False
                self._notify()
        return ws

    async def _gateway_op(self, ws: web.WebSocketResponse, frame: JSON) -> None:
        op, data = frame["op"], frame["d"]
        if op == 1:
            async with self._send_lock:
                await _send(ws, _control_frame(11, None))
        elif op == 2:
            await self._identify(ws, data)
        elif op == 6:
            await self._resume(ws, data)
        elif op == 8:
            await self._send_member_chunk(data)

    async def _identify(self, ws: web.WebSocketResponse, data: JSON) -> None:
        if data["token"] != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        session = _GatewaySession(secrets.token_hex(16), data.get("intents", 0), ws=ws)
        self._session = session
        await self._dispatch(
            "READY",
            {
                "v": 10,
                "user": {**self.bot_user.payload(), "verified": True, "mfa_enabled": False},
                "guilds": [{"id": str(gid), "unavailable": True} for gid in self.guilds],
                "session_id": session.id,
                "session_type": "normal",
                "resume_gateway_url": f"ws://127.0.0.1:{self.port}/resume-gateway",
                "application": {
                    "id": str(self.application_id),
                    "flags": self.application_flags,
                },
                "private_channels": [],
                "relationships": [],
            },
        )
        for guild in self.guilds.values():
            await self._dispatch("GUILD_CREATE", self._guild_payload(guild, session.intents))
        session.live = True
        self.identify_count += 1
        self._notify()

    async def _resume(self, ws: web.WebSocketResponse, data: JSON) -> None:
        session = self._session
        if session is None or data["session_id"] != session.id or data["token"] != self.token:
            await _send(ws, _control_frame(9, False))
            return
        async with self._send_lock:
            session.ws = ws
            for sequence, frame in session.sent:
                if sequence > (data.get("seq") or 0):
                    await _send(ws, frame)
        await self._dispatch("RESUMED", {})
        session.live = True
        self.resume_count += 1
        self._notify()

    async def _send_member_chunk(self, data: JSON) -> None:
        """Answers discord.py's member requests (chunking, ``query_members``)."""
        guild = self.guilds[int(data["guild_id"])]
        members = self._guild_members(guild)
        if user_ids := data.get("user_ids"):
            members = [m for m in members if m.id in {int(uid) for uid in user_ids}]
        query = (data.get("query") or "").lower()
        members = [m for m in members if m.username.lower().startswith(query)]
        if limit := data.get("limit"):
            members = members[:limit]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": [self._member_payload(guild, member) for member in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if "nonce" in data:
            chunk["nonce"] = data["nonce"]
        await self._dispatch("GUILD_MEMBERS_CHUNK", chunk)


def _walk_components(components: Sequence[JSON]) -> Iterator[JSON]:
    for component in components:
        yield component
        yield from _walk_components(component.get("components", []))
        for key in ("component", "accessory"):
            if key in component:
                yield from _walk_components([component[key]])


def _submitted_components(
    components: Sequence[JSON],
    values: Mapping[str, str | Sequence[str]],
    unused: set[str],
    label: str | None = None,
) -> list[JSON]:
    """Mirrors a modal's layout the way Discord echoes it back on submit.

    Inputs are looked up by custom_id, or by label because discord.py makes
    up random custom_ids unless the bot chooses them.
    """
    submitted: list[JSON] = []
    for component in components:
        if component["type"] == 1:
            inner = _submitted_components(component["components"], values, unused)
            submitted.append({"type": 1, "components": inner})
        elif component["type"] == 18:
            inner = _submitted_components(
                [component["component"]], values, unused, component.get("label")
            )
            submitted.append({"type": 18, "component": inner[0]})
        elif "custom_id" in component:
            custom_id = component["custom_id"]
            names = [custom_id, component.get("label", label)]
            key = next((name for name in names if name in values), None)
            if key is None:
                value: str | Sequence[str] = component.get("value", "")
            else:
                unused.discard(key)
                value = values[key]
            if component["type"] == 4 and component.get("required", True) and not value:
                raise ValueError(f"modal input {names[-1] or custom_id!r} is required")
            entry: JSON = {"type": component["type"], "custom_id": custom_id}
            if isinstance(value, str):
                entry["value"] = value
            else:
                entry["values"] = list(value)
            submitted.append(entry)
    return submitted


async def _read_body(request: web.Request) -> _Body:
    if not request.body_exists:
        return _Body(None, {})
    if request.content_type != "multipart/form-data":
        return _Body(await request.json(), {})
    form = await request.post()
    uploads: dict[int, _Upload] = {}
    for name, value in form.items():
        if isinstance(value, web.FileField) and name.startswith("files["):
            data = value.file.read()
            uploads[int(name[6:-1])] = _Upload(value.filename, value.content_type, data)
    payload_json = form.get("payload_json")
    return _Body(json.loads(payload_json) if isinstance(payload_json, str) else {}, uploads)


def _validate(message: JSON) -> None:
    if len(message["content"]) > MESSAGE_LENGTH_LIMIT:
        raise _DiscordError(
            400, 50035, f"Invalid Form Body: content exceeds {MESSAGE_LENGTH_LIMIT}"
        )
    if not any(message[key] for key in ("content", "embeds", "components", "attachments")):
        raise _DiscordError(400, 50006, "Cannot send an empty message")


def _rate_limited(rule: _RateLimitRule) -> web.Response:
    headers = {
        "Via": "1.1 google",
        "Retry-After": str(math.ceil(rule.retry_after)),
        "X-RateLimit-Scope": "global" if rule.global_ else "user",
    }
    if rule.global_:
        headers["X-RateLimit-Global"] = "true"
    body = {
        "message": "You are being rate limited.",
        "retry_after": rule.retry_after,
        "global": rule.global_,
    }
    return _json(body, status=429, headers=headers)


def _json(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """discord.py only decodes bodies whose Content-Type is exactly JSON.

    ``text=`` would append ``; charset=utf-8``, so the body goes in as bytes.
    """
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def _control_frame(op: int, data: Any) -> str:
    return json.dumps({"op": op, "d": data, "s": None, "t": None})


async def _send(ws: web.WebSocketResponse, frame: str) -> None:
    if not ws.closed:
        with contextlib.suppress(ConnectionResetError):
            await ws.send_str(frame)


def _now() -> str:
    return datetime.now(UTC).isoformat()
