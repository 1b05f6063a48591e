"""Platform-free replies: what a handler returns and every platform renders in its own way."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.core.markup import escape

ButtonStyle = Literal["primary", "secondary", "success", "danger"]


@dataclass(frozen=True)
class Button:
    """A button that runs *command* (text form, no prefix) as whoever clicks it.

    Platforms without buttons show the command instead, so every button stays usable by typing.
    """

    label: str
    command: str
    style: ButtonStyle = "primary"


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a reply, such as a person's data export.

    Text only (JSON, CSV, iCalendar): it stays one string through the outbox's rows. Platforms
    send it as a file: an upload on Discord and Matrix, a file written to disk on the console.
    """

    filename: str
    content: str
    mime: str = "application/json"

    @property
    def data(self) -> bytes:
        return self.content.encode()


@dataclass
class Reply:
    """Text in the markup subset of `bot.core.markup`, with optional title, fields and buttons.

    The title is plain text, escaped by every rendering: handlers put event titles and FAQ
    questions there, and a title that could carry markup would need every one of them to
    remember to escape it.

    `private` asks for a reply only the caller sees (ephemeral on Discord, a direct message on
    Matrix). `error` marks refusals so platforms can style them.

    Nothing a reply says ever pings, except what it names on purpose: `mentions` (user ids on the
    platform it is rendered for) and `mention_roles` (role names, where "organizers" and
    "mentors" mean the roles configured for those; Matrix, which has no roles, pings the room's
    members who hold them).

    `reply_to` names the message this answers, on platforms that show replies (Matrix), and
    `thread` asks for the answer in a thread on it.

    `attachment` is a file sent with the text. A private reply that carries one goes to the
    caller's direct messages where the platform has them (Discord's ephemeral answers vanish),
    so what someone keeps stays with them.
    """

    text: str = ""
    title: str | None = None
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    private: bool = False
    error: bool = False
    mentions: list[str] = field(default_factory=list)
    mention_roles: list[str] = field(default_factory=list)
    reply_to: str | None = None
    thread: bool = False
    attachment: Attachment | None = None

    def body(self) -> str:
        """Title, text and fields as one markup text, for platforms without embeds."""
        parts: list[str] = []
        if self.title:
            parts.append(f"**{escape(self.title)}**")
        if self.text:
            parts.append(self.text)
        parts.extend(f"**{name}:** {value}" for name, value in self.fields)
        return "\n".join(parts)


def encode(reply: Reply) -> str:
    """A reply as one string, for a store row: the outbox's messages, an event's answer.

    Its fields are copied one level down by hand: `dataclasses.asdict` deep-copies every value,
    four times slower, on a path every command and planned message takes."""
    data = dict(vars(reply))
    data["buttons"] = [vars(button) for button in reply.buttons]
    if reply.attachment is not None:
        data["attachment"] = vars(reply.attachment)
    return json.dumps(data)


def decode(body: str) -> Reply:
    data: dict[str, Any] = json.loads(body)
    data["buttons"] = [Button(**b) for b in data.get("buttons", [])]
    data["fields"] = [tuple(f) for f in data.get("fields", [])]
    if data.get("attachment") is not None:
        data["attachment"] = Attachment(**data["attachment"])
    return Reply(**data)
