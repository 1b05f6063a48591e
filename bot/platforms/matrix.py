"""Matrix adapter (matrix-nio): `!commands` in configured rooms, replies as `m.notice`.

Three rules keep it well-behaved on a real homeserver: a first start syncs once before listening,
so it never answers history, and later starts resume from the stored sync token, answering what
came while no instance synced (each event once, by its id; none older than `CATCH_UP`, which
people have given up on); one attempt per send, whatever it cannot finish (a 429, an outage)
handed to the outbox, whose dispatcher retries it; and a deterministic transaction id per reply,
so a retried send is a no-op on the server.
"""

from __future__ import annotations

import asyncio
import html
import io
import json
import logging
import random
import re
import time
from collections.abc import Coroutine
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    MatrixRoom,
    ReactionEvent,
    RoomCreateError,
    RoomMemberEvent,
    RoomMessageText,
    RoomPreset,
    RoomSendResponse,
    SyncError,
    SyncResponse,
    UploadResponse,
)

from bot.core.context import Caller, Role
from bot.core.diagnose import Finding
from bot.core.markup import to_html, to_plain
from bot.core.ports import DIRECT, Outbox, PlatformState, SendResult
from bot.core.reply import Attachment, Reply
from bot.core.rooms import Room, Rooms
from bot.core.router import Router
from bot.platforms.base import Refused, reaction_buttons, typed_buttons
from bot.platforms.settings import MatrixSettings

log = logging.getLogger(__name__)

SYNC_TOKEN_KEY = "matrix.next_batch"
REACTIONS_KEY = "matrix.reactions."
MAX_BACKOFF = 60.0
CATCH_UP = 600.0
PERMANENT_ERRORS = {"M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN_TOKEN", "M_BAD_JSON", "M_TOO_LARGE"}
_TXN_SAFE = re.compile(r"[^A-Za-z0-9._~-]")


class MatrixAuthError(Refused):
    """The homeserver rejected the access token: retrying cannot help."""


def render(reply: Reply, prefix: str) -> dict[str, Any]:
    markup = "\n".join(filter(None, [reply.body(), *typed_buttons(reply, prefix)]))
    return {
        "msgtype": "m.notice",
        "body": to_plain(markup),
        "format": "org.matrix.custom.html",
        "formatted_body": to_html(markup),
        "m.mentions": {},
    }


def _txn(event_id: str) -> str:
    """A transaction id derived from the event answered, so an answer is posted once."""
    return _TXN_SAFE.sub("_", event_id)


def _stale(server_timestamp: int) -> bool:
    """Sent longer than `CATCH_UP` ago: found on resuming after a long outage."""
    return time.time() - server_timestamp / 1000 > CATCH_UP


def _relation(event_id: str, *, thread: bool) -> dict[str, Any]:
    if not thread:
        return {"m.in_reply_to": {"event_id": event_id}}
    return {
        "rel_type": "m.thread",
        "event_id": event_id,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": event_id},
    }


def power_level(room: MatrixRoom, user_id: str, creators: set[str]) -> int:
    """A user's power level; *creators* are those of a room version 12+ room, who outrank all."""
    if user_id in creators:
        return 100
    level: int = room.power_levels.get_user_level(user_id)
    return level


def privileged_creators(create_event: dict[str, Any]) -> set[str]:
    """Since room version 12 creators are left out of the power-level users map yet outrank
    everyone. nio 0.26 cannot parse such a create event (no `creator`), so read it raw."""
    content = create_event.get("content", {})
    version = str(content.get("room_version", "1"))
    if not (version.isdigit() and int(version) >= 12):
        return set()
    return {create_event.get("sender", ""), *content.get("additional_creators", [])}


def role_of(user_id: str, power_level: int, settings: MatrixSettings) -> Role:
    if user_id in settings.organizers or power_level >= settings.organizer_power_level:
        return Role.ORGANIZER
    if user_id in settings.mentors or (
        settings.mentor_power_level is not None and power_level >= settings.mentor_power_level
    ):
        return Role.MENTOR
    return Role.CONTRIBUTOR


