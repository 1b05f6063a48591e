"""`convene init`: a working `convene.toml` from the tokens alone.

Discord is asked, with the bot token, for the application id, the servers the bot is in, their
channels and roles; Matrix is logged in to once with the password, for the access token, the
device id and the rooms. The organizer names what they know (a server, channels, rooms, roles)
and never copies an id. The file is checked as `check-config` would before it is put in place,
and any refusal leaves nothing behind: no file, no token file, no Matrix session.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import getpass
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import tomli_w
from pydantic import SecretStr

from bot.cogs import discover
from bot.config import ConfigError, checked_settings
from bot.core.cli import CliError
from bot.core.cog import Listens, Sees
from bot.core.settings import read_secret

if TYPE_CHECKING:
    from bot.platforms.discord_setup import Guild, Survey
    from bot.platforms.matrix_setup import MatrixLogin

T = TypeVar("T")

DISCORD_TOKEN_ENV = "CONVENE_DISCORD_TOKEN"
MATRIX_TOKEN_ENV = "CONVENE_MATRIX_TOKEN"
DEFAULT_ORGANIZER_ROLES = ("Organizers",)
DEFAULT_MENTOR_ROLES = ("Mentors",)
ROOM_FORM = "NAME=CHANNEL:PURPOSE[,PURPOSE…], e.g. --room community=general:announcements,help"


def default_token_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "convene" / "matrix-token"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("convene.toml"), help="default: convene.toml"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument(
        "--yes", action="store_true", help="never prompt: what no flag says is an error"
    )
    discord = parser.add_argument_group("Discord (the token is read from a variable or a file)")
    discord.add_argument(
        "--discord-token-env", metavar="NAME", help=f"default: {DISCORD_TOKEN_ENV}"
    )
    discord.add_argument(
        "--discord-token-file", type=Path, metavar="PATH", help="a file outside the repository"
    )
    discord.add_argument("--guild", metavar="NAME", help="the server, by name (or id)")
    for kind, default in (("organizer", "Organizers"), ("mentor", "Mentors")):
        discord.add_argument(
            f"--{kind}-role",
            action="append",
            metavar="NAME",
            default=[],
            help=f"an existing role; repeat for more (default: {default}, if the server has it)",
        )
    discord.add_argument(
        "--discord-api-base-url", metavar="URL", help="REST proxy or test double; leave unset"
    )
    discord.add_argument(
        "--discord-gateway-url", metavar="URL", help="gateway proxy or test double; leave unset"
    )
    matrix = parser.add_argument_group("Matrix (the password from a variable or a prompt)")
    matrix.add_argument("--matrix-homeserver", metavar="URL", help="its client URL")
    matrix.add_argument("--matrix-user", metavar="@BOT:SERVER", help="the bot's full Matrix id")
    matrix.add_argument(
        "--matrix-password-env", metavar="NAME", help="variable holding the password (else asked)"
    )
    matrix.add_argument(
        "--matrix-token-file",
        type=Path,
        metavar="PATH",
        help="where the access token is kept (default: ~/.config/convene/matrix-token, 0600)",
    )
    matrix.add_argument(
        "--print-token-export",
        action="store_true",
        help="print `export CONVENE_MATRIX_TOKEN=…` instead of writing a token file",
    )
    parser.add_argument(
        "--room",
        action="append",
        default=[],
        metavar="NAME=CHANNEL:PURPOSES",
        help=(
            "a room: its name, where it is, its purposes (comma-separated). With both "
            "platforms, CHANNEL is discord/NAME+matrix/NAME; a name or an id on each"
        ),
    )


class Prompts:
    """Questions on a terminal; with `--yes`, or without a terminal, what a question would
    have asked is an error naming the flag that says it."""

    def __init__(
        self,
        interactive: bool,
        out: TextIO,
        read: Callable[[str], str] = input,
        read_secret: Callable[[str], str] = getpass.getpass,
    ) -> None:
        self.interactive, self.out = interactive, out
        self._read, self._secret = read, read_secret

    def say(self, text: str) -> None:
        print(text, file=self.out)

    def ask(self, question: str, flag: str, default: str | None = None) -> str:
        if not self.interactive:
            if default is not None:
                return default
            raise CliError(f"{flag} is needed (or run without --yes, on a terminal, to be asked)")
        shown = f" [{default}]" if default else ""
        try:
            answer = self._read(f"{question}{shown}: ").strip()
        except EOFError:
            raise CliError(f"no answer to {question!r}; give {flag}") from None
        return answer or (default or "")

    def yes(self, question: str, default: bool) -> bool:
        if not self.interactive:
            return default
        answer = self.ask(f"{question} (y/n)", "--yes", "y" if default else "n")
        return answer.lower().startswith("y")

    def again(self, step: Callable[[], T]) -> T:
        """*step* until it is answered well: on a terminal a wrong name is said and asked
        again; otherwise it is the refusal."""
        while True:
            try:
                return step()
            except CliError as exc:
                if not self.interactive:
                    raise
                self.say(f"  {exc}")

    def secret(self, question: str, flag: str) -> SecretStr:
        if not self.interactive:
            raise CliError(f"{flag} is needed (or run without --yes, on a terminal, to be asked)")
        try:
            return SecretStr(self._secret(f"{question}: "))
        except EOFError:
            raise CliError(f"no answer to {question!r}; give {flag}") from None


def near(wanted: str, names: Sequence[str]) -> str:
    """The names close to *wanted*, or all of them when none is, for a refusal to list."""
    close = difflib.get_close_matches(wanted.casefold(), [n.casefold() for n in names], n=3)
    shown = [n for n in names if n.casefold() in close] or list(names)[:12]
    return ", ".join(shown) if shown else "(none)"


def _pick(wanted: str, options: Sequence[tuple[str, str]], what: str, where: str) -> str:
    """The id of the option named *wanted* (exactly, else ignoring case), or whose id it is."""
    key = wanted.strip().removeprefix("#") if what == "channel" else wanted.strip()
    tests: list[Callable[[str, str], bool]] = [
        lambda name, ident: ident == key,
        lambda name, ident: name == key,
        lambda name, ident: name.casefold() == key.casefold(),
    ]
    for match in tests:
        found = list(dict.fromkeys(ident for name, ident in options if match(name, ident)))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise CliError(
                f"{len(found)} {what}s are named {wanted!r} {where}; name one by its id: "
                + ", ".join(found)
            )
    names = [name for name, _ in options]
    raise CliError(f"no {what} {wanted!r} {where}; near: {near(key, names)}")


@dataclass
class Plan:
    """What the file will say, gathered before anything is written."""

    discord: dict[str, Any] | None = None
    matrix: dict[str, Any] | None = None
    rooms: list[dict[str, Any]] = field(default_factory=list)
    guild: Guild | None = None
    survey: Survey | None = None
    login: MatrixLogin | None = None
    homeserver: str = ""
    token_file: Path | None = None
    token_env: str | None = None

    def document(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.discord is not None:
            data["discord"] = self.discord
        if self.matrix is not None:
            data["matrix"] = self.matrix
        if self.rooms:
            data["rooms"] = self.rooms
        return data


def _token_source(env: str | None, file: Path | None) -> dict[str, Any]:
    return {"token_env": "", "token_file": str(file)} if file else {"token_env": env}


def _discord(args: argparse.Namespace, prompts: Prompts, plan: Plan) -> None:
    from bot.platforms import discord_setup

    file: Path | None = args.discord_token_file
    env: str | None = args.discord_token_env
    if file is None and env is None:
        answer = prompts.ask(
            "Discord: the environment variable, or the file, holding the bot token",
            "--discord-token-env NAME (or --discord-token-file PATH)",
            DISCORD_TOKEN_ENV,
        )
        if "/" in answer or answer.startswith("~"):
            file = Path(answer).expanduser()
        else:
            env = answer
    if file is None and env not in os.environ:
        raise CliError(
            f"environment variable {env} is not set; put the bot token in it (Developer Portal "
            "> your application > Bot > Reset Token) or give --discord-token-file PATH"
        )
    try:
        token = read_secret(None if file else env, file, "discord")
    except ConfigError as exc:
        raise CliError(str(exc).replace("[discord] ", "Discord ", 1)) from None
    survey = asyncio.run(discord_setup.survey(token, args.discord_api_base_url))
    while not survey.guilds and prompts.interactive:
        prompts.say(
            f"The bot is in no Discord server yet. Add it with this link: {survey.invite_url}"
        )
        prompts.ask("Press Enter once it is in your server", "--guild", "")
        survey = asyncio.run(discord_setup.survey(token, args.discord_api_base_url))
    guild = _guild(args.guild, survey, prompts)
    plan.guild, plan.survey = guild, survey
    organizers = _roles(args.organizer_role, guild, prompts, "organizer", DEFAULT_ORGANIZER_ROLES)
    mentors = _roles(args.mentor_role, guild, prompts, "mentor", DEFAULT_MENTOR_ROLES)
    plan.discord = {
        "enabled": True,
        **_token_source(env, file),
        "application_id": survey.application_id,
        "guild_ids": [guild.id],
        "organizer_roles": organizers,
        "mentor_roles": mentors,
    }
    if args.discord_api_base_url:
        plan.discord["api_base_url"] = args.discord_api_base_url
    if args.discord_gateway_url:
        plan.discord["gateway_url"] = args.discord_gateway_url


def _guild(wanted: str | None, survey: Survey, prompts: Prompts) -> Guild:
    if not survey.guilds:
        raise CliError(
            "the bot is in no Discord server yet; invite it with this link, then run init "
            f"again: {survey.invite_url}"
        )
    names = [(g.name, str(g.id)) for g in survey.guilds]
    where = "among the bot's servers"
    if wanted is not None:
        ident = _pick(wanted, names, "server", where)
    elif len(survey.guilds) == 1:
        ident = names[0][1]
    else:
        listed = ", ".join(n for n, _ in names)
        if not prompts.interactive:
            raise CliError(f"the bot is in {len(names)} servers ({listed}); name one: --guild NAME")
        prompts.say(f"The bot is in these servers: {listed}")
        ident = prompts.again(
            lambda: _pick(prompts.ask("Discord server", "--guild NAME"), names, "server", where)
        )
    return next(g for g in survey.guilds if str(g.id) == ident)


def _roles(
    given: list[str], guild: Guild, prompts: Prompts, kind: str, defaults: Sequence[str]
) -> list[str]:
    present = [role for role in defaults if role in guild.roles]
    options = [(role, role) for role in guild.roles]

    def pick(names: list[str]) -> list[str]:
        return [_pick(name, options, "role", f"on {guild.name}") for name in names]

    if given:
        return pick(given)
    if not prompts.interactive:
        return present
    prompts.say(f"Roles on {guild.name}: {', '.join(guild.roles) or '(none)'}")

    def ask() -> list[str]:
        answer = prompts.ask(
            f"{kind.capitalize()} roles, comma-separated", f"--{kind}-role", ", ".join(present)
        )
        return pick([part for part in (p.strip() for p in answer.split(",")) if part])

    return prompts.again(ask)


def _matrix(args: argparse.Namespace, prompts: Prompts, plan: Plan) -> None:
    from bot.platforms import matrix_setup

    homeserver = args.matrix_homeserver or prompts.ask(
        "Matrix homeserver URL", "--matrix-homeserver URL"
    )
    homeserver = homeserver.rstrip("/")
    if not homeserver.startswith(("http://", "https://")):
        raise CliError(
            f"--matrix-homeserver {homeserver!r}: expected a URL such as https://matrix.example.org"
        )
    user = args.matrix_user or prompts.ask("Matrix user id of the bot", "--matrix-user @BOT:SERVER")
    if not (user.startswith("@") and ":" in user):
        raise CliError(
            f"--matrix-user {user!r}: expected a full Matrix id such as @convene:example.org"
        )
    if args.matrix_password_env:
        password = os.environ.get(args.matrix_password_env)
        if not password:
            raise CliError(
                f"--matrix-password-env: environment variable {args.matrix_password_env} is not set"
            )
        secret = SecretStr(password)
    else:
        secret = prompts.secret(f"Password of {user}", "--matrix-password-env NAME")
    if args.print_token_export:
        plan.token_env = MATRIX_TOKEN_ENV
    else:
        plan.token_file = (args.matrix_token_file or default_token_file()).expanduser().absolute()
        _check_token_file(plan.token_file, args.force)
    plan.homeserver = homeserver
    plan.login = asyncio.run(matrix_setup.login(homeserver, user, secret))
    plan.matrix = {
        "enabled": True,
        "homeserver": homeserver,
        "user_id": plan.login.user_id,
        "device_id": plan.login.device_id,
        **_token_source(plan.token_env, plan.token_file),
    }


def _check_token_file(path: Path, force: bool) -> None:
    for folder in path.parents:
        if (folder / ".git").exists():
            raise CliError(
                f"--matrix-token-file {path} is inside the repository at {folder}; keep tokens "
                "outside it, e.g. ~/.config/convene/matrix-token"
            )
    if path.exists() and not force:
        raise CliError(f"{path} exists; add --force to replace the token it holds")


def _room(spec: str, plan: Plan, purposes: list[str]) -> dict[str, Any]:
    name, equals, rest = spec.partition("=")
    places, colon, wanted = rest.rpartition(":")
    name = name.strip()
    if not (equals and colon and name and places.strip()):
        raise CliError(f"--room {spec!r}: expected {ROOM_FORM}")
    chosen = [p for p in (w.strip() for w in wanted.replace(" ", ",").split(",")) if p]
    for purpose in chosen:
        if purpose not in purposes:
            raise CliError(
                f"--room {name}: no purpose {purpose!r}; purposes: {', '.join(purposes)}"
            )
    room: dict[str, Any] = {"name": name}
    for platform, place in _places(places, plan, spec):
        if platform == "discord":
            assert plan.guild is not None
            channels = [(c.name, str(c.id)) for c in plan.guild.channels]
            where = f"that the bot can post in on {plan.guild.name}"
            room["discord_channel_id"] = int(_pick(place, channels, "channel", where))
        else:
            assert plan.login is not None
            rooms = [(r.name, r.id) for r in plan.login.rooms]
            rooms += [(r.alias, r.id) for r in plan.login.rooms if r.alias]
            where = f"that {plan.login.user_id} is in or invited to"
            room["matrix_room_id"] = _pick(place, rooms, "Matrix room", where)
    room["purposes"] = chosen
    return room


def _places(text: str, plan: Plan, spec: str) -> Iterator[tuple[str, str]]:
    on = [p for p, config in (("discord", plan.discord), ("matrix", plan.matrix)) if config]
    parts = [part.strip() for part in text.split("+")] if len(on) > 1 else [text.strip()]
    for part in parts:
        platform, slash, place = part.partition("/")
        if slash and platform in ("discord", "matrix"):
            if platform not in on:
                raise CliError(f"--room {spec!r}: {platform} is not being set up")
            yield platform, place
        elif len(on) == 1:
            yield on[0], part
        else:
            raise CliError(
                f"--room {spec!r}: with both platforms, say where each is: "
                "NAME=discord/CHANNEL+matrix/ROOM:PURPOSES"
            )


def _ask_rooms(plan: Plan, prompts: Prompts, purposes: list[str]) -> list[dict[str, Any]]:
    """Rooms, a few questions each, for the terminal; the answers are read as `--room` would,
    and a wrong one is asked again."""
    if plan.guild is not None:
        prompts.say(
            f"Channels on {plan.guild.name}: " + ", ".join(c.name for c in plan.guild.channels)
        )
    if plan.login is not None:
        listed = [f"{r.name}{'' if r.joined else ' (invited)'}" for r in plan.login.rooms]
        prompts.say(f"Matrix rooms of {plan.login.user_id}: " + (", ".join(listed) or "(none)"))
    prompts.say(f"Purposes: {', '.join(purposes)}. Rooms can also be added later from chat.")
    rooms: list[dict[str, Any]] = []

    def one(name: str) -> dict[str, Any]:
        places = []
        if plan.discord is not None and (
            channel := prompts.ask("  Discord channel (empty: none)", "--room", "")
        ):
            places.append(f"discord/{channel}")
        if plan.matrix is not None and (
            room := prompts.ask("  Matrix room (empty: none)", "--room", "")
        ):
            places.append(f"matrix/{room}")
        if not places:
            raise CliError("a room needs a channel or a Matrix room")
        chosen = prompts.ask("  Purposes, comma-separated", "--room", "")
        return _room(f"{name}={'+'.join(places)}:{chosen}", plan, purposes)

    while name := prompts.ask("Room name (empty to finish)", "--room", ""):
        if name in (room["name"] for room in rooms):
            prompts.say(f"  there is a room {name!r} already; give another name")
        else:
            rooms.append(prompts.again(lambda: one(name)))
    return rooms


@contextlib.contextmanager
def _exported(name: str | None, token: SecretStr | None) -> Iterator[None]:
    """The check sees the Matrix token in its variable, as it will be once the printed
    `export` line has run; the variable is put back as it was."""
    if name is None or token is None or name in os.environ:
        yield
        return
    os.environ[name] = token.get_secret_value()
    try:
        yield
    finally:
        os.environ.pop(name, None)


def _write_token(path: Path, token: SecretStr) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        os.fchmod(stream.fileno(), 0o600)
        stream.write(token.get_secret_value() + "\n")


def _text(plan: Plan) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (
        f"# Written by `convene init` on {stamp}. Every other key has its default: see\n"
        "# config.example.toml. Tokens are not here: the file names where each one is kept.\n\n"
    )
    return header + tomli_w.dumps(plan.document())


def _commit(plan: Plan, output: Path, force: bool) -> None:
    """Token file, then the settings written beside the output, checked as `check-config`
    checks, and renamed into place; a failed check removes what was written."""
    login = plan.login
    if plan.token_file is not None and login is not None:
        _write_token(plan.token_file, login.access_token)
    folder = output.absolute().parent
    try:
        with tempfile.NamedTemporaryFile(
            "w", dir=folder, prefix=f".{output.name}.", suffix=".toml", delete=False
        ) as stream:
            stream.write(_text(plan))
        draft = Path(stream.name)
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror}") from None
    try:
        with _exported(plan.token_env, login.access_token if login else None):
            checked_settings(draft)
        if output.exists() and not force:
            raise CliError(f"{output} exists; add --force to replace it")
        draft.replace(output)
    except ConfigError as exc:
        draft.unlink(missing_ok=True)
        raise CliError(f"the settings would not pass check-config: {exc}") from None
    except BaseException:
        draft.unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace, prompts: Prompts) -> int:
    output: Path = args.output
    if output.exists() and not args.force:
        raise CliError(f"{output} exists; add --force to replace it, or --output another path")
    if args.discord_token_env and args.discord_token_file:
        raise CliError("give --discord-token-env or --discord-token-file, not both")
    cogs = discover()
    purposes = sorted({purpose for cog in cogs for purpose in cog.purposes})
    discord_asked = bool(args.discord_token_env or args.discord_token_file or args.guild)
    matrix_asked = bool(args.matrix_homeserver or args.matrix_user or args.matrix_password_env)
    if not (discord_asked or matrix_asked):
        if not prompts.interactive:
            raise CliError(
                "nothing to set up: give --discord-token-env NAME (or --discord-token-file) "
                "and/or --matrix-homeserver URL --matrix-user @BOT:SERVER"
            )
        discord_asked = prompts.yes("Set up Discord?", True)
        matrix_asked = prompts.yes("Set up Matrix?", False)
    plan = Plan()
    if discord_asked:
        _discord(args, prompts, plan)
    if matrix_asked:
        _matrix(args, prompts, plan)
    try:
        if args.room or not prompts.interactive:
            plan.rooms = [_room(spec, plan, purposes) for spec in args.room]
        else:
            plan.rooms = _ask_rooms(plan, prompts, purposes)
        names = [room["name"] for room in plan.rooms]
        if repeated := sorted({n for n in names if names.count(n) > 1}):
            raise CliError(f"--room: each room needs its own name; repeated: {', '.join(repeated)}")
        notes = _intents(plan, [listens for cog in cogs for listens in cog.listens])
        _commit(plan, output, args.force)
    except BaseException:
        if plan.login is not None:
            from bot.platforms.matrix_setup import logout

            asyncio.run(logout(plan.homeserver, plan.login))
        if plan.token_file is not None and plan.login is not None:
            plan.token_file.unlink(missing_ok=True)
        raise
    _report(plan, output, prompts)
    for note in notes:
        prompts.say(note)
    return 0


# The privileged intent without which the gateway does not send what a listener sees: its key
# in [discord] and its name in the Developer Portal.
INTENTS = {
    Sees.MESSAGES: ("message_content", "Message Content"),
    Sees.JOINS: ("members_intent", "Server Members"),
}


def _intents(plan: Plan, listening: Sequence[Listens]) -> list[str]:
    """Turns on the intent a Discord room's listeners need when the Developer Portal allows it;
    else says where to allow it, since asking for it unallowed would stop the bot at start."""
    if plan.discord is None or plan.survey is None:
        return []
    allowed = {Sees.MESSAGES: plan.survey.message_content, Sees.JOINS: plan.survey.members}
    notes = []
    for listens in listening:
        rooms = [
            r["name"]
            for r in plan.rooms
            if "discord_channel_id" in r and listens.purpose in r["purposes"]
        ]
        if not rooms:
            continue
        key, intent = INTENTS[listens.sees]
        if allowed[listens.sees]:
            plan.discord[key] = True
        else:
            notes.append(
                f"Note: {listens.feature} in {', '.join(rooms)} needs the {intent} intent on "
                f"Discord: allow it in the Developer Portal > Bot, then set [discord] {key} = true"
            )
    return notes


def _report(plan: Plan, output: Path, prompts: Prompts) -> None:
    rooms = f"{len(plan.rooms)} room{'' if len(plan.rooms) == 1 else 's'}"
    prompts.say(f"Wrote {output} ({rooms}); `convene check-config {output}` passes.")
    if plan.token_file is not None:
        prompts.say(f"The Matrix access token is in {plan.token_file} (readable by you alone).")
    if plan.token_env is not None and plan.login is not None:
        value = shlex.quote(plan.login.access_token.get_secret_value())
        prompts.say(f"Set the Matrix token before `convene run`:\nexport {plan.token_env}={value}")
    if plan.survey is not None and plan.guild is not None:
        prompts.say(
            f"Discord: {plan.guild.name}. To add the bot to another server: "
            f"{plan.survey.invite_url}"
        )
    prompts.say(f"Start the bot: convene run --config {output}")


def main(args: argparse.Namespace) -> int:
    interactive = not args.yes and sys.stdin.isatty()
    return run(args, Prompts(interactive, sys.stdout))
