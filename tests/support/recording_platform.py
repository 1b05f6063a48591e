"""A sender for the outbox that records what it posted and behaves like a platform: it posts at
most one message per idempotency key, as Matrix txn ids and Discord nonces do."""

from __future__ import annotations

import asyncio

from bot.core.ports import SendResult
from bot.core.reply import Attachment, Reply


class RecordingPlatform:
    """`posted`, `mentioned`, `files` and `edited` by idempotency key or message id, `replies`
    the whole Reply posted (title, fields); `script` holds the results to return instead of
    posting, first one first."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.connected = True
        self.posted: dict[str, tuple[str, str]] = {}
        self.mentioned: dict[str, list[str]] = {}
        self.replies: dict[str, Reply] = {}
        self.files: dict[str, Attachment] = {}
        self.edited: dict[str, tuple[str, str]] = {}
        self.calls = 0
        self.script: list[SendResult] = []

    async def deliver(self, target: str, reply: Reply, key: str) -> SendResult:
        self.calls += 1
        await asyncio.sleep(0)  # as a network call would, so racing dispatchers interleave
        if self.script:
            return self.script.pop(0)
        self.posted.setdefault(key, (target, reply.text))
        self.mentioned.setdefault(key, reply.mentions)
        self.replies.setdefault(key, reply)
        if reply.attachment is not None:
            self.files.setdefault(key, reply.attachment)
        return SendResult(message_id=f"m-{key}")

    async def edit(self, target: str, message_id: str, reply: Reply, key: str) -> SendResult:
        self.calls += 1
        self.edited[message_id] = (target, reply.text)
        return SendResult(message_id=message_id)


def matrix_and_discord() -> dict[str, RecordingPlatform]:
    """Senders for both chat platforms, by name, as the dispatcher takes them."""
    return {"matrix": RecordingPlatform("matrix"), "discord": RecordingPlatform("discord")}
