"""Web pages a cog serves, written without HTTP: a query in, a body out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str


# The query, a session and the time; a `UserError` becomes a 400 with its message.
PageHandler = Callable[[Mapping[str, str], AsyncSession, datetime], Awaitable[Page]]
