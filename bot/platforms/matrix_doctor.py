"""What `doctor` checks on Matrix, with plain client-server calls so it answers the same before
the bot runs and inside it: the homeserver and the token, each room's membership and the bot's
power level there, Synapse's rate limit for the bot (which only a server admin may read), and
the clock against the homeserver's `Date` header."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.core.diagnose import Finding, Status, skew_finding
from bot.core.rooms import Room
from bot.core.settings import secret_source
from bot.platforms.matrix import MatrixPlatform, privileged_creators

CLIENT = "/_matrix/client/v3"
# What the adapter sends: replies and announcements (and their edits) as m.room.message, and
# emoji buttons as m.reaction.
SENT = ("m.room.message", "m.reaction")


class _Failed(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.code = body.get("errcode") if isinstance(body, dict) else None
        self.error = body.get("error") if isinstance(body, dict) else None


class _Homeserver:
    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http, self.base, self._auth = http, base, {"Authorization": f"Bearer {token}"}

    async def get(self, path: str) -> Any:
        async with self.http.get(self.base + path, headers=self._auth) as response:
            body = await response.json(content_type=None)
            if response.status >= 300:
                raise _Failed(response.status, body)
            return body


async def diagnose(platform: MatrixPlatform) -> list[Finding]:
    settings = platform.settings
    base = settings.homeserver
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        try:
            first = await _versions(http, base, platform)
            if first.status is Status.PROBLEM:
                return [first]
            server = _Homeserver(http, base, settings.access_token().get_secret_value())
            whoami = await server.get(f"{CLIENT}/account/whoami")
            joined = set((await server.get(f"{CLIENT}/joined_rooms"))["joined_rooms"])
        except _Failed as exc:
            return [first, _refused(platform, exc)]
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            return [
                Finding.problem(
                    "matrix",
                    f"cannot reach {base}: {exc or type(exc).__name__}",
                    "check [matrix] homeserver, and that this machine reaches it",
                )
            ]
        if whoami.get("user_id") != settings.user_id:
            return [
                first,
                Finding.problem(
                    "matrix",
                    f"the token is {whoami.get('user_id')}'s, not [matrix] user_id's "
                    f"({settings.user_id})",
                    "set [matrix] user_id to the token's account, or use that account's token",
                ),
            ]
        found = [first, Finding.ok("matrix", f"logged in as {settings.user_id} on {base}")]
        for room in platform.rooms_config:
            if room.target("matrix"):
                found.append(await _answered(_room(server, platform, room, joined), room.name))
        found.append(await _ratelimit(server, platform))
    return found


async def _answered(check: Coroutine[Any, Any, Finding], name: str) -> Finding:
    """One room's finding; a call that fails is that room's problem, not the whole check's."""
    try:
        return await check
    except (_Failed, aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        return Finding.problem(
            f"matrix room {name}", f"cannot read its state: {exc}", "see the homeserver's log"
        )


async def _versions(http: aiohttp.ClientSession, base: str, platform: MatrixPlatform) -> Finding:
    """The homeserver answers as one, and its clock: `Date` on `/_matrix/client/versions`."""
    started = time.monotonic()
    async with http.get(f"{base}/_matrix/client/versions") as response:
        date = response.headers.get("Date")
        try:
            body = await response.json(content_type=None)
        except ValueError:
            body = None
    if not (isinstance(body, dict) and "versions" in body):
        return Finding.problem(
            "matrix",
            f"{base} does not answer as a Matrix homeserver",
            "set [matrix] homeserver to the address clients use (where "
            "/_matrix/client/versions answers)",
        )
    local = platform.router.runtime.now() - timedelta(seconds=(time.monotonic() - started) / 2)
    if date is None:
        return Finding.unknown("clock", "the homeserver sent no Date header", "compare with NTP")
    server = email.utils.parsedate_to_datetime(date) + timedelta(seconds=0.5)
    return skew_finding("the homeserver", server, local)


def _refused(platform: MatrixPlatform, exc: _Failed) -> Finding:
    if exc.code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN"):
        where = secret_source(platform.settings.token_env, platform.settings.token_file)
        return Finding.problem(
            "matrix",
            f"the homeserver rejected the access token ({exc.code})",
            f"log the bot in again and put its new access token in {where}",
        )
    return Finding.problem("matrix", f"the homeserver answered {exc}", "see its logs")


async def _room(
    server: _Homeserver, platform: MatrixPlatform, room: Room, joined: set[str]
) -> Finding:
    room_id = room.target("matrix") or ""
    user = platform.settings.user_id
    subject = f"matrix room {room.name}"
    if room_id not in joined:
        return Finding.problem(
            subject,
            f"the bot is not in {room_id}",
            f"invite {user} to the room: it accepts invitations to its rooms (or correct the "
            "room id: Element → Room settings → Advanced)",
        )
    state = f"{CLIENT}/rooms/{quote(room_id, safe='')}/state"
    levels = await server.get(f"{state}/m.room.power_levels")
    create = await server.get(f"{state}/m.room.create?format=event")
    creators = privileged_creators(create if "content" in create else {"content": create})
    have = (
        10**6
        if user in creators
        else int(levels.get("users", {}).get(user, levels.get("users_default", 0)))
    )
    events, default = levels.get("events", {}), int(levels.get("events_default", 0))
    need = max(int(events.get(kind, default)) for kind in SENT)
    if have < need:
        return Finding.problem(
            subject,
            f"the bot's power level ({have}) is below the {need} needed to send messages and "
            "reactions",
            f"give {user} power level {need} in the room (Room settings → Roles & Permissions)",
        )
    shown = "creator" if user in creators else f"power level {have}"
    return Finding.ok(subject, f"joined; {shown} is enough to send, edit and react")


async def _ratelimit(server: _Homeserver, platform: MatrixPlatform) -> Finding:
    user = platform.settings.user_id
    path = f"/_synapse/admin/v1/users/{quote(user, safe='')}/override_ratelimit"
    url = f"{server.base}{path}"
    lift = (
        f'as a server admin: curl -X POST -H "Authorization: Bearer $ADMIN_TOKEN" '
        f'-d \'{{"messages_per_second": 0, "burst_count": 0}}\' {url}'
    )
    try:
        override = await server.get(path)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        return Finding.unknown("matrix rate limit", f"cannot read it: {exc}", "try again")
    except _Failed as exc:
        if exc.code == "M_FORBIDDEN":
            return Finding.unknown(
                "matrix rate limit",
                "only a server admin can read the bot's Synapse rate limit, and the bot is not one",
                f'check: curl -H "Authorization: Bearer $ADMIN_TOKEN" {url} (empty means '
                f"limited); lift: {lift.removeprefix('as a server admin: ')}",
            )
        return Finding.unknown(
            "matrix rate limit",
            "the homeserver has no Synapse admin API here",
            "lift the bot's message rate limit as your homeserver's documentation says",
        )
    rate, burst = override.get("messages_per_second"), override.get("burst_count")
    if rate is None:
        return Finding.warn(
            "matrix rate limit",
            "Synapse limits the bot like any user (about one message per 5 s after a burst "
            "of 10): announcements to many rooms wait",
            lift,
        )
    if rate == 0 and burst == 0:
        return Finding.ok("matrix rate limit", "lifted for the bot")
    return Finding.ok("matrix rate limit", f"raised for the bot to {rate}/s, burst {burst}")
