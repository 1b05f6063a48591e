"""Welcome: greet people once ever when they join a room with purpose `welcome`."""

from collections.abc import Sequence

from bot.core import Ctx
from bot.core.registry import Registry
from cogs.welcome import service


async def on_join(ctx: Ctx, rooms: Sequence[str]) -> None:
    caller = ctx.caller
    newcomer = service.Newcomer(ctx.person_id, caller.display_name, caller.platform)
    if await service.welcome(ctx.session, ctx.settings, newcomer, rooms, ctx.now()):
        ctx.changed("deliveries")


def setup(registry: Registry) -> None:
    registry.add_join_listener("welcome", on_join)
