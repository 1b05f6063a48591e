"""Link codes: made on one platform, redeemed once on another, within ten minutes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core import markup
from bot.core.audience import Audience
from bot.core.durations import span
from bot.core.errors import UserError
from bot.identity import Account, accounts_of, merge_people, platform_label
from cogs.people.models import LinkCode

CODE_LIFETIME = timedelta(minutes=10)
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise_code(text: str) -> str:
    return "".join(char for char in text.upper() if char.isalnum())


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime

    @property
    def shown(self) -> str:
        return f"{self.code[:4]}-{self.code[4:]}"


async def issue_code(
    session: AsyncSession, person_id: int, platform: str, now: datetime
) -> IssuedCode:
    code = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    expires = now + CODE_LIFETIME
    session.add(
        LinkCode(
            code_hash=_hash(code),
            person_id=person_id,
            platform=platform,
            created_at=now,
            expires_at=expires,
        )
    )
    return IssuedCode(code, expires)


async def redeem_code(
    session: AsyncSession,
    person_id: int,
    platform: str,
    text: str,
    now: datetime,
    audience: Audience,
) -> list[Account]:
    """Link the caller's Person with the code's; returns the linked person's accounts. A refusal
    names `link` as *audience* types it."""
    code = normalise_code(text)
    row = (await session.exec(select(LinkCode).where(LinkCode.code_hash == _hash(code)))).first()
    if row is None or len(code) != 8:
        raise UserError("That code doesn't exist. Codes look like ABCD-EFGH.", show_usage=True)
    again = markup.code(audience.command("link"))
    if row.used_at is not None:
        raise UserError(f"That code has already been used; ask for a new one with {again}.")
    if row.expires_at <= now:
        lasts = span(CODE_LIFETIME)
        raise UserError(f"That code has expired (codes last {lasts}); make a new one with {again}.")
    if row.person_id == person_id:
        where = platform_label(row.platform)
        raise UserError(
            f"That code is yours already: you made it on {where}. "
            "Send it from your account on another platform."
        )
    mine = {account.platform: account for account in await accounts_of(session, person_id)}
    theirs = {account.platform: account for account in await accounts_of(session, row.person_id)}
    both = sorted(set(mine) & set(theirs))
    if both:
        label = platform_label(both[0])
        raise UserError(
            f"Both accounts already have a {label} account ({theirs[both[0]].handle} and "
            f"{mine[both[0]].handle}); one person can have one account per platform."
        )
    claimed = await session.exec(
        update(LinkCode)
        .where(col(LinkCode.id) == row.id, col(LinkCode.used_at).is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        raise UserError(f"That code has already been used; ask for a new one with {again}.")
    keep, drop = sorted((row.person_id, person_id))
    await merge_people(session, keep, drop)
    return await accounts_of(session, keep)