class MatrixPlatform:
    name = "matrix"

    def __init__(
        self,
        router: Router,
        settings: MatrixSettings,
        rooms: Rooms,
        state: PlatformState,
        outbox: Outbox,
    ) -> None:
        self.router = router
        self.settings = settings
        self.state = state
        self.outbox = outbox
        self._rooms = rooms
        self.client = AsyncClient(
            self.settings.homeserver,
            self.settings.user_id,
            device_id=self.settings.device_id,
            config=AsyncClientConfig(
                max_limit_exceeded=0,
                max_timeouts=2,
                request_timeout=max(60, self.settings.sync_timeout_ms / 1000 + 30),
            ),
        )
        router.runtime.doctors.add(self)
        self._connected = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._creators: dict[str, set[str]] = {}
        self._dm_locks: dict[str, asyncio.Lock] = {}
        self._saving: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def rooms(self) -> set[str]:
        """The rooms of the house here, read at each use: rooms added from chat count at once."""
        return set(self._rooms.on("matrix"))

    def _purposes(self, room_id: str) -> frozenset[str]:
        return self._rooms.purposes_at(self.name, room_id)

    def _is_room(self, room_id: str) -> bool:
        return self._rooms.at(self.name, room_id) is not None

    @property
    def rooms_config(self) -> list[Room]:
        """The rooms of the house, by name, as configured (file and chat) right now."""
        return list(self._rooms)

    async def diagnose(self) -> list[Finding]:
        """What `doctor` reports of Matrix; plain client calls, so it works before `run` too.
        Imported here: the checks build on this module."""
        from bot.platforms import matrix_doctor

        return await matrix_doctor.diagnose(self)

    async def run(self) -> None:
        token = self.settings.access_token().get_secret_value()
        self.client.restore_login(self.settings.user_id, self.settings.device_id, token)
        since = await self.state.get(SYNC_TOKEN_KEY)
        if since is not None:
            self._add_callbacks()
        await self._first_sync(since)
        if since is None:
            self._add_callbacks()
        await self._sync_forever()

    def _add_callbacks(self) -> None:
        self.client.add_event_callback(self._on_message, RoomMessageText)
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)
        self.client.add_event_callback(self._on_reaction, ReactionEvent)

    async def _first_sync(self, since: str | None) -> None:
        """Catch up from *since* (this or another instance's last sync), then join the
        configured rooms; with no token yet, the history is not answered."""
        backoff = 1.0
        while True:
            try:
                response = await self.client.sync(timeout=0, since=since, full_state=True)
            except (TimeoutError, OSError) as exc:
                log.warning("Matrix: cannot reach the homeserver (%s); retrying", exc)
            else:
                if isinstance(response, SyncResponse):
                    break
                self._check_auth(response)
                log.warning("Matrix: first sync failed (%s); retrying", response.status_code)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
        self._track_creators(response)
        if since is not None:
            await self._handle_joins(response)
        self._save_after_answers(response.next_batch)
        for room_id in self.rooms - set(self.client.rooms):
            await self._join(room_id)
        self._connected = True
        log.info("Matrix: connected as %s in %d rooms", self.settings.user_id, len(self.rooms))

    def _check_auth(self, response: SyncError) -> None:
        if response.status_code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN"):
            raise MatrixAuthError(
                f"the homeserver rejected the access token ({response.status_code}); "
                "check [matrix] user_id and the token"
            )

    async def _sync_forever(self) -> None:
        backoff = 1.0
        while True:
            try:
                response = await self.client.sync(
                    timeout=self.settings.sync_timeout_ms, since=self.client.next_batch
                )
            except (TimeoutError, OSError) as exc:
                response = None
                log.warning("Matrix: connection lost (%s); reconnecting in %.0f s", exc, backoff)
            if isinstance(response, SyncResponse):
                self._connected = True
                backoff = 1.0
                self._track_creators(response)
                # Commands this sync brought were spawned as tasks; let them reach the store
                # before the cursor does, so an answer never waits behind bookkeeping.
                await asyncio.sleep(0)
                await self._handle_joins(response)
                self._save_after_answers(response.next_batch)
                continue
            if isinstance(response, SyncError):
                self._check_auth(response)
                log.warning("Matrix: sync failed (%s); retrying in %.0f s", response, backoff)
            self._connected = False
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _track_creators(self, response: SyncResponse) -> None:
        for room_id, info in response.rooms.join.items():
            for event in [*info.state, *info.timeline.events]:
                if event.source.get("type") == "m.room.create":
                    self._creators[room_id] = privileged_creators(event.source)

    async def _handle_joins(self, response: SyncResponse) -> None:
        """People who joined a room with a join listener (a welcome room) in this sync.

        Handled before the sync token is saved, so a crash repeats them rather than loses them
        (the listener keeps them exactly-once). Joins in the very first sync are history and
        never reach here; nor does the history of a room before the bot's own join. A new
        display name is a member event too: only a membership that was not `join` before is a
        join. A sync whose timeline the server cut short (a long downtime in a busy room) loses
        the joins left out of it."""
        for room_id, info in response.rooms.join.items():
            purposes = self._purposes(room_id)
            room = self.client.rooms.get(room_id)
            if room is None or not self.router.wants_joins(purposes):
                continue
            joins = [
                event
                for event in info.timeline.events
                if isinstance(event, RoomMemberEvent)
                and event.membership == "join"
                and event.prev_membership != "join"
            ]
            own = [i for i, event in enumerate(joins) if event.state_key == self.settings.user_id]
            for event in joins[own[-1] + 1 if own else 0 :]:
                caller = self._caller(room, event.state_key, is_direct=False)
                await self.router.handle_join(caller, {room_id: purposes})

    def _save_after_answers(self, token: str) -> None:
        """Keep *token* once the commands under way have been handled, so that an instance
        killed before then leaves a token from before them, and the next holder handles them
        (none twice: each is recorded by its event id). Tokens are kept in order, and the
        sync loop never waits for this."""
        answering, previous = set(self._tasks), self._saving

        async def save() -> None:
            for waited in ({previous} if previous else set()) | answering:
                await asyncio.wait({waited})
            try:
                await self.state.put(SYNC_TOKEN_KEY, token)
            except Exception as exc:
                log.warning(
                    "Matrix: cannot keep the sync token (%s); a restart resumes from an older one",
                    exc,
                )

        self._saving = asyncio.create_task(save())

    async def _join(self, room_id: str) -> None:
        response = await self.client.join(room_id)
        if not hasattr(response, "room_id"):
            log.warning("Matrix: cannot join configured room %s: %s", room_id, response)

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key != self.settings.user_id or event.membership != "invite":
            return
        if self._is_room(room.room_id) or self._role(event.sender) >= Role.ORGANIZER:
            await self._join(room.room_id)
        else:
            log.info(
                "Matrix: ignoring an invite to %s, which is not a configured room and comes "
                "from no organizer",
                room.room_id,
            )

    async def _on_message(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == self.settings.user_id or _stale(event.server_timestamp):
            return
        relation = event.source.get("content", {}).get("m.relates_to", {})
        if relation.get("rel_type") == "m.replace":
            return
        text = self.router.strip_prefix(event.body.strip())
        if text is not None:
            self._spawn(self._handle(room, event.sender, event.event_id, event.event_id, text))
        elif self.router.listens(self._purposes(room.room_id)):
            self._spawn(self._listen(room, event))

    async def _listen(self, room: MatrixRoom, event: RoomMessageText) -> None:
        """An ordinary message in a room whose purpose has listeners (a help room's FAQ)."""
        caller = self._caller(room, event.sender, is_direct=False, event_id=event.event_id)
        reply = await self.router.handle_message(caller, event.body, self._purposes(room.room_id))
        if reply is None:
            return
        reply.reply_to, reply.thread = event.event_id, True
        await self._send(room.room_id, reply, _txn(event.event_id))

    def _caller(
        self, room: MatrixRoom, sender: str, *, is_direct: bool, event_id: str | None = None
    ) -> Caller:
        return Caller(
            platform="matrix",
            user_id=sender,
            display_name=room.user_name(sender) or sender,
            role=self._role(sender),
            room_id=room.room_id,
            is_direct=is_direct,
            event_id=event_id,
            resends=event_id is not None,
        )

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Answer in the background, so a slow command never holds up the sync loop."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(
        self, room: MatrixRoom, sender: str, source_id: str, reply_to: str, text: str
    ) -> None:
        """Run *text* as *sender*; *source_id* (their event) keys the idempotent reply."""
        is_direct = not self._is_room(room.room_id)
        if is_direct and not await self._is_dm_of(room.room_id, sender):
            if not await self._unbound_room(room.room_id, sender):
                return
            is_direct = False
        caller = self._caller(room, sender, is_direct=is_direct, event_id=source_id)
        try:
            spec = self.router.find(text)
            # Where a private answer goes is looked up before the command runs: the command
            # may forget the very person (`me forget`), and with them their room.
            dm = None
            if not is_direct and spec is not None and spec.private:
                dm = await self.state.dm_room(self.name, sender)
            reply = await self.router.handle_text(caller, text)
            if reply is not None:
                await self._answer(room.room_id, source_id, reply_to, caller, reply, dm)
        except Exception:
            log.exception("Matrix: failed to answer %s in %s", source_id, room.room_id)

    async def _unbound_room(self, room_id: str, sender: str) -> bool:
        """A room an organizer brought the bot into and no room of the house yet: organizers'
        commands run there as in any room, so that `room add` can make it one. Anyone else's,
        and anything in someone's direct-message room, stays unanswered."""
        if self._role(sender) < Role.ORGANIZER:
            return False
        return not await self.state.is_dm_room(self.name, room_id)

    def _role(self, user_id: str) -> Role:
        """From config lists and the highest power level in any configured room; a DM's power
        levels mean nothing, since the bot made that room."""
        levels = [
            power_level(room, user_id, self._creators.get(room_id, set()))
            for room_id in self.rooms
            if (room := self.client.rooms.get(room_id)) is not None and user_id in room.users
        ]
        return role_of(user_id, max(levels, default=0), self.settings)

    async def _is_dm_of(self, room_id: str, user_id: str) -> bool:
        return await self.state.is_dm_of(self.name, room_id, user_id)

    async def _answer(
        self,
        room_id: str,
        source_id: str,
        reply_to: str,
        caller: Caller,
        reply: Reply,
        dm: str | None = None,
    ) -> None:
        """*dm*: the caller's direct-message room, when known before the command ran."""
        key = _txn(source_id)
        if reply.private and not caller.is_direct:
            sent = await self._send(dm or DIRECT + caller.user_id, reply, key)
            if sent.ok or sent.retry_after is not None:
                reply = Reply("I've sent you the answer in a direct message.")
            else:
                reply = Reply("I could not open a direct message with you.", error=True)
            key += "-pointer"
        reply.reply_to = reply_to
        await self._send(room_id, reply, key)

    async def _send(self, target: str, reply: Reply, key: str) -> SendResult:
        """One attempt now; what it cannot finish, the outbox retries under the same key."""
        result = await self.deliver(target, reply, key)
        if not result.ok:
            await self.outbox.later(self.name, target, reply, key, result)
        return result

    async def _on_reaction(self, room: MatrixRoom, event: ReactionEvent) -> None:
        """A reaction that matches an emoji button of one of our messages runs its command."""
        if event.sender == self.settings.user_id or _stale(event.server_timestamp):
            return
        stored = await self.state.get(REACTIONS_KEY + event.reacts_to)
        command = json.loads(stored).get(event.key) if stored else None
        if command is not None:
            self._spawn(self._handle(room, event.sender, event.event_id, event.reacts_to, command))

    async def _dm_room(self, user_id: str) -> str | None:
        """The person's direct-message room, opened on first need; None for someone the bot
        has never met, or when the homeserver will not let it open one."""
        async with self._dm_locks.setdefault(user_id, asyncio.Lock()):
            known = await self.state.dm_room(self.name, user_id)
            if known is not None:
                return known
            if not await self.state.knows(self.name, user_id):
                return None
            response = await self.client.room_create(
                is_direct=True,
                invite=[user_id],
                preset=RoomPreset.trusted_private_chat,
                name="Convene",
            )
            if isinstance(response, RoomCreateError):
                log.warning("Matrix: cannot open a direct message with %s: %s", user_id, response)
                return None
            room_id: str = response.room_id
            if not await self.state.remember_dm_room(self.name, user_id, room_id):
                return None
            return room_id

    async def send_once(self, room_id: str, content: dict[str, Any], txn_id: str) -> SendResult:
        """One idempotent attempt: the same *txn_id* never posts twice on the server."""
        try:
            response = await self.client.room_send(room_id, "m.room.message", content, tx_id=txn_id)
        except (TimeoutError, OSError) as exc:
            return SendResult(retry_after=10.0, error=f"connection error: {exc}")
        if isinstance(response, RoomSendResponse):
            return SendResult(message_id=response.event_id)
        if response.status_code == "M_LIMIT_EXCEEDED":
            wait = (response.retry_after_ms or 1000) / 1000
            return SendResult(retry_after=wait, error=str(response), limited=True)
        if response.status_code in PERMANENT_ERRORS:
            return SendResult(error=str(response))
        return SendResult(retry_after=30.0, error=str(response))

    async def deliver(self, target: str, reply: Reply, key: str) -> SendResult:
        room_id = target
        if target.startswith(DIRECT):
            direct = await self._dm_room(target.removeprefix(DIRECT))
            if direct is None:
                return SendResult(error="cannot open a direct message with this user")
            room_id = direct
        content = self._content(room_id, reply)
        if reply.reply_to is not None:
            content["m.relates_to"] = _relation(reply.reply_to, thread=reply.thread)
        txn = f"convene-{key}"
        result = await self.send_once(room_id, content, txn)
        if result.message_id is not None:
            await self._offer_reactions(room_id, result.message_id, reply, txn)
        if result.ok and reply.attachment is not None:
            return await self._send_file(room_id, reply.attachment, f"{txn}-file")
        return result

    async def _send_file(self, room_id: str, attachment: Attachment, txn: str) -> SendResult:
        """An `m.file` after the text. A retry uploads again (an upload has no transaction id)
        but posts once: the event's transaction id is the same."""
        data = attachment.data
        try:
            uploaded, _ = await self.client.upload(
                io.BytesIO(data),
                content_type=attachment.mime,
                filename=attachment.filename,
                filesize=len(data),
            )
        except (TimeoutError, OSError) as exc:
            return SendResult(retry_after=10.0, error=f"connection error: {exc}")
        if not isinstance(uploaded, UploadResponse):
            if uploaded.status_code == "M_LIMIT_EXCEEDED":
                wait = (uploaded.retry_after_ms or 1000) / 1000
                return SendResult(retry_after=wait, error=str(uploaded), limited=True)
            if uploaded.status_code in PERMANENT_ERRORS:
                return SendResult(error=str(uploaded))
            return SendResult(retry_after=30.0, error=str(uploaded))
        content = {
            "msgtype": "m.file",
            "body": attachment.filename,
            "filename": attachment.filename,
            "url": uploaded.content_uri,
            "info": {"mimetype": attachment.mime, "size": len(data)},
            "m.mentions": {},
        }
        return await self.send_once(room_id, content, txn)

    async def _offer_reactions(self, room_id: str, event_id: str, reply: Reply, txn: str) -> None:
        """Emoji buttons become reactions people can click, each remembered as its command."""
        choices = reaction_buttons(reply)
        if not choices:
            return
        await self.state.put(REACTIONS_KEY + event_id, json.dumps(choices))
        for number, key in enumerate(choices):
            annotation = {
                "m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}
            }
            await self.client.room_send(
                room_id, "m.reaction", annotation, tx_id=f"{txn}-react-{number}"
            )

    async def edit(self, target: str, message_id: str, reply: Reply, key: str) -> SendResult:
        """An `m.replace` edit: clients show the new text in place of the old post."""
        new = self._content(target, reply)
        content = {
            **new,
            "body": f"* {new['body']}",
            "formatted_body": f"* {new['formatted_body']}",
            "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": message_id},
        }
        return await self.send_once(target, content, f"convene-{key}")

    def _content(self, room_id: str, reply: Reply) -> dict[str, Any]:
        """The rendered reply, led by pills for whoever it mentions, in `m.mentions` too."""
        content = render(reply, self.router.prefix)
        users = list(dict.fromkeys([*reply.mentions, *self._holders(room_id, reply.mention_roles)]))
        if users:
            names = [self._display_name(room_id, u) for u in users]
            pills = ", ".join(
                f'<a href="https://matrix.to/#/{html.escape(u)}">{html.escape(n)}</a>'
                for u, n in zip(users, names, strict=True)
            )
            content["body"] = f"{', '.join(names)}: {content['body']}"
            content["formatted_body"] = f"{pills}: {content['formatted_body']}"
            content["m.mentions"] = {"user_ids": users}
        return content

    def _holders(self, room_id: str, roles: list[str]) -> list[str]:
        """Members of the room holding the named roles; Matrix has no roles of its own."""
        wanted = {Role.ORGANIZER for r in roles if r == "organizers"}
        wanted |= {Role.MENTOR for r in roles if r == "mentors"}
        room = self.client.rooms.get(room_id)
        if not wanted or room is None:
            return []
        return sorted(
            user
            for user in room.users
            if user != self.settings.user_id and self._role(user) in wanted
        )

    def _display_name(self, room_id: str, user_id: str) -> str:
        room = self.client.rooms.get(room_id)
        member = room.users.get(user_id) if room is not None else None
        return (member.display_name if member is not None else None) or user_id

    async def close(self) -> None:
        """The token is not kept past answers cut short here: the next holder handles them."""
        self._connected = False
        if self._saving is not None:
            self._saving.cancel()
            await asyncio.gather(self._saving, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.close()
