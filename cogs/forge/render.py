"""The review queue as people read it, in `review queue` and in a review hour's post."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.durations import span
from bot.core.markup import escape, quoted
from cogs.forge.pulls import Waiting
from cogs.forge.repos import Repositories


def flags(waiting: Waiting) -> list[str]:
    found = []
    if waiting.yours:
        found.append("review requested from you")
    if waiting.first_timer:
        found.append("first-time contributor")
    if waiting.second_approval:
        found.append("one approval, needs a second")
    if waiting.ci_failing:
        found.append("CI failing")
    return found


def line(waiting: Waiting, repositories: Repositories, now: datetime) -> str:
    pull = waiting.pull
    repo = repositories.by_key(pull.repo)
    name = repo.name if repo else pull.repo
    label = escape(f"{name}#{pull.number}")
    shown = f"[{label}]({pull.url})" if pull.url.startswith("https://") else label
    waited = span(max(now - pull.waiting_since, timedelta(0)), units=2)
    parts = [f"{shown} {quoted(pull.title, 80)} by {escape(pull.author)}", f"waiting {waited}"]
    return " · ".join(parts + flags(waiting))


def lines(found: list[Waiting], total: int, repositories: Repositories, now: datetime) -> list[str]:
    shown = [f"- {line(waiting, repositories, now)}" for waiting in found]
    if total > len(found):
        shown.append(f"… and {total - len(found)} more.")
    return shown
