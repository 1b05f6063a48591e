from __future__ import annotations

from datetime import timedelta

from bot.core import Ctx, Reply, Role, UserError, command, markup
from bot.core.durations import span
from bot.core.limits import Limit
from bot.web_login import LINK_LIFETIME, issue_link


@command(
    "web login",
    help="Get a one-time link that logs your browser in to the organizer pages (mentors)",
    role=Role.MENTOR,
    private=True,
    limit=Limit(10, timedelta(minutes=10)),
)
async def web_login(ctx: Ctx) -> Reply:
    base = ctx.env.web.url
    if base is None:
        raise UserError("The web server is off here: set [web] enabled = true and restart the bot.")
    token = await issue_link(ctx.session, ctx.person_id, ctx.now())
    return Reply(
        f"Open {markup.link(f'{base}/login/{token}')} to log in. The link works once, for {span(LINK_LIFETIME)}; "
        f"keep it to yourself. For a new one, ask {markup.code(ctx.cmd('web login'))} again.",
        title="Your web login link",
        private=True,
    )
