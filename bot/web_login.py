"""Logging in to the web pages from chat.

A browser brings no platform account with it, so the chat vouches for it: `web login` makes a
one-time link (ten minutes, single use) and the person's browser trades it for a session. Only
digests of links and session ids are stored, so a copy of the store opens no session.

The web server asks on every request who holds the session, and the role comes from the store
then (each account's role as its platform last reported it, see `bot.identity`), never from the
session: a mentor who loses the role loses the pages with their next command. Sessions end
after `IDLE` without a request, or `LONGEST` after the login, whichever comes first.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, func, or_, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.core.context import Clock, Role
from bot.core.pages import Viewer
from bot.db import UTCDateTime
from bot.identity import Account, Person, remembered

LINK_LIFETIME = timedelta(minutes=10)
IDLE = timedelta(hours=12)
LONGEST = timedelta(days=7)
# A session's last use is written at most this often, so reading a page is not a write each time.
TOUCH = timedelta(minutes=1)
COOKIE = "convene_session"
CSRF_FIELD = "csrf"
_CSRF_KEY = web.RequestKey("convene.csrf", str)
_SID_KEY = web.RequestKey("convene.sid", str)


class WebLink(SQLModel, table=True):
    __tablename__ = "web_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    __tablename__ = "web_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    csrf: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def role_of(session: AsyncSession, person_id: int) -> Role | None:
    """The highest role any of the person's remembered accounts has; None for nobody."""
    query = select(func.max(Account.role)).where(Account.person_id == person_id, remembered())
    found = (await session.exec(query)).one()
    return None if found is None else Role(found)


async def issue_link(session: AsyncSession, person_id: int, now: datetime) -> str:
    """A new login secret for *person_id*, good once within `LINK_LIFETIME`."""
    token = secrets.token_urlsafe(32)
    session.add(
        WebLink(
            token_hash=_digest(token),
            person_id=person_id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    return token


@dataclass(frozen=True)
class Opened:
    """A session just opened: the id for the cookie, and what it may see."""

    sid: str
    viewer: Viewer


async def redeem_link(session: AsyncSession, token: str, now: datetime) -> Opened | None:
    """Trade a link's secret for a new session: None when the link is unknown, used, expired,
    or its person no longer a mentor. The link is spent by one conditional UPDATE, so of two
    browsers racing with it one wins."""
    digest = _digest(token)
    spent = await session.exec(
        update(WebLink)
        .where(
            col(WebLink.token_hash) == digest,
            col(WebLink.used_at).is_(None),
            col(WebLink.expires_at) > now,
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        return None
    link = await session.get(WebLink, digest)
    assert link is not None
    viewer = await _viewer(session, link.person_id)
    if viewer is None:
        return None
    sid = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id_hash=_digest(sid),
            person_id=link.person_id,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            seen_at=now,
        )
    )
    await _sweep(session, now)
    return Opened(sid, viewer)


async def _sweep(session: AsyncSession, now: datetime) -> None:
    """Links and sessions past use, deleted at each login: a few rows, so no timer is needed."""
    await session.exec(delete(WebLink).where(col(WebLink.expires_at) <= now))
    ended = or_(col(WebSession.seen_at) <= now - IDLE, col(WebSession.created_at) <= now - LONGEST)
    await session.exec(delete(WebSession).where(ended))


async def _viewer(session: AsyncSession, person_id: int) -> Viewer | None:
    role = await role_of(session, person_id)
    if role is None or role < Role.MENTOR:
        return None
    person = await session.get(Person, person_id)
    return None if person is None else Viewer(person_id, person.display_name, role)


@dataclass(frozen=True)
class Held:
    viewer: Viewer
    csrf: str


async def session_viewer(session: AsyncSession, sid: str, now: datetime) -> Held | None:
    """Who holds session *sid* now, with the role the store gives them; None when it is
    unknown, idle too long, too old, or its person is no longer a mentor."""
    row = await session.get(WebSession, _digest(sid))
    if row is None:
        return None
    if now - row.seen_at >= IDLE or now - row.created_at >= LONGEST:
        await session.delete(row)
        return None
    viewer = await _viewer(session, row.person_id)
    if viewer is None:
        return None
    if now - row.seen_at >= TOUCH:
        row.seen_at = now
        session.add(row)
    return Held(viewer, row.csrf)


async def end_session(session: AsyncSession, sid: str) -> None:
    await session.exec(delete(WebSession).where(col(WebSession.id_hash) == _digest(sid)))


class WebLogin:
    """The web server's `Gate`: the session cookie, read against the store on every request,
    and each session's CSRF token, compared in constant time."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Clock, *, secure: bool
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.secure = secure

    async def viewer(self, request: web.Request) -> Viewer | None:
        sid = request.cookies.get(COOKIE)
        if not sid:
            return None
        async with self._sessions() as session:
            held = await session_viewer(session, sid, self._clock())
            await session.commit()
        if held is None:
            return None
        request[_SID_KEY] = sid
        request[_CSRF_KEY] = held.csrf
        return held.viewer

    def form_token(self, request: web.Request, viewer: Viewer) -> str:
        token = request.get(_CSRF_KEY)
        return token if isinstance(token, str) else ""

    def form_ok(self, request: web.Request, viewer: Viewer, form: Mapping[str, str]) -> bool:
        expected = self.form_token(request, viewer)
        sent = form.get(CSRF_FIELD, "")
        return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())

    async def log_in(self, token: str, response: web.StreamResponse) -> bool:
        async with self._sessions() as session:
            opened = await redeem_link(session, token, self._clock())
            await session.commit()
        if opened is None:
            return False
        response.set_cookie(
            COOKIE,
            opened.sid,
            max_age=int(LONGEST.total_seconds()),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="Strict",
        )
        return True

    async def log_out(self, request: web.Request, response: web.StreamResponse) -> None:
        sid = request.get(_SID_KEY)
        if sid is not None:
            async with self._sessions() as session:
                await end_session(session, sid)
                await session.commit()
        response.del_cookie(COOKIE, path="/")
