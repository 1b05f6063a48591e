"""Webhooks a cog receives, written without HTTP: a POST's headers and raw body in, a status out.

Kept apart from pages (`pages.py`): a webhook is a machine's POST whose raw bytes are signed,
so the handler must see the body exactly as it came, and the web server must refuse a body past
the hook's size limit before reading all of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

# GitHub caps a webhook payload at 25 MB; what a community bot needs is far smaller, and a hook
# can say less.
MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class WebhookRequest:
    # Header names lower-cased, as the signatures' specifications name them.
    headers: Mapping[str, str]
    body: bytes
    now: datetime

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    # Plain text for the sender's delivery log; never a secret.
    text: str = ""


WebhookHandler = Callable[[WebhookRequest], Awaitable[WebhookAnswer]]


@dataclass(frozen=True)
class Webhook:
    handler: WebhookHandler
    max_body: int = MAX_BODY
