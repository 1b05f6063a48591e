"""Errors a user can fix themselves, turned into short replies rather than tracebacks."""


class UserError(Exception):
    """Raised by handlers and the parser; the message is shown to the caller as it is.

    The dispatcher adds the command's usage and example when `show_usage` is true, so a handler
    only says what was wrong.
    """

    def __init__(self, message: str, *, show_usage: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.show_usage = show_usage
