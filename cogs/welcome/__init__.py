"""Welcome: greet people once ever when they join a room with purpose `welcome`."""

from collections.abc import Sequence

from bot.core import Ctx
from bot.core.registry import Registry
from bot.identity import account_of
from cogs.welcome import commands, service


async def on_join(ctx: Ctx, rooms: Sequence[str]) -> None:
    caller = ctx.caller
    account = await account_of(ctx.session, caller.platform, caller.user_id)
    assert account is not None and account.id is not None, "the registry made it"
    newcomer = service.Newcomer(ctx.person_id, account.id, caller.display_name, caller.platform)
    if await service.welcome(ctx.session, ctx.settings, newcomer, rooms, ctx.now()):
        ctx.changed("deliveries")


def setup(registry: Registry) -> None:
    registry.add_module(commands)
    registry.add_join_listener("welcome", on_join)
