"""What `convene init` learns from Discord with the bot token alone: the application id, the
servers the bot is in, their channels and roles; and the invite link with the permissions
Convene uses, for a bot in no server yet.

Plain REST through aiohttp, against `[discord] api_base_url` when one is given, so nothing of
discord.py's global state (its `Route.BASE`) is changed for a one-shot lookup."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
from pydantic import SecretStr

from bot.core.cli import CliError

API_BASE = "https://discord.com/api/v10"
SCOPES = ("bot", "applications.commands")
# What the features do in a channel: read and answer commands, post announcements as embeds,
# react, read history (FAQ auto-answer, edits), answer in a thread, and slash commands.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    embed_links=True,
    add_reactions=True,
    read_message_history=True,
    create_public_threads=True,
    send_messages_in_threads=True,
    use_application_commands=True,
)
# Text and announcement channels: where a bot posts messages.
POSTABLE = {discord.ChannelType.text.value, discord.ChannelType.news.value}
TIMEOUT = aiohttp.ClientTimeout(total=20)
MAX_WAIT = 10.0


@dataclass(frozen=True)
class Channel:
    id: int
    name: str


@dataclass(frozen=True)
class Guild:
    id: int
    name: str
    channels: tuple[Channel, ...]
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Survey:
    application_id: int
    guilds: tuple[Guild, ...]
    # Whether the Developer Portal allows the privileged intents: asking the gateway for one it
    # does not allow closes the connection (4014), so the bot would not start.
    message_content: bool = False
    members: bool = False

    @property
    def invite_url(self) -> str:
        return invite_url(self.application_id)


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=SCOPES)


class _Api:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base.rstrip("/")

    async def get(self, path: str) -> Any:
        """One GET; a 429 is waited out once when Discord asks for a short wait."""
        for attempt in range(2):
            try:
                async with self.session.get(self.base + path) as response:
                    status = response.status
                    text = await response.text()
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = type(exc).__name__ if isinstance(exc, TimeoutError) else exc
                raise CliError(f"cannot reach Discord at {self.base}: {reason}") from None
            if status == 401:
                raise CliError(
                    "Discord refused the bot token (401 Unauthorized); copy it again from the "
                    "Developer Portal > your application > Bot > Reset Token"
                )
            try:
                body = json.loads(text)
            except ValueError:
                raise CliError(
                    f"{self.base} is not Discord's API (GET {path} answered {status} without "
                    "JSON); leave --discord-api-base-url unset for discord.com"
                ) from None
            detail = body if isinstance(body, dict) else {}
            if status == 429 and attempt == 0:
                wait = float(detail.get("retry_after", MAX_WAIT + 1))
                if wait <= MAX_WAIT:
                    await asyncio.sleep(wait)
                    continue
            if status >= 300:
                message = detail.get("message")
                raise CliError(
                    f"Discord answered GET {path} with {status}"
                    + (f": {message}" if message else "")
                )
            return body
        raise CliError(f"Discord keeps rate-limiting GET {path}; try again in a minute")


async def survey(token: SecretStr, api_base: str | None = None) -> Survey:
    """The application, and each server the bot is in with its postable channels and the roles
    people can hold (not @everyone, not the roles integrations manage)."""
    headers = {"Authorization": f"Bot {token.get_secret_value()}"}
    async with aiohttp.ClientSession(headers=headers, timeout=TIMEOUT) as session:
        api = _Api(session, api_base or API_BASE)
        application = await api.get("/oauth2/applications/@me")
        guilds = []
        for partial in await api.get("/users/@me/guilds"):
            guild_id = int(partial["id"])
            channels = await api.get(f"/guilds/{guild_id}/channels")
            roles = await api.get(f"/guilds/{guild_id}/roles")
            guilds.append(
                Guild(
                    guild_id,
                    partial["name"],
                    tuple(
                        Channel(int(c["id"]), c["name"])
                        for c in sorted(channels, key=lambda c: c.get("position", 0))
                        if c["type"] in POSTABLE
                    ),
                    tuple(
                        r["name"]
                        for r in sorted(roles, key=lambda r: -r.get("position", 0))
                        if int(r["id"]) != guild_id and not r.get("managed")
                    ),
                )
            )
    flags = discord.ApplicationFlags()
    flags.value = int(application.get("flags") or 0)
    return Survey(
        int(application["id"]),
        tuple(guilds),
        message_content=flags.gateway_message_content or flags.gateway_message_content_limited,
        members=flags.gateway_guild_members or flags.gateway_guild_members_limited,
    )
