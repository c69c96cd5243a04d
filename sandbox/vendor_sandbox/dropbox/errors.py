"""Dropbox's error answers [doc: https://www.dropbox.com/developers/documentation/http/documentation#error-handling].

- 409 (endpoint-specific error): ``{"error_summary": "path/not_found/..", "error": {".tag": "path", "path":
  {".tag": "not_found"}}}``: the route's error union as JSON, its tags joined by ``/`` in the summary.
- 400 (bad input): plain text, ``Error in call to API function "files/upload": ...``.
- 401 (bad or expired token): ``{"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}}``.
- 429 (too many requests): ``{"error_summary": "too_many_requests/..", "error": {"reason": {".tag":
  "too_many_requests"}, "retry_after": N}}`` with a ``Retry-After`` header.
- 5xx: plain text.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import PlainTextResponse, Response

from vendor_sandbox.core.vendor import VendorError


class DropboxError(VendorError):
    """A VendorError whose body may be plain text (400, 5xx) instead of JSON."""

    def response(self) -> Response:
        if isinstance(self.body, str):
            return PlainTextResponse(self.body, status_code=self.status, headers=self.headers)
        return super().response()


def summary(error: Any) -> str:
    """``error_summary``: the tags of the error union, outermost first, then ``/..``."""  # e.g. path/conflict/file/..
    tags: list[str] = []
    while isinstance(error, dict) and ".tag" in error:
        tag = error[".tag"]
        tags.append(tag)
        error = error.get(tag, error.get("reason"))  # a struct variant (UploadWriteFailed) is inline: its reason
    return "/".join(tags) + "/.."


def route_error(error: dict[str, Any]) -> DropboxError:
    """409: the route's own error union."""
    return DropboxError(409, {"error_summary": summary(error), "error": error})


def path_error(tag: str, *, outer: str = "path", detail: dict[str, Any] | None = None) -> DropboxError:
    """A ``LookupError`` / ``WriteError`` under the route's ``path`` variant, e.g. path/not_found."""
    inner: dict[str, Any] = {".tag": tag}
    if detail is not None:
        inner[tag] = detail
    return route_error({".tag": outer, outer: inner})


def bad_input(route: str, message: str) -> DropboxError:
    return DropboxError(400, f'Error in call to API function "{route}": {message}')


def invalid_token() -> DropboxError:
    error = {".tag": "invalid_access_token"}
    return DropboxError(401, {"error_summary": summary(error), "error": error})


def too_many_requests(retry_after: int) -> DropboxError:
    return DropboxError(429, {"error_summary": "too_many_requests/..",
                              "error": {"reason": {".tag": "too_many_requests"}, "retry_after": retry_after}},
                        {"Retry-After": str(retry_after)})


def server_error(status: int) -> DropboxError:
    return DropboxError(status, "Internal Server Error" if status == 500 else "Service Unavailable")
