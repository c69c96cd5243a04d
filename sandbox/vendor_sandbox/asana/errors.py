"""Asana's error bodies: ``{"errors": [{"message", "help"}]}``, the 401, the 429 and the 5xx (CONTRACTS.md §2)."""

from __future__ import annotations

from typing import Any

from vendor_sandbox.core.vendor import VendorError

HELP = (
    "For more information on API status codes and how to handle them, "
    "read the docs on errors: https://developers.asana.com/docs/errors"
)
RATE_LIMIT_MESSAGE = (
    "You've made too many requests and hit a rate limit. Please retry after the given amount of time."
)
# Asana prints a generated phrase on 500s for support to find the incident [spec Error.phrase].
_PHRASE_WORDS = (("6", "sad", "squid", "snuggle", "softly"), ("3", "brave", "otters", "juggle", "quietly"),
                 ("9", "tiny", "llamas", "whistle", "boldly"))


def asana_error(status: int, message: str, headers: dict[str, str] | None = None) -> VendorError:
    return VendorError(status, {"errors": [{"message": message, "help": HELP}]}, headers)


def missing(field: str) -> VendorError:
    return asana_error(400, f"{field}: Missing input")


def unknown_object(gid: str) -> VendorError:
    return asana_error(404, f"Unknown object: {gid}")


def not_recognized(field: str, gid: Any) -> VendorError:
    return asana_error(400, f"{field}: Not a recognized ID: {gid}")


def not_authorized() -> VendorError:
    """Asana's 401 for a request without a bearer token (no ``help`` in this one)."""
    return VendorError(401, {"errors": [{"message": "Not Authorized"}]})


def rate_limited(retry_after: str) -> VendorError:
    return VendorError(429, {"errors": [{"message": RATE_LIMIT_MESSAGE}]}, {"Retry-After": retry_after})


def server_error(status: int, count: int) -> VendorError:
    """A 500 or 503; ``count`` (500s answered so far) picks the 500's phrase."""
    error: dict[str, str] = {"message": "Server Error" if status == 500 else "Service Unavailable", "help": HELP}
    if status == 500:  # the phrase is on 500s only
        error["phrase"] = " ".join(_PHRASE_WORDS[count % len(_PHRASE_WORDS)])
    return VendorError(status, {"errors": [error]})
