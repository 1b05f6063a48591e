from __future__ import annotations

from typing import Annotated

from bot.core import Ctx, Opt, Reply, command, markup
from bot.identity import PLATFORM_LABELS, Account, accounts_of
from cogs.people.service import issue_code, redeem_code


def _account_lines(accounts: list[Account]) -> list[str]:
    return [
        f"- {PLATFORM_LABELS.get(a.platform, a.platform)}: {markup.escape(a.handle)}"
        for a in accounts
    ]


@command("whoami", help="Show your linked accounts and your role here")
async def whoami(ctx: Ctx) -> Reply:
    accounts = await accounts_of(ctx.session, ctx.person_id)
    lines = ["Linked accounts:", *_account_lines(accounts)]
    if len(accounts) < len(PLATFORM_LABELS):
        lines.append(f"Link another platform with {markup.code(ctx.cmd('link'))}.")
    return Reply(
        "\n".join(lines),
        title=f"You are {ctx.caller.display_name} — {ctx.role.label} here",
    )


@command(
    "link",
    help="Connect your accounts: get a code here, send it from your other platform",
    example="link ABCD-EFGH",
    private=True,
)
async def link(
    ctx: Ctx,
    code: Annotated[str | None, Opt("the code from your other platform", max_length=20)] = None,
) -> Reply:
    platform = ctx.caller.platform
    if code is None:
        issued = await issue_code(ctx.session, ctx.person_id, platform, ctx.now())
        typed = ctx.env.audience("matrix").command("link", code=issued.shown)
        slash = ctx.env.audience("discord").command("link", code=issued.shown)
        return Reply(
            f"Your link code is **{issued.shown}** — valid for 10 minutes, once.\n"
            f"On your other platform send {markup.code(typed)} (Discord: {markup.code(slash)})."
        )
    accounts = await redeem_code(ctx.session, ctx.person_id, platform, code, ctx.now())
    return Reply(
        "\n".join(["Linked. These accounts are now one person:", *_account_lines(accounts)])
    )
