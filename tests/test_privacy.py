"""Every command answers privately exactly when its spec says so.

Discord chooses a deferred answer's visibility from the spec before the reply exists, so a
private reply from a command not declared private would be filled into a public placeholder.
The dispatcher refuses such a reply; this tour drives every registered command to a real
answer, so a command that answers privately without saying so fails here, and a new command
fails until the tour drives it too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import parse_settings
from bot.core import Role
from bot.core.router import Router
from bot.core.spec import CommandSpec
from tests.support.clock import Clock
from tests.support.fake_github import FakeGitHub, issue, serving
from tests.support.fake_platform import FakePlatform
from tests.support.house import build_bot

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

ORGANIZER = [
    '!event create "Sprint" start="2026-11-28 10:00" tz=Europe/Paris repeat=weekly kind=sprint',
    "!event edit 1 duration=90",
    "!event skip 1 2026-12-05",
    '!event move 1 2026-12-12 "2026-12-13 10:00"',
    '!event create "Office hours" start="2026-11-30 17:00" tz=Europe/Paris',
    "!event cancel 2",
    "!event delete 2",
    '!faq add run-tests "How do I run the tests?" "Run pytest from the repository root." testing',
    '!faq edit run-tests answer="Run pytest -n auto from the repository root."',
    '!faq teach "how do i launch the test suite" run-tests',
    "!faq gaps",
    "!doctor",
    "!sprint issue add https://github.com/owner/repo/issues/123 contributors",
    "!sprint issue import owner/repo label=sprint",
    "!sprint issue add https://github.com/owner/repo/issues/124 contributors",
    "!welcome preview",
    "!room add community announcements",
    "!forge confirm github omar-o @omar:x",
    "!room list",
]
CONTRIBUTOR = [
    "!help",
    "!help link",
    "!whoami",
    "!tz set Europe/Paris",
    "!event list",
    "!event show 1",
    "!event rsvp 1 going",
    "!event calendar",
    "!faq ask how do I run the tests?",
    "!faq list",
    "!faq show run-tests",
    "!faq vote 1 up",
    "!sprint issues",
    "!review queue",
    "!forge link github nina",
    "!review nudge on labels=documentation",
    "!sprint claim 1",
    "!sprint unclaim 1",
    "!sprint claim 2",
    "!sprint issue done 2",
    '!mentor request "dev setup" the C extensions fail to build on Windows',
    "!mentor list",
]
MENTOR = [
    "!mentor available on",
    "!mentor details 1",
    "!mentor claim 1",
    "!mentor release 1",
    "!mentor claim 1",
    '!mentor done 1 "built with MSVC 2022"',
    "!mentor stats",
    "!web login",
]
LAST = [
    ("organizer", "!sprint issue remove 1"),
    ("organizer", "!faq remove run-tests"),
    ("organizer", "!room remove community"),
    ("contributor", '!mentor request "packaging"'),
    ("contributor", "!mentor cancel 2"),
    ("contributor", "!me export"),
    ("contributor", "!me forget"),
    ("organizer", "!person export @nina:x"),
    ("organizer", "!person forget @nina:x"),
    ("mentor", "!me forget confirm"),
]


def spec_of(registry: Router, line: str) -> CommandSpec:
    words = line.removeprefix("!").lower().split()
    for size in (3, 2, 1):
        if spec := registry.get(" ".join(words[:size])):
            return spec
    raise LookupError(line)


async def test_every_command_answers_privately_exactly_when_declared(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with serving(FakeGitHub(users={"nina": ("", [])})) as github:
        github.repo("owner/repo").issues[123] = issue("owner/repo", 123, title="Typo")
        github.repo("owner/repo").issues[124] = issue("owner/repo", 124, title="Docs")
        await tour(sqlite_sessions, github)


async def tour(sessions: async_sessionmaker[AsyncSession], github: FakeGitHub) -> None:
    forges = [
        {
            "kind": "github",
            "base_url": github.url,
            "web_url": "https://github.com",
            "repositories": ["owner/repo"],
        }
    ]
    settings = parse_settings({"forge": {"forges": forges}})
    registry = build_bot(sessions, settings, clock=Clock(T0))
    matrix = FakePlatform(registry)
    discord = FakePlatform(registry, name="discord", style="slash")
    people = {
        "organizer": matrix.person("@omar:x", Role.ORGANIZER, "Omar"),
        "contributor": matrix.person("@nina:x", Role.CONTRIBUTOR, "Nina"),
        "mentor": discord.person("11", Role.MENTOR, "maria"),
    }
    tour = [("organizer", line) for line in ORGANIZER]
    tour += [("contributor", line) for line in CONTRIBUTOR]
    tour += [("mentor", line) for line in MENTOR] + LAST
    for who, line in tour:
        await people[who].say(line)
    issued = await people["contributor"].say("!link")
    code = re.search(r"[A-Z0-9]{4}-[A-Z0-9]{4}", issued.text)
    assert code, issued.text
    await discord.person("12", name="nina").say(f"!link {code.group(0)}")

    answered: dict[str, list[bool]] = {}
    for _, line, reply in matrix.log + discord.log:
        assert "went wrong on my side" not in reply.text, (line, reply.text)
        if not reply.error:
            answered.setdefault(spec_of(registry, line).name, []).append(reply.private)
    undriven = {spec.name for spec in registry.specs} - set(answered)
    assert not undriven, f"the tour never gets an answer from {sorted(undriven)}"
    for spec in registry.specs:
        assert set(answered[spec.name]) == {spec.private}, spec.name
    assert {s.name for s in registry.specs if s.private} >= {"link", "mentor claim"}
