"""Dropbox Sign's error bodies: ``{"error": {"error_msg", "error_name"[, "error_path"]}}`` (hellosign-openapi
``ErrorResponse``; the messages of its examples ``Error400Response.json`` … ``Error429Response.json``)."""

from __future__ import annotations

from vendor_sandbox.core.vendor import VendorError


def api_error(status: int, name: str, msg: str, path: str | None = None, headers: dict[str, str] | None = None
              ) -> VendorError:
    error = {"error_msg": msg, "error_name": name}
    if path:
        error["error_path"] = path
    return VendorError(status, {"error": error}, headers)


def bad_request(msg: str, path: str | None = None) -> VendorError:
    return api_error(400, "bad_request", msg, path)


def unauthorized() -> VendorError:
    return api_error(401, "unauthorized", "Unauthorized user. No credentials supplied.")


def not_found() -> VendorError:
    return api_error(404, "not_found", "Not found.")


def deleted() -> VendorError:
    """A cancelled request: "they will receive a HTTP 410 status code" (signatureRequestCancel)."""
    return api_error(410, "deleted", "This resource has been deleted.")


def conflict(msg: str = "An identical request is already being processed.") -> VendorError:
    return api_error(409, "conflict", msg)


def rate_limited(headers: dict[str, str]) -> VendorError:
    return api_error(429, "exceeded_rate", "Too many requests.", headers=headers)


def server_error(status: int) -> VendorError:
    return api_error(status, "unknown" if status == 500 else "maintenance",
                     "An unknown error occurred." if status == 500 else "Service temporarily unavailable.")
