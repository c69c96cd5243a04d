"""The few errors flows act on, whichever vendor raised them."""

from __future__ import annotations


class IntegrationError(Exception):
    """A vendor call failed; ``vendor`` and ``status`` say where, the message says what."""

    def __init__(self, vendor: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{vendor}: {message}")
        self.vendor = vendor
        self.status = status
        self.detail = message


class NotFound(IntegrationError):
    """The object does not exist (or is archived)."""


class Conflict(IntegrationError):
    """The object already exists; ``existing_id`` names it when the vendor says which."""

    def __init__(self, vendor: str, message: str, *, existing_id: str | None = None, status: int | None = 409):
        super().__init__(vendor, message, status=status)
        self.existing_id = existing_id


class RateLimited(IntegrationError):
    """The vendor refused for rate; ``retry_after`` (seconds) when it said how long to wait."""

    def __init__(self, vendor: str, message: str, *, retry_after: float | None = None, status: int | None = 429):
        super().__init__(vendor, message, status=status)
        self.retry_after = retry_after


class Transient(IntegrationError):
    """A 5xx, a timeout or a dropped connection: worth retrying when the call is idempotent."""


class InvalidInput(IntegrationError):
    """The request was refused as invalid: fix the input, retrying will not help."""


class MissingScope(IntegrationError):
    """The app's token lacks a scope the call needs (``needed``: the vendor's names for it): an
    administrator adds it to the app and installs it again; retrying will not help."""

    def __init__(self, vendor: str, message: str, *, needed: tuple[str, ...] = (), status: int | None = 403):
        super().__init__(vendor, message, status=status)
        self.needed = needed


class NotAuthorized(IntegrationError):
    """The credential was refused (401) or may not do this (403): fix the credential or its user's
    permissions; retrying will not help."""


RETRYABLE = (RateLimited, Transient)
