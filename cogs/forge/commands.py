"""`review queue`: what waits for a review, longest first."""

from __future__ import annotations

from typing import Annotated

from bot.core import Ctx, Opt, Reply, command
from bot.core.markup import code
from cogs.forge import pulls, render
from cogs.forge.accounts import logins_of
from cogs.forge.repos import Repositories
from cogs.forge.settings import ForgeSettings

SHOWN = 10


@command(
    "review queue",
    help="Open pull requests waiting for a review, longest wait first",
    example="review queue scikit-learn/scikit-learn",
)
async def review_queue(
    ctx: Ctx,
    repo: Annotated[
        str | None,
        Opt("owner/name or the repository's address (default: all)", max_length=300, word=True),
    ] = None,
) -> Reply:
    settings = ctx.env.section(ForgeSettings)
    repositories = Repositories(settings)
    chosen = repositories.find(repo) if repo is not None else None
    if chosen is None and not repositories.all:
        repositories.find("")  # says how to configure one
    keys = [chosen.key] if chosen else None
    found, total = await pulls.queue(
        ctx.session,
        repos=keys,
        mine=await logins_of(ctx.session, ctx.person_id),
        approvals_needed=settings.approvals_needed,
        limit=SHOWN,
    )
    where = f" in {chosen.name}" if chosen else ""
    if not found:
        return Reply(f"No pull request{where} is waiting for a review.", title="Review queue")
    lines = render.lines(found, total, repositories, ctx.now())
    if chosen is None and len(repositories.all) > 1:
        lines.append(
            f"One repository only: {code(ctx.cmd('review queue', repo=repositories.all[0].name))}"
        )
    return Reply("\n".join(lines), title=f"Review queue{where}: {total} waiting")
