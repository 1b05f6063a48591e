"""What `convene doctor` and `doctor` in chat ask of each part: is it set up as the bot needs?

Each part that can be wrong in a way only it can see (a platform's permissions, the store's
schema, the web port) answers `Diagnose.diagnose()` with `Finding`s: what it checked, what it
found, and for each problem the fix in one line. The command and the CLI only collect and
print them, so neither knows a platform.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

log = logging.getLogger(__name__)

# The server's `Date` header has a resolution of one second and the round trip adds to it;
# past WARN_SKEW the clock is off, past FAIL_SKEW reminders come visibly early or late.
WARN_SKEW = 5.0
FAIL_SKEW = 60.0
# A check that hangs (a homeserver that never answers) is reported, not waited for.
CHECK_TIMEOUT = 15.0


class Status(enum.IntEnum):
    """Ordered by weight, so the worst of several is their max."""

    OK = 0
    UNKNOWN = 1
    WARN = 2
    PROBLEM = 3

    @property
    def mark(self) -> str:
        return ("ok", "cannot check", "warning", "PROBLEM")[self.value]


@dataclass(frozen=True)
class Finding:
    """One thing checked. *fix* is what to do about it, one line, for anything not OK; never a
    secret."""

    status: Status
    subject: str
    text: str
    fix: str | None = None

    @classmethod
    def ok(cls, subject: str, text: str) -> Finding:
        return cls(Status.OK, subject, text)

    @classmethod
    def problem(cls, subject: str, text: str, fix: str) -> Finding:
        return cls(Status.PROBLEM, subject, text, fix)

    @classmethod
    def warn(cls, subject: str, text: str, fix: str) -> Finding:
        return cls(Status.WARN, subject, text, fix)

    @classmethod
    def unknown(cls, subject: str, text: str, fix: str) -> Finding:
        return cls(Status.UNKNOWN, subject, text, fix)


class Diagnose(Protocol):
    name: str

    async def diagnose(self) -> list[Finding]:
        """Check what this part needs, now; a failure to check is a finding, never raised."""


class Doctors:
    """The parts of one process that can be asked; platforms and the app add themselves."""

    def __init__(self) -> None:
        self._parts: list[Diagnose] = []

    def add(self, part: Diagnose) -> None:
        self._parts.append(part)

    async def examine(self) -> list[Finding]:
        """Every part's findings, the parts asked side by side, each within CHECK_TIMEOUT."""
        parts = list(self._parts)
        found = await asyncio.gather(*(_bounded(part) for part in parts))
        return [finding for findings in found for finding in findings]


async def _bounded(part: Diagnose) -> list[Finding]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return await part.diagnose()
    except TimeoutError:
        return [
            Finding.problem(
                part.name,
                f"no answer within {CHECK_TIMEOUT:.0f} s",
                f"check that {part.name} is reachable from this machine",
            )
        ]
    except Exception as exc:
        # A part should say what it cannot check; one that fails still leaves the others'.
        log.exception("doctor: checking %s failed", part.name)
        return [
            Finding.problem(
                part.name,
                f"the check itself failed ({type(exc).__name__})",
                "see the bot's log for the details",
            )
        ]


def skew_finding(subject: str, server: datetime, local: datetime) -> Finding:
    """The local clock against a server's: reminders fall when the local clock says."""
    skew = (local - server).total_seconds()
    way = "ahead of" if skew > 0 else "behind"
    said = f"this machine's clock is {abs(skew):.0f} s {way} {subject}'s"
    fix = "turn on time sync (e.g. `timedatectl set-ntp true`, or chrony/ntpd)"
    if abs(skew) > FAIL_SKEW:
        return Finding.problem("clock", f"{said}: reminders go out that far off", fix)
    if abs(skew) > WARN_SKEW:
        return Finding.warn("clock", said, fix)
    return Finding.ok("clock", f"in sync with {subject} (within {WARN_SKEW:.0f} s)")


def worst(findings: Sequence[Finding]) -> Status:
    return max((f.status for f in findings), default=Status.OK)


def report(findings: Sequence[Finding]) -> list[str]:
    """One line per finding, problems first; each not OK followed by its fix."""
    lines: list[str] = []
    for finding in sorted(findings, key=lambda f: -f.status):
        lines.append(f"{finding.status.mark} {finding.subject}: {finding.text}")
        if finding.status is not Status.OK and finding.fix:
            lines.append(f"   fix: {finding.fix}")
    problems = sum(f.status is Status.PROBLEM for f in findings)
    warnings = sum(f.status is Status.WARN for f in findings)
    unknown = sum(f.status is Status.UNKNOWN for f in findings)
    summary = f"{problems} problem(s), {warnings} warning(s), {unknown} not checked"
    lines.append("All good." if not (problems or warnings or unknown) else summary + ".")
    return lines
