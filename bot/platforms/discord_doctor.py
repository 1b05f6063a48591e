"""What `doctor` checks on Discord, over REST only, so it answers the same before the bot runs
and inside it: the token, the servers, each room's channel and the bot's permissions there (as
discord.py computes them from roles and overwrites), the privileged intents against the
features that need them, and the clock against Discord's `Date` header."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.core.diagnose import Finding, skew_finding
from bot.core.rooms import Room
from bot.core.settings import secret_source

if TYPE_CHECKING:
    from bot.platforms.discord import DiscordPlatform

PORTAL = "Developer Portal → your application → Bot → Privileged Gateway Intents"
# What every room needs: its announcements are embeds with buttons, its history is read to
# edit them; reactions as the issue lists them.
EVERY_ROOM = (
    ("view_channel", "View Channel"),
    ("send_messages", "Send Messages"),
    ("embed_links", "Embed Links"),
    ("add_reactions", "Add Reactions"),
    ("read_message_history", "Read Message History"),
)
# Where messages are answered (FAQ auto-answer), the answer goes in a thread on the question.
LISTENING_ROOM = (
    ("create_public_threads", "Create Public Threads"),
    ("send_messages_in_threads", "Send Messages in Threads"),
)
# What the invite link asks for: the above, and the use of slash commands.
INVITE_PERMISSIONS = discord.Permissions(
    **{name: True for name, _ in EVERY_ROOM + LISTENING_ROOM}, use_application_commands=True
)


@dataclass(frozen=True)
class Place:
    guild: discord.Guild
    channel: discord.abc.GuildChannel
    member: discord.Member


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=("bot", "applications.commands")
    )


async def diagnose(platform: DiscordPlatform) -> list[Finding]:
    client, settings = platform.client, platform.settings
    try:
        me = await _me(client, settings.token().get_secret_value())
        found = [await _clock(platform)]
        info = await client.application_info()
        places, servers = await _places(client, me, settings.guild_ids, settings.application_id)
    except discord.LoginFailure:
        return [
            Finding.problem(
                "discord",
                "Discord rejected the bot token",
                "copy a new token (Developer Portal → Bot → Reset Token) into "
                + secret_source(settings.token_env, settings.token_file),
            )
        ]
    except discord.HTTPException as exc:
        return [
            Finding.problem(
                "discord",
                f"Discord refused a check: {exc.status} {exc.text}",
                "check [discord] application_id and guild_ids against the Developer Portal",
            )
        ]
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return [
            Finding.problem(
                "discord",
                f"cannot reach Discord: {exc or type(exc).__name__}",
                "check that this machine reaches discord.com",
            )
        ]
    found += servers
    rooms = [room for room in platform.rooms if room.target("discord")]
    for room in rooms:
        found.append(_room(platform, room, places))
    found += _intents(platform, rooms, places, info.flags)
    return found


@dataclass(frozen=True)
class Me:
    id: int
    name: str


async def _me(client: discord.Client, token: str) -> Me:
    """The bot's account. Before `run`, a REST login only: `Client.login` would also run the
    setup hook, which syncs the commands."""
    if client.user is not None:
        return Me(client.user.id, client.user.name)
    data = await client.http.static_login(token)
    return Me(int(data["id"]), data["username"])


async def _clock(platform: DiscordPlatform) -> Finding:
    """Discord's time from the `Date` header of an unauthenticated REST call."""
    started = time.monotonic()
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        http.get(f"{discord.http.Route.BASE}/gateway") as response,
    ):
        date = response.headers.get("Date")
    local = platform.router.runtime.now() - timedelta(seconds=(time.monotonic() - started) / 2)
    if date is None:
        return Finding.unknown("clock", "Discord sent no Date header", "compare with an NTP server")
    server = email.utils.parsedate_to_datetime(date) + timedelta(seconds=0.5)
    return skew_finding("Discord", server, local)


async def _places(
    client: discord.Client, me: Me, wanted: Sequence[int], application_id: int
) -> tuple[dict[int, Place], list[Finding]]:
    """Every channel of the servers the bot is in (those of `guild_ids` when set), with the
    bot's member there; and a problem for each configured server it is not in."""
    joined = {guild.id: guild async for guild in client.fetch_guilds(limit=None)}
    found: list[Finding] = []
    invite = invite_url(application_id)
    if not joined:
        found.append(Finding.problem("discord", "the bot is in no server", f"invite it: {invite}"))
    for guild_id in wanted:
        if guild_id not in joined:
            found.append(
                Finding.problem(
                    "discord",
                    f"the bot is not in server {guild_id} ([discord] guild_ids)",
                    f"invite it: {invite} (or take the id out of guild_ids)",
                )
            )
    places: dict[int, Place] = {}
    for guild_id in [g for g in joined if not wanted or g in wanted]:
        guild = await client.fetch_guild(guild_id, with_counts=False)
        member = await guild.fetch_member(me.id)
        for channel in await guild.fetch_channels():
            places[channel.id] = Place(guild, channel, member)
    if joined:
        names = ", ".join(guild.name for guild in joined.values())
        found.append(Finding.ok("discord", f"logged in as {me.name}; in {names}"))
    return places, found


