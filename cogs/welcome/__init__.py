"""Welcome: greet people once ever when they join a room with purpose `welcome`."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import Ctx
from bot.core.cog import Cog, Listens, Sees, Setup
from bot.identity import account_of
from cogs.welcome import commands, personal, service
from cogs.welcome.settings import WelcomeSettings


async def on_join(ctx: Ctx, rooms: Sequence[str]) -> None:
    caller = ctx.caller
    account = await account_of(ctx.session, caller.platform, caller.user_id)
    assert account is not None and account.id is not None, "the router made it"
    newcomer = service.Newcomer(ctx.person_id, account.id, caller.display_name, caller.platform)
    await service.welcome(ctx.session, ctx.env, newcomer, rooms, ctx.now())


def setup(house: Setup) -> None:
    house.commands(commands)
    house.on_join("welcome", on_join)
    env = house.runtime.env

    async def forget(session: AsyncSession, person_id: int, now: datetime) -> None:
        await personal.forget(session, env, person_id, now)

    house.personal_data(export=personal.export, forget=forget, words=personal.WORDS)


cog = Cog(
    "welcome",
    setup,
    settings=WelcomeSettings,
    purposes=("welcome",),
    listens=(Listens("welcome", Sees.JOINS, "welcomes"),),
    models="cogs.welcome.models",
)
