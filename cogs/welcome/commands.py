"""The one welcome command: organizers see what newcomers will get before anyone joins."""

from __future__ import annotations

from bot.core import Ctx, Reply, Role, command
from cogs.welcome import service


@command(
    "welcome preview",
    help="Show the welcome newcomers get on this platform, with you as the newcomer",
    role=Role.ORGANIZER,
)
async def welcome_preview(ctx: Ctx) -> Reply:
    upcoming = await service.next_newcomers_event(ctx.session, ctx.now())
    shown = service.message(ctx.env, [ctx.caller.display_name], upcoming)
    reply = shown(ctx.audience)
    rooms = [r.name for r in ctx.env.rooms.with_purpose("welcome")]
    where = ", ".join(rooms) if rooms else "no room yet: give a room the purpose welcome"
    reply.title = f"Welcome preview (posted in: {where})"
    return reply
