"""Reading the code that `link` hands out from the bot's answer."""

from __future__ import annotations

import re


def code_in(text: str) -> str:
    match = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", text)
    assert match, text
    return match.group(1)
