"""People's forge logins, proven: the bot gives a code, the person puts it where only the
login's owner can (their GitHub profile's bio, or the description of a public gist), and the
bot finds it there. An organizer may confirm a login instead.

A proof replaces any other person's link to that login: whoever can write the bio now owns it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.audience import Audience
from bot.core.context import Ctx
from bot.core.errors import UserError
from bot.core.markup import code, escape
from bot.core.personal import Words
from bot.reads import Read
from cogs.forge.models import ForgeAccount, ReviewNudge
from cogs.mentoring.api import REQUESTER

GITHUB_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# GitLab's and Forgejo's user names.
LOGIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CODE_VALID = timedelta(days=1)


def link_example(kind: str, audience: Audience) -> str:
    """`forge link` as *audience* types it, for a refusal to show."""
    return code(audience.command("forge link", forge=kind, login="octocat"))


def check_login(login: str, kind: str, audience: Audience) -> str:
    """The login as a forge spells it; a refusal shows `forge link` as *audience* types it."""
    login = login.strip().removeprefix("@")
    example = link_example(kind, audience)
    if kind == "github" and not GITHUB_LOGIN.match(login):
        raise UserError(
            f"A GitHub login is letters, digits and single hyphens, at most 39, e.g. {example}"
        )
    if not LOGIN.match(login):
        raise UserError(
            f"A {kind} login is letters, digits, dots, hyphens and underscores, e.g. {example}"
        )
    return login


async def logins_of(session: AsyncSession, person_id: int) -> list[str]:
    query = select(ForgeAccount.login).where(
        col(ForgeAccount.person_id) == person_id, col(ForgeAccount.proven_at).is_not(None)
    )
    return list((await session.exec(query)).all())


async def claim(
    session: AsyncSession, forge: str, login: str, person_id: int, now: datetime
) -> tuple[ForgeAccount, bool]:
    """The person's claim on *login* (its code, or the link), and whether its code is new: a
    code is kept for a day, then another is given."""
    query = select(ForgeAccount).where(
        col(ForgeAccount.forge) == forge,
        col(ForgeAccount.person_id) == person_id,
        col(ForgeAccount.login) == login.lower(),
    )
    found = (await session.exec(query)).first()
    if found is None:
        found = ForgeAccount(person_id=person_id, forge=forge, login=login.lower(), asked_at=now)
    fresh = found.proven_at is None and (found.code is None or now - found.asked_at > CODE_VALID)
    if fresh:
        found.code = f"convene-{secrets.token_hex(6)}"
        found.asked_at = now
    session.add(found)
    await session.flush()
    return found, fresh


def shows(code: str, user: Any, gists: list[Any]) -> bool:
    """Whether the code is in the profile's bio (Forgejo: description) or a public gist's
    description."""
    places = [str((user or {}).get(key) or "") for key in ("bio", "description")]
    places += [str(gist.get("description") or "") for gist in gists if gist.get("public", True)]
    return any(code in place for place in places)


async def prove(session: AsyncSession, account: ForgeAccount, now: datetime) -> None:
    """Link *account*; nobody else stays linked to that login."""
    await session.exec(
        delete(ForgeAccount).where(
            col(ForgeAccount.forge) == account.forge,
            col(ForgeAccount.login) == account.login,
            col(ForgeAccount.id) != account.id,
        )
    )
    account.proven_at = now
    account.code = None
    session.add(account)


async def linked(session: AsyncSession, person_id: int) -> list[ForgeAccount]:
    query = select(ForgeAccount).where(col(ForgeAccount.person_id) == person_id)
    return list((await session.exec(query.order_by(col(ForgeAccount.id)))).all())


# In `me forget`'s list of what goes, one and many of each kind.
WORDS = {
    "forge_accounts": Words("linked forge login", "linked forge logins"),
    "review_nudges": Words("review nudge setting", "review nudge settings"),
}


async def export(session: AsyncSession, person_id: int) -> dict[str, list[dict[str, Any]]]:
    """The person's forge logins and review nudges, each kind only when there is one."""
    nudge = await session.get(ReviewNudge, person_id)
    found: dict[str, list[dict[str, Any]]] = {}
    if logins := await linked(session, person_id):
        found["forge_accounts"] = [
            {"forge": a.forge, "login": a.login, "asked_at": a.asked_at, "proven_at": a.proven_at}
            for a in logins
        ]
    if nudge is not None:
        found["review_nudges"] = [
            {"platform": nudge.platform, "most": nudge.most, "labels": nudge.labels}
        ]
    return found


async def forget(session: AsyncSession, person_id: int, now: datetime) -> None:
    await session.exec(delete(ForgeAccount).where(col(ForgeAccount.person_id) == person_id))
    await session.exec(delete(ReviewNudge).where(col(ReviewNudge.person_id) == person_id))


_ACCOUNTS = ForgeAccount.__table__  # type: ignore[attr-defined]
# Built once and run as quick reads: `whoami` and every `mentor claim` ask them.
_PROVEN = Read(
    sa_select(_ACCOUNTS.c.forge, _ACCOUNTS.c.login)
    .where(_ACCOUNTS.c.person_id == bindparam("person"), _ACCOUNTS.c.proven_at.is_not(None))
    .order_by(_ACCOUNTS.c.id)
)


_PROVEN_OF_REQUESTER = Read(
    sa_select(_ACCOUNTS.c.forge, _ACCOUNTS.c.login)
    .where(_ACCOUNTS.c.person_id == REQUESTER, _ACCOUNTS.c.proven_at.is_not(None))
    .order_by(_ACCOUNTS.c.id)
)


async def handles(session: AsyncSession, person_id: int) -> str | None:
    """A person's linked forge logins as shown: `github.com octocat, gitlab.com oc`."""
    return _shown(await _PROVEN.rows(session, {"person": person_id}))


async def requester_handles(session: AsyncSession, request: int) -> str | None:
    """The linked forge logins of whoever asked mentor request *request*."""
    return _shown(await _PROVEN_OF_REQUESTER.rows(session, {"request": request}))


def _shown(found: Sequence[Sequence[str]]) -> str | None:
    if not found:
        return None
    return ", ".join(
        f"{escape(urlsplit(forge).netloc or forge)} {escape(login)}" for forge, login in found
    )


async def shown_in_whoami(ctx: Ctx, _options: Mapping[str, Any]) -> str | None:
    """`whoami` lists the forge logins the caller linked."""
    names = await handles(ctx.session, ctx.person_id)
    return None if names is None else f"Forge accounts: {names}."


async def shown_in_mentor_claim(ctx: Ctx, options: Mapping[str, Any]) -> str | None:
    """A mentor taking a request sees the requester's forge logins with their other handles."""
    names = await requester_handles(ctx.session, int(options["id"]))
    return None if names is None else f"Their forge accounts: {names}."
