"""`help`, generated from the specs so it can never disagree with what the bot accepts."""

from __future__ import annotations

from typing import Annotated

from bot.core.context import Ctx, Role
from bot.core.errors import UserError
from bot.core.markup import code, escape
from bot.core.reply import Reply
from bot.core.router import Router
from bot.core.spec import CommandSpec, Handler, Opt, command

_WHO = {
    Role.CONTRIBUTOR: "everyone",
    Role.MENTOR: "mentors and organizers",
    Role.ORGANIZER: "organizers",
}


LIST_USAGE = 60


def _line(ctx: Ctx, spec: CommandSpec, router: Router) -> str:
    """One line of the list: short enough to scan; `help <command>` gives the whole form."""
    if ctx.caller.style == "slash":
        shown = ctx.cmd(spec.name)
    else:
        shown = spec.usage(ctx.caller.style, router.prefix)
        if len(shown) > LIST_USAGE:
            required = " ".join(o.placeholder for o in spec.options if o.required)
            shown = f"{ctx.cmd(spec.name)} {required} […]".replace("  ", " ")
    return f"{code(shown)} — {escape(spec.help)}"


def _detail(ctx: Ctx, spec: CommandSpec, router: Router) -> Reply:
    lines = [escape(spec.help)]
    for option in spec.options:
        choices = f" ({', '.join(option.choices)})" if option.choices else ""
        optional = "" if option.required else ", optional"
        lines.append(f"- {code(option.name)}{optional}: {escape(option.help)}{choices}")
    lines.append(f"Example: {code(spec.example_text(ctx.caller.style, router.prefix))}")
    lines.append(f"Who can use it: {_WHO[spec.role]}.")
    if spec.limit is not None:
        lines.append(f"Each person at most {spec.limit.shown}.")
    return Reply("\n".join(lines), title=spec.usage(ctx.caller.style, router.prefix))


def help_command(router: Router) -> Handler:
    @command(
        "help",
        help="List the commands you can use, or explain one",
        example="help link",
    )
    async def help_(
        ctx: Ctx,
        command: Annotated[str | None, Opt("a command or group, e.g. 'link' or 'event'")] = None,
    ) -> Reply:
        allowed = router.allowed(ctx.role)
        if command is None:
            lines = [_line(ctx, spec, router) for spec in allowed]
            lines.append(f"Type {code(ctx.cmd('help <command>'))} for details and an example.")
            return Reply(
                "\n".join(lines), title=f"{router.runtime.env.name} — commands you can use here"
            )
        wanted = " ".join(command.lower().removeprefix(router.prefix).lstrip("/").split())
        spec = router.get(wanted)
        if spec is not None:
            return _detail(ctx, spec, router)
        group = [s for s in allowed if s.name.startswith(wanted + " ")]
        if group:
            lines = [_line(ctx, s, router) for s in group]
            return Reply("\n".join(lines), title=f"{ctx.cmd(wanted)} commands")
        names = ", ".join(code(ctx.cmd(s.name)) for s in allowed[:5])
        raise UserError(f"There is no command {code(wanted)}. Some you can use: {names}.")

    return help_
