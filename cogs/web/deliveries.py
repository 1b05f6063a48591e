"""Messages a platform refused for good, for organizers, each with a retry. The outbox is
the core's (`bot.delivery`); this page only reads its list and asks it to send one again."""

from __future__ import annotations

from bot.core.errors import UserError
from bot.core.markup import to_plain
from bot.core.pages import PageHandler, PageRequest, Redirect, View
from bot.core.runtime import Runtime
from bot.delivery import failed, retry
from bot.identity import platform_label

PATH = "/deliveries/refused"
SHOWN = 100
PREVIEW = 300


def refused_page(runtime: Runtime) -> PageHandler:
    async def page(request: PageRequest) -> View | Redirect:
        if request.method == "POST":
            text = request.form.get("delivery", "")
            if not text.isdigit():
                raise UserError("Choose a message to retry from the list.")
            async with runtime.transaction() as session:
                again = await retry(session, int(text), request.now)
            return Redirect(f"{PATH}?{'retried' if again else 'gone'}={text}")
        async with runtime.sessions() as session:
            found, total = await failed(session, SHOWN)
        rows = [
            {
                "id": f.id,
                "room": f.room,
                "platform": platform_label(f.platform),
                "direct": f.direct,
                "error": f.error,
                "due_at": f.due_at,
                "expired": f.expires_at is not None and f.expires_at <= request.now,
                "text": _preview(to_plain(f.text)),
            }
            for f in found
        ]
        return View(
            "web/refused.html",
            {
                "rows": rows,
                "total": total,
                "retried": request.query.get("retried"),
                "gone": request.query.get("gone"),
            },
            title="Refused messages",
        )

    return page


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"
