"""What the fault soak saw, per kind: the figures it prints and the test asserts."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tally:
    """One kind of command or announcement: done once, done twice or more, never done, late."""

    once: int = 0
    twice: int = 0
    missing: int = 0
    late: int = 0
    # Answered, but with the apology for a failure on the bot's side.
    apologies: int = 0

    def count(self, times: int) -> None:
        if times == 0:
            self.missing += 1
        elif times == 1:
            self.once += 1
        else:
            self.twice += 1


@dataclass
class Figures:
    seconds: float
    commands: dict[str, Tally] = field(default_factory=dict)
    announcements: dict[str, Tally] = field(default_factory=dict)
    takeovers: dict[str, list[float]] = field(default_factory=dict)
    faults: Counter[str] = field(default_factory=Counter)
    # Discord commands held back while no instance had a gateway: Discord itself fails those
    # ("The application did not respond"), so a person tries again once it is back.
    held_back: int = 0
    # Discord interactions in flight to the gateway holder as it was SIGKILLed: unanswerable by
    # any instance, since Discord never sends an interaction again; not counted as unanswered.
    lost_with_gateway: int = 0
    restarts: int = 0
    answer_delays: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def ok(self) -> bool:
        tallies = [*self.commands.values(), *self.announcements.values()]
        return all(not (t.twice or t.missing or t.late) for t in tallies) and any(
            t.once for t in tallies
        )

    def lines(self) -> list[str]:
        lines = [f"soak of {self.seconds:.0f} s; faults: {dict(sorted(self.faults.items()))}"]
        for kind, t in sorted(self.announcements.items()):
            lines.append(
                f"announcements {kind:<28} sent {t.once:4} / duplicated {t.twice} / "
                f"lost {t.missing} / late {t.late}"
            )
        for kind, t in sorted(self.commands.items()):
            lines.append(
                f"commands {kind:<33} answered {t.once:4} / answered twice {t.twice} / "
                f"unanswered {t.missing}" + (f" (apologies {t.apologies})" if t.apologies else "")
            )
        for kind, samples in sorted(self.takeovers.items()):
            lines.append(
                f"takeover {kind:<33} n={len(samples)} max {max(samples):.2f} s / "
                f"median {statistics.median(samples):.2f} s"
            )
        if self.answer_delays:
            delays = sorted(self.answer_delays)
            lines.append(
                f"Matrix answers after the command: median {statistics.median(delays):.2f} s, "
                f"worst {delays[-1]:.2f} s"
            )
        lines.append(
            f"instance starts after a kill or exit: {self.restarts}; Discord commands held back "
            f"while no gateway was up: {self.held_back}; Discord interactions in flight to a "
            f"SIGKILLed gateway holder (Discord never redelivers them): {self.lost_with_gateway}"
        )
        return lines + [f"soak error: {error}" for error in self.errors]

    def as_json(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "faults": dict(self.faults),
            "announcements": {k: vars(t) for k, t in self.announcements.items()},
            "commands": {k: vars(t) for k, t in self.commands.items()},
            "takeovers": {
                k: {
                    "n": len(v),
                    "max_s": round(max(v), 2),
                    "median_s": round(statistics.median(v), 2),
                }
                for k, v in self.takeovers.items()
            },
            "restarts": self.restarts,
            "held_back": self.held_back,
            "lost_with_gateway": self.lost_with_gateway,
            "ok": self.ok(),
        }