def _role_name(member: discord.Member) -> str:
    """The bot's own role, which Discord made when it joined; the one organizers edit."""
    own = [role for role in member.roles if role.managed]
    return own[0].name if own else member.name


def _needs(platform: DiscordPlatform, room: Room) -> tuple[tuple[str, str], ...]:
    listening = platform.router.listens(room.purposes)
    return EVERY_ROOM + (LISTENING_ROOM if listening else ())


def _room(platform: DiscordPlatform, room: Room, places: dict[int, Place]) -> Finding:
    channel_id = int(room.target("discord") or 0)
    subject = f"discord room {room.name}"
    place = places.get(channel_id)
    if place is None:
        return Finding.problem(
            subject,
            f"channel {channel_id} is in none of the bot's servers, or does not exist",
            "copy the channel's id again (Developer Mode → right-click the channel → Copy "
            f"Channel ID), or invite the bot to its server: {invite_url(platform.settings.application_id)}",
        )
    channel, member = place.channel, place.member
    where = f"#{channel.name}"
    if not isinstance(channel, discord.TextChannel | discord.VoiceChannel):
        return Finding.problem(
            subject,
            f"{where} is a {channel.type.name} channel, where the bot cannot post",
            "bind a text channel instead",
        )
    allowed = channel.permissions_for(member)
    needed = _needs(platform, room)
    missing = [label for name, label in needed if not getattr(allowed, name)]
    if not missing:
        return Finding.ok(subject, f"{where}: all {len(needed)} permissions it needs")
    if "View Channel" in missing:
        # A channel the bot cannot see denies it everything else too: seeing comes first.
        missing = ["View Channel"]
    role = _role_name(member)
    labels = ", ".join(f"'{label}'" for label in missing)
    server_wide = member.guild_permissions
    by_overwrite = all(getattr(server_wide, name) for name, label in needed if label in missing)
    text = (
        f"{where}: the bot cannot see the channel"
        if "View Channel" in missing
        else f"{where}: the bot lacks {labels}"
    )
    if by_overwrite:
        fix = f"Allow {labels} for {role} in {where} (Edit Channel → Permissions → {role})"
    else:
        fix = (
            f"Give the bot {labels} in {where} (Server Settings → Roles → {role}, or Edit "
            f"Channel → Permissions)"
        )
    return Finding.problem(subject, text, fix)


def _intents(
    platform: DiscordPlatform,
    rooms: list[Room],
    places: dict[int, Place],
    flags: discord.ApplicationFlags,
) -> list[Finding]:
    """Each privileged intent against the features that need it and the Developer Portal."""
    settings, router = platform.settings, platform.router
    found: list[Finding] = []
    for label, setting, wanted, portal, what, needers in (
        (
            "Message Content",
            "message_content",
            settings.message_content,
            flags.gateway_message_content or flags.gateway_message_content_limited,
            "FAQ auto-answer",
            [room for room in rooms if router.listens(room.purposes)],
        ),
        (
            "Server Members",
            "members_intent",
            settings.members_intent,
            flags.gateway_guild_members or flags.gateway_guild_members_limited,
            "welcomes",
            [room for room in rooms if router.wants_joins(room.purposes)],
        ),
    ):
        shown = ", ".join(_shown(room, places) for room in needers)
        subject = f"discord intent {label}"
        if wanted and not portal:
            found.append(
                Finding.problem(
                    subject,
                    f"[discord] {setting} is on but the intent is off in the Developer Portal: "
                    "Discord refuses the connection (close code 4014)",
                    f"turn on '{label} Intent' ({PORTAL}), or set [discord] {setting} = false",
                )
            )
        elif needers and not wanted:
            turn_on = "" if portal else f"turn on '{label} Intent' ({PORTAL}) and "
            found.append(
                Finding.problem(
                    subject,
                    f"needed for {what} in {shown}, and [discord] {setting} is off",
                    f"{turn_on}set [discord] {setting} = true",
                )
            )
        elif needers:
            found.append(Finding.ok(subject, f"on, for {what} in {shown}"))
    return found


def _shown(room: Room, places: dict[int, Place]) -> str:
    place = places.get(int(room.target("discord") or 0))
    return f"#{place.channel.name}" if place is not None else f"room {room.name}"
