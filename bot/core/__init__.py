"""The platform-free command model every feature is written against."""

from bot.core.context import Caller, Ctx, Role
from bot.core.errors import UserError
from bot.core.reply import Button, Reply
from bot.core.spec import Opt, command

__all__ = ["Button", "Caller", "Ctx", "Opt", "Reply", "Role", "UserError", "command"]
