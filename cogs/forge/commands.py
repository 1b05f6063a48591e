"""`review queue`: what waits for a review, longest first; `forge link`: whose login is whose."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from bot.core import Ctx, Opt, Reply, Role, UserError, command
from bot.core.audience import Named
from bot.core.limits import Limit
from bot.core.markup import code, escape, quoted
from bot.core.ports import DIRECT_PLATFORMS
from bot.db import aside
from bot.identity import find_person
from cogs.forge import accounts, nudging, pulls, render
from cogs.forge.accounts import logins_of
from cogs.forge.issues import NoSuchLogin, profile
from cogs.forge.repos import Repositories
from cogs.forge.settings import ForgeConfig, ForgeSettings

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
    chosen = repositories.find(repo, ctx.audience) if repo is not None else None
    if chosen is None and not repositories.all:
        repositories.find("", ctx.audience)  # says how to configure one
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


KINDS = {"github": "GitHub", "gitlab": "GitLab", "forgejo": "Forgejo"}
Kind = Literal["github", "gitlab", "forgejo"]


def _forge(ctx: Ctx, kind: str) -> ForgeConfig:
    found = next((f for f in ctx.env.section(ForgeSettings).forges if f.kind == kind), None)
    if found is None:
        raise UserError(
            f"No {KINDS[kind]} forge is configured here: an organizer adds one under "
            f'[[forge.forges]] (kind = "{kind}") in the settings.',
            plain=True,
        )
    return found


@command(
    "forge link",
    help="Link your forge login, proven by a code in your profile's bio (or a public gist)",
    example="forge link github octocat",
    private=True,
    limit=Limit(10, timedelta(minutes=10)),
)
async def forge_link(
    ctx: Ctx,
    forge: Annotated[Kind, Opt("the forge: github, gitlab or forgejo")],
    login: Annotated[str, Opt("your login there, e.g. octocat", max_length=100, word=True)],
) -> Reply:
    login = accounts.check_login(login, forge, ctx.audience)
    config = _forge(ctx, forge)
    name = KINDS[forge]
    try:
        found = await aside(ctx.session, profile(config, ctx.clock, login))
    except NoSuchLogin:
        raise UserError(
            f"{name} has no user {escape(login)}; check the spelling, e.g. "
            f"{accounts.link_example(forge, ctx.audience)}",
        ) from None
    if found is None:
        raise UserError(f"{name} cannot be asked right now; try again in a few minutes.")
    account, fresh = await accounts.claim(ctx.session, config.web, login, ctx.person_id, ctx.now())
    if account.proven_at is not None:
        return Reply(f"Your {name} login {escape(login)} is linked already.")
    assert account.code is not None
    again = code(ctx.cmd("forge link", forge=forge, login=login))
    gist = ", or as the description of a public gist," if forge == "github" else ","
    if fresh:
        return Reply(
            f"To prove {escape(login)} is yours, put {code(account.code)} in your {name} "
            f"profile's bio{gist} then type {again} again. "
            "The code is valid for a day; remove it once linked."
        )
    user, gists = found
    if not accounts.shows(account.code, user, gists):
        where = " nor in a public gist's description" if forge == "github" else ""
        raise UserError(
            f"The code {code(account.code)} is not in {escape(login)}'s bio{where} yet. "
            f"Put it there, then type {again} again."
        )
    await accounts.prove(ctx.session, account, ctx.now())
    return Reply(
        f"Linked: {name}'s {escape(login)} is you. {code(ctx.cmd('review queue'))} now flags "
        "the pull requests whose review is requested from you."
    )


@command(
    "forge confirm",
    help="Link someone's forge login without a proof, as an organizer who knows it is theirs",
    example="forge confirm github octocat @nina:example.org",
    role=Role.ORGANIZER,
)
async def forge_confirm(
    ctx: Ctx,
    forge: Annotated[Kind, Opt("the forge: github, gitlab or forgejo")],
    login: Annotated[str, Opt("their login there, e.g. octocat", max_length=100, word=True)],
    who: Annotated[
        str, Opt("the person as whoami shows them, e.g. @nina:example.org", max_length=255)
    ],
) -> Reply:
    login = accounts.check_login(login, forge, ctx.audience)
    config = _forge(ctx, forge)
    person_id = await find_person(ctx.session, who)
    account, _ = await accounts.claim(ctx.session, config.web, login, person_id, ctx.now())
    await accounts.prove(ctx.session, account, ctx.now())
    return Reply(f"Linked: {KINDS[forge]}'s {escape(login)} is {quoted(who)}.")


@command(
    "review nudge",
    help="A daily direct message, in your daytime, of the pull requests waiting for you",
    example="review nudge on max=3 labels=documentation,sparse",
)
async def review_nudge(
    ctx: Ctx,
    switch: Annotated[Literal["on", "off"], Opt("on or off")],
    max: Annotated[
        int, Opt("at most this many pull requests a day (default 5)", min=1, max=10)
    ] = 5,
    labels: Annotated[
        str | None, Opt("also the pull requests with these labels, comma-separated", max_length=300)
    ] = None,
) -> Reply:
    if switch == "off":
        await nudging.stop(ctx.session, ctx.person_id)
        return Reply("No more review nudges.")
    if ctx.caller.platform not in DIRECT_PLATFORMS:
        raise UserError(
            "Review nudges come by direct message on Matrix or Discord: ask there, e.g. "
            "review nudge on",
            plain=True,
        )
    wanted = nudging.check_labels(labels)
    await nudging.start(ctx.session, ctx.caller, ctx.person_id, max, wanted)
    logins = await logins_of(ctx.session, ctx.person_id)
    what = []
    if logins:
        what.append(f"ask {escape(', '.join(logins))} for a review")
    if wanted:
        what.append(f"carry {escape(', '.join(wanted))}")
    if not what:
        hint = code(ctx.cmd("forge link", forge="github", login="<login>"))
        labels = code(ctx.cmd("review nudge", switch="on", labels=Named("documentation")))
        return Reply(
            f"Nudges are on, but nothing would be in them yet: link your login with {hint}, or "
            f"name labels, e.g. {labels}"
        )
    return Reply(
        f"Once a day, between {nudging.DAY_STARTS}:00 and {nudging.DAY_ENDS}:00 your time, up to "
        f"{max} pull requests that {' or '.join(what)}, by direct message (none when nothing waits)."
    )
