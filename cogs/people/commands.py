from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from bot.core import Button, Ctx, Opt, Reply, Role, UserError, command, markup
from bot.core.audience import anywhere
from bot.core.durations import span
from bot.core.limits import Limit
from bot.core.personal import PersonalData
from bot.core.spec import Handler
from bot.identity import PLATFORM_LABELS, Account, account_line, accounts_of, find_person, people
from cogs.people import personal as service_personal
from cogs.people.service import CODE_LIFETIME, issue_code, redeem_code

_WHO = "who, as whoami shows them: @nina:example.org, @nina on Discord"


def _account_lines(accounts: list[Account]) -> list[str]:
    return [f"- {account_line(a)}" for a in accounts]


@command("whoami", help="Show your linked accounts and your role here")
async def whoami(ctx: Ctx) -> Reply:
    found = await people(ctx.session, [ctx.person_id])
    accounts = found[ctx.person_id].accounts if ctx.person_id in found else []
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
    # Codes could be guessed at; ten tries leave 32^8 codes out of reach.
    limit=Limit(10, timedelta(minutes=10)),
)
async def link(
    ctx: Ctx,
    code: Annotated[str | None, Opt("the code from your other platform", max_length=20)] = None,
) -> Reply:
    platform = ctx.caller.platform
    if code is None:
        issued = await issue_code(ctx.session, ctx.person_id, platform, ctx.now())
        typed, slash = anywhere(ctx.env.prefix, "link", code=issued.shown)
        return Reply(
            f"Your link code is **{issued.shown}** — valid for {span(CODE_LIFETIME)}, once.\n"
            f"On your other platform send {markup.code(typed)} (Discord: {markup.code(slash)})."
        )
    accounts = await redeem_code(
        ctx.session, ctx.person_id, platform, code, ctx.now(), ctx.audience
    )
    return Reply(
        "\n".join(["Linked. These accounts are now one person:", *_account_lines(accounts)])
    )


async def _send_file(personal: PersonalData, ctx: Ctx, person_id: int, whose: str) -> Reply:
    attachment, records = await service_personal.data_file(
        ctx.session, personal, person_id, ctx.now()
    )
    return Reply(
        f"Here is everything Convene keeps about {whose}: {records} records, as JSON.",
        attachment=attachment,
    )


async def _preview(
    personal: PersonalData, ctx: Ctx, person_id: int, whose: str, typed: str, confirm: str
) -> Reply:
    """What forgetting would remove; *typed* and *confirm* (text form, for the button) are
    the command that does it."""
    lines = await service_personal.what_goes(ctx.session, personal, person_id)
    accounts = _account_lines(await accounts_of(ctx.session, person_id))
    return Reply(
        "\n".join(
            [
                f"Forgetting {whose} removes the accounts:",
                *accounts,
                *(["and what is kept of them:"] if lines else []),
                *[f"- {line}" for line in lines],
                "Only counts that lead to nobody stay. This cannot be undone.",
                f"To go ahead: {markup.code(typed)}",
            ]
        ),
        title="Forget? Nothing is removed yet",
        buttons=[Button("Forget", confirm, "danger")] if len(confirm) < 90 else [],
    )


def rights_commands(personal: PersonalData) -> list[Handler]:
    """The commands over what every cog keeps about a person, bound to the house's registry of
    it (complete once every cog has set up)."""

    @command(
        "me export",
        help="Get everything this bot keeps about you, as a file",
        private=True,
        limit=Limit(3, timedelta(hours=1)),
    )
    async def me_export(ctx: Ctx) -> Reply:
        return await _send_file(personal, ctx, ctx.person_id, "you")

    @command(
        "me forget",
        help="Have everything about you removed here (asks you to confirm first)",
        example="me forget confirm",
        private=True,
    )
    async def me_forget(
        ctx: Ctx,
        confirm: Annotated[Literal["confirm"] | None, Opt("confirm to go ahead")] = None,
    ) -> Reply:
        if confirm is None:
            typed = ctx.cmd("me forget", confirm="confirm")
            return await _preview(personal, ctx, ctx.person_id, "you", typed, "me forget confirm")
        await service_personal.forget_person(ctx.session, personal, ctx.person_id, ctx.now())
        return Reply(
            "Done: your accounts, names and words are removed here; only counts that lead to "
            "nobody stay. If you write again, you start afresh."
        )

    @command(
        "person export",
        help="Get what this bot keeps about someone who asked for it, as a file",
        example="person export @nina:example.org",
        role=Role.ORGANIZER,
        private=True,
    )
    async def person_export(ctx: Ctx, who: Annotated[str, Opt(_WHO, max_length=255)]) -> Reply:
        person_id = await find_person(ctx.session, who)
        return await _send_file(personal, ctx, person_id, markup.quoted(who))

    @command(
        "person forget",
        help="Remove everything about someone who asked for it (confirm to go ahead)",
        example="person forget @nina:example.org confirm",
        role=Role.ORGANIZER,
        private=True,
    )
    async def person_forget(
        ctx: Ctx,
        who: Annotated[str, Opt(_WHO, max_length=255, word=True)],
        confirm: Annotated[Literal["confirm"] | None, Opt("confirm to go ahead")] = None,
    ) -> Reply:
        person_id = await find_person(ctx.session, who)
        if person_id == ctx.person_id:
            raise UserError(f"That is you: use {markup.code(ctx.cmd('me forget'))}.")
        if confirm is None:
            typed = ctx.cmd("person forget", who=who, confirm="confirm")
            button = f"person forget {who} confirm"
            return await _preview(personal, ctx, person_id, markup.quoted(who), typed, button)
        await service_personal.forget_person(ctx.session, personal, person_id, ctx.now())
        return Reply(f"Done: {markup.quoted(who)} is forgotten here; only counts stay.")

    return [me_export, me_forget, person_export, person_forget]
