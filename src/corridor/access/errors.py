"""Errors of the access layer: user errors (CorridorError), so the CLI exits 2 and the API
answers with a problem document."""

from __future__ import annotations

from corridor.errors import CorridorError


class AuthenticationError(CorridorError):
    """No credentials, or credentials that do not identify an active account (HTTP 401)."""


class PermissionDenied(CorridorError):
    """The account may not do this; the message names what is not allowed (HTTP 403)."""


class RateLimited(CorridorError):
    """Too many failed logins for this account or address (HTTP 429)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotFound(CorridorError):
    """An account, token, agreement or place that does not exist (HTTP 404)."""
