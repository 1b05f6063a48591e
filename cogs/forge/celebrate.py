"""A newcomer's first contribution, celebrated: when a person linked to a forge login opens their
first pull request on a configured repository, and again when it is merged, the rooms with
purpose `welcome` hear it once each, through the outbox, and the mentor who last took one of
their mentor requests is told by direct message.

"First" is the forge's word for it (GitHub's author association `FIRST_TIME_CONTRIBUTOR` or
`FIRST_TIMER`, GitLab's `first_contribution`), kept on the row from when it was opened, since a
merged pull request's author is a contributor by then. A webhook or a poll may report the change
(a poll sees merges in the listing of recently closed pull requests); only the first to record
it plans the messages, and their outbox keys are the same either way.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import delivery
from bot.core.audience import Audience
from bot.core.env import Env
from bot.core.markup import escape, quoted
from bot.core.ports import DIRECT_PLATFORMS
from bot.core.reply import Reply
from bot.delivery import Direct, Key, Outgoing
from bot.identity import accounts_of, display_name
from cogs.forge.models import ForgeAccount, PullRequest
from cogs.forge.pulls import FIRST_TIMERS
from cogs.forge.repos import Repository
from cogs.mentoring.api import last_mentor

PURPOSE = "welcome"


async def celebrate(
    session: AsyncSession,
    env: Env,
    repo: Repository,
    before: tuple[str, str] | None,
    pull: PullRequest,
    now: datetime,
) -> None:
    """Plan the celebration *pull*'s change calls for; *before* is its (state, association)
    before the change, None when it was new."""
    rooms = env.rooms.with_purpose(PURPOSE)
    first = (before[1] if before else pull.association) in FIRST_TIMERS
    if not rooms or not first or pull.id is None:
        return
    if before is None and pull.state == "open":
        moment = "opened"
    elif before is not None and before[0] != "merged" and pull.state == "merged":
        moment = "merged"
    else:
        return
    query = select(ForgeAccount.person_id).where(
        col(ForgeAccount.forge) == repo.forge.web,
        col(ForgeAccount.login) == pull.author.lower(),
        col(ForgeAccount.proven_at).is_not(None),
    )
    person = (await session.exec(query)).first()
    if person is None:
        return
    name = await display_name(session, person) or pull.author
    label = f"[{escape(f'{repo.name}#{pull.number}')}]({pull.url})"
    if moment == "opened":
        text = (
            f"🎉 {escape(name)} opened their first pull request to {escape(repo.name)}: "
            f"{label} {quoted(pull.title, 80)}. Welcome!"
        )
    else:
        text = (
            f"🎉 {escape(name)}'s first pull request to {escape(repo.name)} was merged: "
            f"{label} {quoted(pull.title, 80)}. Thank you!"
        )

    def shown(_audience: Audience) -> Reply:
        return Reply(text)

    messages = [Outgoing(Key("first-contribution", pull.id, moment), rooms, shown, due_at=now)]
    mentor = await last_mentor(session, person)
    account = None
    if mentor is not None:
        found = await accounts_of(session, mentor)
        account = next((a for a in found if a.platform in DIRECT_PLATFORMS), None)
    if account is not None:
        told = f"{text} (You helped {escape(name)} as their mentor.)"

        def to_mentor(_audience: Audience) -> Reply:
            return Reply(told)

        direct = Direct(f"dm:{mentor}", account.platform, account.platform_user_id)
        key = Key("first-contribution", pull.id, moment, "mentor")
        messages.append(Outgoing(key, [direct], to_mentor, due_at=now))
    await delivery.plan(session, env, messages)
