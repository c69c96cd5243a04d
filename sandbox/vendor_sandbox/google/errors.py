"""Google's error bodies: ``{"error": {code, message, errors[], status}}``, and the functions that build them.

Forms (a one-platform API) drops ``errors[]``; also the 401, the OAuth endpoint's errors, the 429 and the 5xx
(CONTRACTS.md §3).
"""

from __future__ import annotations

from typing import Any

from vendor_sandbox.core.vendor import VendorError

_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "NOT_FOUND",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def error_body(
    code: int,
    message: str,
    reason: str | None = None,
    *,
    domain: str = "global",
    location: str | None = None,
    location_type: str | None = None,
    status: str | None = None,
    legacy_errors: bool = True,
) -> dict[str, Any]:
    """Google's JSON error: ``{"error": {code, message, errors: [...], status}}``.

    ``legacy_errors=False`` drops ``errors[]``, as the newer one-platform APIs (Forms) answer.
    """
    err: dict[str, Any] = {"code": code, "message": message}
    if legacy_errors:
        item: dict[str, Any] = {"message": message, "domain": domain, "reason": reason or "invalid"}
        if location:
            item["location"] = location
            item["locationType"] = location_type or "parameter"
        err["errors"] = [item]
    err["status"] = status or _STATUS.get(code, "UNKNOWN")
    return {"error": err}


def gerror(code: int, message: str, reason: str | None = None, **kw: Any) -> VendorError:
    headers = kw.pop("headers", None)
    return VendorError(code, error_body(code, message, reason, **kw), headers)


def bad_request(message: str, location: str | None = None, reason: str = "invalid") -> VendorError:
    return gerror(400, message, reason, location=location)


def forms_error(code: int, message: str, status: str | None = None) -> VendorError:
    """Forms is a one-platform API: its errors carry ``code``/``message``/``status`` and no ``errors[]``."""
    return VendorError(code, error_body(code, message, status=status, legacy_errors=False))


def forms_invalid(message: str) -> VendorError:
    return forms_error(400, message, "INVALID_ARGUMENT")


def file_not_found(file_id: str) -> VendorError:
    return gerror(404, f"File not found: {file_id}.", "notFound", location="fileId")


def event_not_found() -> VendorError:
    return gerror(404, "Not Found", "notFound")


def login_required() -> VendorError:
    """Google's 401 for a request without an OAuth bearer token."""
    msg = ("Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
           "or other valid authentication credential. See "
           "https://developers.google.com/identity/sign-in/web/devconsole-project.")
    body = error_body(401, msg, "required", location="Authorization", location_type="header",
                      status="UNAUTHENTICATED")
    body["error"]["errors"][0]["message"] = "Login Required."
    return VendorError(401, body, {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})


def insufficient_scopes() -> VendorError:
    """Google's 403 for a token without any scope the method accepts
    [doc: developers.google.com/drive/api/guides/handle-errors; cloud.google.com/apis/design/errors]."""
    body = error_body(403, "Request had insufficient authentication scopes.", "insufficientPermissions",
                      status="PERMISSION_DENIED")
    body["error"]["errors"][0]["message"] = "Insufficient Permission"
    body["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                 "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com"}]
    return VendorError(403, body)


def oauth_error(error: str, description: str) -> VendorError:
    """The OAuth token endpoint's 400: ``{"error", "error_description"}``."""
    return VendorError(400, {"error": error, "error_description": description})


def refused(message: str) -> VendorError:
    """A simulated person's request the sandbox refuses (its own ``{"detail"}`` shape, not Google's)."""
    return VendorError(400, {"detail": message})


def rate_limited(retry_after: str) -> VendorError:
    body = error_body(429, "Rate Limit Exceeded", "rateLimitExceeded", domain="usageLimits",
                      status="RESOURCE_EXHAUSTED")
    return VendorError(429, body, {"Retry-After": retry_after})


def server_error(status: int) -> VendorError:
    if status == 503:
        body = error_body(503, "The service is currently unavailable.", "backendError", status="UNAVAILABLE")
    else:
        body = error_body(500, "Internal error encountered.", "backendError", status="INTERNAL")
    return VendorError(status, body)
