"""`doctor` in chat: the same findings as `convene doctor`, from inside the running bot."""

from __future__ import annotations

from bot.core import Ctx, Reply, Role, command, markup
from bot.core.diagnose import Doctors, Status, report, worst
from bot.core.spec import Handler
from bot.doctor import store_in_session


def doctor_command(doctors: Doctors) -> Handler:
    @command(
        "doctor",
        help="Check the bot's setup: permissions, intents, store, web, clock (organizers)",
        role=Role.ORGANIZER,
        private=True,
    )
    async def doctor(ctx: Ctx) -> Reply:
        found = await store_in_session(ctx.session, ctx.now())
        found += await doctors.examine()
        lines = [markup.escape(line) for line in report(found)]
        title = "Doctor: all good" if worst(found) is Status.OK else "Doctor"
        return Reply("\n".join(lines), title=title, private=True)

    return doctor
