"""Which role names exist, as the adapters of platforms with roles last saw them.

A `mention=Sprinters` that names no role would ping nobody, silently, in every reminder; so
commands check a name here before they store it. Only Discord has roles of its own; the
configured organizer and mentor roles mean something on every platform (on Matrix, the members
whose power level grants them).
"""

from __future__ import annotations

from collections.abc import Iterable

EVERYWHERE = ("organizers", "mentors")


class KnownRoles:
    def __init__(self) -> None:
        self._seen: dict[str, dict[str, str]] = {}
        self._expected: set[str] = set()

    def expect(self, platform: str) -> None:
        """*platform* has roles and will report them once connected."""
        self._expected.add(platform)

    def report(self, platform: str, names: Iterable[str]) -> None:
        """The role names *platform* has now (never its default role)."""
        self._seen[platform] = {name.casefold(): name for name in names}

    def find(self, name: str) -> str | None:
        """The role's name as the platform spells it; None when it exists nowhere."""
        folded = name.casefold()
        if folded in EVERYWHERE:
            return folded
        for names in self._seen.values():
            if folded in names:
                return names[folded]
        return None

    @property
    def complete(self) -> bool:
        """Every platform with roles has said which: a name found nowhere does not exist."""
        return self._expected <= self._seen.keys()

    def names(self) -> list[str]:
        found = {name.casefold(): name for name in EVERYWHERE}
        for names in self._seen.values():
            found.update(names)
        return sorted(found.values(), key=str.casefold)
