"""Review nudges: a reviewer who opts in gets at most one direct message a day, during their own
daytime (their `tz set` zone, else the bot's), listing the pull requests that ask them for a
review or carry a label they named. Nothing waiting, no message.

The key is the person and their local day (`review-nudge:12:2027-01-05`), so a restart or a
second instance plans it once; `last_day` spares the store a query on every later tick.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot import delivery
from bot.core.audience import Audience
from bot.core.durations import span
from bot.core.markup import code, escape, quoted
from bot.core.ports import DIRECT_PLATFORMS
from bot.core.reply import Reply
from bot.core.runtime import Runtime
from bot.delivery import Direct, Key, Outgoing, Render
from cogs.events.api import zone_for
from cogs.forge import pulls
from cogs.forge.accounts import logins_of
from cogs.forge.models import PullRequest, ReviewNudge
from cogs.forge.repos import Repositories
from cogs.forge.settings import ForgeSettings

# The reviewer's daytime: from 10:00 to 18:00 where they are.
DAY_STARTS, DAY_ENDS = 10, 18
POLL = 900.0
KEPT = timedelta(hours=8)


class ReviewNudges:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.env.section(ForgeSettings)
        self.repositories = Repositories(self.settings)

    async def plan(self) -> None:
        runtime = self.runtime
        now = runtime.now()
        default = ZoneInfo(runtime.env.timezone)
        async with runtime.transaction() as session:
            for nudge in (await session.exec(select(ReviewNudge))).all():
                local = now.astimezone(await zone_for(session, nudge.person_id) or default)
                day = local.date().isoformat()
                if nudge.last_day == day or not DAY_STARTS <= local.hour < DAY_ENDS:
                    continue
                nudge.last_day = day
                session.add(nudge)
                if nudge.platform not in DIRECT_PLATFORMS:
                    continue
                found = await pulls.for_reviewer(
                    session,
                    mine=await logins_of(session, nudge.person_id),
                    labels=[label for label in nudge.labels.split(",") if label],
                    approvals_needed=self.settings.approvals_needed,
                    limit=nudge.most,
                )
                if not found:
                    continue
                direct = Direct(
                    f"dm:{nudge.person_id}", nudge.platform, nudge.user_id, fallback=nudge.room
                )
                render = lines_for(found, self.repositories, now)
                key = Key("review-nudge", nudge.person_id, day)
                await delivery.plan(
                    session, runtime.env, [Outgoing(key, [direct], render, now, now + KEPT)]
                )

    async def step(self) -> float:
        await self.plan()
        return POLL


def lines_for(found: list[PullRequest], repositories: Repositories, now: datetime) -> Render:
    def shown(audience: Audience) -> Reply:
        lines = []
        for pull in found:
            repo = repositories.by_key(pull.repo)
            name = escape(f"{repo.name if repo else pull.repo}#{pull.number}")
            label = f"[{name}]({pull.url})" if pull.url.startswith("https://") else name
            waited = span(max(now - pull.waiting_since, timedelta(0)), units=2)
            lines.append(
                f"- {label} {quoted(pull.title, 80)} by {escape(pull.author)} · waiting {waited}"
            )
        stop = audience.command("review nudge", switch="off")
        lines.append(f"Stop these with {code(stop)}.")
        return Reply("\n".join(lines), title="Pull requests waiting for your review")

    return shown
