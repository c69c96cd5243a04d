"""Zoom's error bodies: ``{"code", "message"}`` for the API, ``{"reason", "error"}`` for OAuth, the 429 and the 5xx.

Validation failures add ``errors[]`` with code 300 (CONTRACTS.md §5).
"""

from __future__ import annotations

from typing import Any

from vendor_sandbox.core.vendor import VendorError

RATE_LIMITED_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."


def api_error(status: int, code: int, message: str, errors: list[dict] | None = None) -> VendorError:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return VendorError(status, body)


def validation(field: str, message: str) -> VendorError:
    return api_error(400, 300, "Validation Failed.", [{"field": field, "message": message}])


def invalid_json() -> VendorError:
    return api_error(400, 300, "Request Body should be a valid JSON object.")


def oauth_error(status: int, error: str, reason: str) -> VendorError:
    return VendorError(status, {"reason": reason, "error": error})


def invalid_token() -> VendorError:
    """Zoom's 401 for a missing, unknown or expired bearer token."""
    return api_error(401, 124, "Invalid access token.")


def missing_scopes(accepted: tuple[str, ...]) -> VendorError:
    """Zoom's answer to a token without the endpoint's scope: code 4711, the scopes listed
    [doc: devforum.zoom.us/t/108207 "Invalid access token, does not contain scopes:[…]"]."""
    return api_error(400, 4711, f"Invalid access token, does not contain scopes:[{', '.join(accepted)}].")


def rate_limited(headers: dict[str, str]) -> VendorError:
    """Zoom's 429; ``headers`` name the category, its limit and Retry-After."""
    return VendorError(429, {"code": 429, "message": RATE_LIMITED_MESSAGE}, headers)


def server_error(status: int) -> VendorError:
    return api_error(status, status, "Internal Error." if status == 500 else "Service Unavailable.")
