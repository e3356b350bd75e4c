"""The one exception the CLI turns into an ``Error: ...`` line and an exit code."""

from __future__ import annotations


class CLIError(Exception):
    """A failure the user should read as one line; ``exit_code`` is what the process returns."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ApiError(CLIError):
    """The server answered with an error status; ``status`` and ``code`` say which."""

    def __init__(self, message: str, *, status: int, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class NotConnected(CLIError):
    """No server is configured: nothing stored and nothing in the environment."""
