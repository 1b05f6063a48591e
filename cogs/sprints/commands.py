"""Sprint issue commands: organizers curate the list, everyone claims and gives back.

Times are shown as the events cog shows them (Discord's `<t:…>` markup, else the event's zone,
UTC and the reader's own zone), so an issue's sprint reads the same as in `event list`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from bot.core import Ctx, Opt, Reply, Role, UserError, command
from bot.core.limits import Limit
from bot.core.markup import code, escape, quoted
from cogs.events.api import Event, headline, occurs, zone_for
from cogs.sprints import service
from cogs.sprints.models import MAX_URL, SprintIssue

Tier = Literal["everyone", "newcomers", "contributors", "core"]
Number = Annotated[int, Opt("the sprint issue's number, e.g. 3", min=1)]


def _label(issue: SprintIssue) -> str:
    """`owner/repo#n` linked to the issue."""
    return f"[{escape(f'{issue.project}#{issue.number}')}]({issue.url})"


def _headline(issue: SprintIssue) -> str:
    title = f" {quoted(issue.title, 60)}" if issue.title else ""
    labels = f" [{escape(issue.labels)}]" if issue.labels else ""
    return f"#{issue.id} {_label(issue)}{title}{labels}"


def _cmd(ctx: Ctx, name: str, number: int) -> str:
    return code(ctx.cmd(name, number=number))


async def _sprint(
    ctx: Ctx, issue: SprintIssue, viewer: ZoneInfo | None
) -> tuple[str, datetime | None]:
    """The issue's event as shown in a line, and when its sprint starts."""
    event = await service.event_of(ctx.session, issue)
    if event is None:
        return "", None
    shown = f"event {headline(event)}"
    if event.cancelled_at is not None:
        return f"{shown} (cancelled)", None
    start = await service.sprint_start(ctx.session, event, issue.added_at)
    if start is None:
        return shown, None
    return f"{shown}, {occurs(event, start, viewer, ctx.caller.style)}", start


def _waits(issue: SprintIssue, start: datetime | None, now: datetime) -> bool:
    return issue.tier == service.GATED_TIER and start is not None and now < start


@command(
    "sprint issue add",
    help="List a GitHub, GitLab or Forgejo issue for sprints, for a tier and an event",
    example="sprint issue add https://github.com/owner/repo/issues/123 newcomers 3",
    role=Role.ORGANIZER,
)
async def sprint_issue_add(
    ctx: Ctx,
    url: Annotated[str, Opt("the issue's link on its forge", max_length=MAX_URL, word=True)],
    tier: Annotated[Tier, Opt("who it is for (default everyone)")] = "everyone",
    event: Annotated[int | None, Opt("the sprint's event number, e.g. 3", min=1)] = None,
) -> Reply:
    now = ctx.now()
    link = service.parse_link(url, ctx.env)
    facts = await service.facts_of(ctx.session, ctx.env, ctx.clock, link)
    issue = await service.add(
        ctx.session, link, tier, event, ctx.person_id, now, ctx.audience, facts
    )
    lines = [f"Listed {_headline(issue)} for {tier}."]
    shown, start = await _sprint(ctx, issue, await zone_for(ctx.session, ctx.person_id))
    if shown:
        lines.append(f"Sprint: {shown}.")
    if _waits(issue, start, now):
        lines.append("Newcomers can claim it once that sprint starts.")
    return Reply("\n".join(lines))


@command(
    "sprint issue import",
    help="List every open issue of a repository that has a label",
    example="sprint issue import scikit-learn/scikit-learn label=sprint newcomers 3",
    role=Role.ORGANIZER,
)
async def sprint_issue_import(
    ctx: Ctx,
    repo: Annotated[
        str, Opt("the repository as owner/name or its address", max_length=200, word=True)
    ],
    label: Annotated[str, Opt("the label the issues carry, e.g. sprint", max_length=50, word=True)],
    tier: Annotated[Tier, Opt("who they are for (default everyone)")] = "everyone",
    event: Annotated[int | None, Opt("the sprint's event number, e.g. 3", min=1)] = None,
) -> Reply:
    listed, known = await service.import_labelled(
        ctx.session, ctx.env, ctx.clock, repo, label, tier, event, ctx.person_id, ctx.audience
    )
    already = f" {known} {'was' if known == 1 else 'were'} listed already." if known else ""
    if not listed:
        return Reply(f"No new open issue of {escape(repo)} has the label {quoted(label)}.{already}")
    names = ", ".join(_headline(issue) for issue in listed[:10])
    more = f" and {len(listed) - 10} more" if len(listed) > 10 else ""
    return Reply(f"Listed {len(listed)} for {tier}: {names}{more}.{already}")


@command(
    "sprint issue remove",
    help="Take an issue off the sprint list",
    example="sprint issue remove 3",
    role=Role.ORGANIZER,
)
async def sprint_issue_remove(ctx: Ctx, number: Number) -> Reply:
    issue = await service.remove(ctx.session, number, ctx.person_id, ctx.now())
    held = ""
    if issue.claimed_by is not None:
        held = f" {escape(await service.holder_name(ctx.session, issue.claimed_by))} held it."
    return Reply(f"Removed {_headline(issue)} from the list.{held}")


