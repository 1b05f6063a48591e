"""Errors a user can fix themselves, turned into short replies rather than tracebacks."""

from bot.core.markup import escape


class UserError(Exception):
    """Raised by handlers and the parser; the message is shown to the caller as it is.

    The dispatcher adds the command's usage and example when `show_usage` is true, so a handler
    only says what was wrong. A message is markup, and quotes input with `markup.quoted`;
    `plain` errors (shared with the CLI, which prints them as they are) quote input as typed,
    so `shown()` escapes them whole before they reach a chat.
    """

    plain = False

    def __init__(
        self, message: str, *, show_usage: bool = False, plain: bool | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.show_usage = show_usage
        if plain is not None:
            self.plain = plain

    def shown(self) -> str:
        """The message as markup for a chat."""
        return escape(self.message) if self.plain else self.message
