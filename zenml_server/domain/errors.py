"""Domain errors: raised by services and storage, mapped to responses only in http/.

Each names a situation, not a status code; ``http/errors.py`` decides how a client sees it.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the rules can raise on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The thing asked for does not exist, or the caller may not know it exists."""


class AlreadyExists(DomainError):
    """A unique name or key is already taken."""


class InvalidCredentials(DomainError):
    """Credentials are missing, malformed, unknown, expired or revoked (never says which)."""


class NotPermitted(DomainError):
    """The caller is known and may see the thing, but this credential may not do this to it."""


class CredentialLocked(InvalidCredentials):
    """A genuine device token whose device is locked: its holder is told so (not only
    "not authenticated"), since saying it reveals nothing the holder of the token lacks."""


class InvalidInput(DomainError):
    """A value is of the wrong shape or out of range."""


class RateLimited(DomainError):
    """Too many attempts; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StorageUnavailable(DomainError):
    """The database does not answer; the request may succeed later."""


class ProviderUnavailable(DomainError):
    """An OpenID provider did not answer, or answered with something unusable."""