@command("sprint issues", help="Issues curated for sprints, and who is working on each")
async def sprint_issues(
    ctx: Ctx, tier: Annotated[Tier | None, Opt("only the issues for this tier")] = None
) -> Reply:
    found, more = await service.listed(ctx.session, tier)
    which = f" for {tier}" if tier else ""
    if not found:
        hint = ""
        if ctx.role >= Role.ORGANIZER:
            hint = f" Add one with {code(ctx.cmd('sprint issue add <url>'))}."
        return Reply(f"No sprint issues{which} are listed.{hint}")
    now = ctx.now()
    viewer = await zone_for(ctx.session, ctx.person_id)
    lines = []
    free: list[int] = []
    for issue in found:
        shown, start = await _sprint(ctx, issue, viewer)
        if issue.claimed_by is not None:
            state = f"held by {escape(await service.holder_name(ctx.session, issue.claimed_by))}"
        elif _waits(issue, start, now):
            state = "free from the sprint's start"
        else:
            state = "free"
            free.append(issue.id or 0)
        parts = [_headline(issue), issue.tier, *([shown] if shown else []), state]
        lines.append(" · ".join(parts))
    if more:
        lines.append(f"… and {more} more.")
    if free:
        lines.append(f"Take a free one with {_cmd(ctx, 'sprint claim', free[0])}.")
    return Reply("\n".join(lines), title=f"Sprint issues{which}")


@command(
    "sprint claim",
    help="Take a sprint issue to work on",
    example="sprint claim 3",
    limit=Limit(10, timedelta(minutes=10)),
)
async def sprint_claim(ctx: Ctx, number: Number) -> Reply:
    try:
        issue = await service.claim(ctx.session, number, ctx.person_id, ctx.now())
    except service.NotOpenYet as wait:
        viewer = await zone_for(ctx.session, ctx.person_id)
        start = occurs(wait.event, wait.start, viewer, ctx.caller.style)
        raise UserError(
            f"{_headline(wait.issue)} is kept for newcomers until event "
            f"{headline(wait.event)} starts: {start}."
        ) from None
    except service.AtLimit as full:
        held = ", ".join(_headline(h) for h in full.held)
        back = _cmd(ctx, "sprint unclaim", full.held[0].id or 0)
        raise UserError(
            f"You already hold {len(full.held)} sprint issues ({held}); that is the most at once. "
            f"Give one back first, e.g. {back}."
        ) from None
    back = _cmd(ctx, "sprint unclaim", number)
    if await service.say_taken(ctx.session, ctx.env, ctx.clock, issue, ctx.person_id):
        said = "A comment on the issue now says it is taken"
    else:
        said = "Say on the issue that you are working on it"
    return Reply(f"You have {_headline(issue)}. {said}; if you stop, give it back with {back}.")


@command("sprint unclaim", help="Give back a sprint issue you took", example="sprint unclaim 3")
async def sprint_unclaim(ctx: Ctx, number: Number) -> Reply:
    organizer = ctx.role >= Role.ORGANIZER
    issue, holder = await service.unclaim(ctx.session, number, ctx.person_id, organizer)
    if holder == ctx.person_id:
        return Reply(f"You gave back {_headline(issue)}; it is free again.")
    name = escape(await service.holder_name(ctx.session, holder))
    return Reply(f"Gave back {_headline(issue)} for {name}; it is free again.")


@command(
    "sprint issue done",
    help="Say a sprint issue is done: its holder or an organizer; it leaves the list",
    example="sprint issue done 3",
)
async def sprint_issue_done(ctx: Ctx, number: Number) -> Reply:
    organizer = ctx.role >= Role.ORGANIZER
    issue, holder = await service.complete(
        ctx.session, number, ctx.person_id, organizer, ctx.now(), ctx.audience
    )
    if holder == ctx.person_id:
        return Reply(f"Well done: {_headline(issue)} is done, and off the list.")
    name = escape(await service.holder_name(ctx.session, holder))
    return Reply(f"Recorded {_headline(issue)} as done by {name}; it is off the list.")


async def opened_by_ending(ctx: Ctx, options: Mapping[str, Any]) -> str | None:
    """Said in `event cancel` and `event delete`: the newcomers' issues kept for that sprint
    stop waiting, so the organizer hears which, and how to take one off the list instead."""
    event = await ctx.session.get(Event, options["id"])
    if event is None or event.cancelled_at is not None:
        return None
    waiting = await service.waiting_for(ctx.session, event, ctx.now())
    if not waiting:
        return None
    names = ", ".join(f"#{issue.id}" for issue in waiting)
    kept = "was kept" if len(waiting) == 1 else "were kept"
    return (
        f"Sprint issue {names} {kept} for newcomers until this sprint; anyone can claim "
        f"{'it' if len(waiting) == 1 else 'them'} now. To take one off the list: "
        f"{_cmd(ctx, 'sprint issue remove', waiting[0].id or 0)}."
    )
