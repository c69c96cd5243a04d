"""Slack's error bodies: HTTP 200 ``{"ok": false, "error": code}`` for a failed method, plus the 429 and the 5xx."""

from __future__ import annotations

from typing import Any

from vendor_sandbox.core.vendor import VendorError


def slack_error(code: str, status: int = 200, **extra: Any) -> VendorError:
    """The Web API's failure: HTTP 200 (almost always) and ``{"ok": false, "error": code}``."""
    return VendorError(status, {"ok": False, "error": code, **extra})


def unknown_method(method: str) -> VendorError:
    return slack_error("unknown_method", 404, req_method=method)


def rate_limited_error(retry_after: str) -> VendorError:
    """Slack's 429 [doc:docs.slack.dev/apis/web-api/rate-limits]."""
    return VendorError(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry_after})


def server_error(status: int) -> VendorError:
    """Slack's edge answers 5xx with a JSON error body (the SDK keeps status and body)."""
    return slack_error("internal_error" if status == 500 else "service_unavailable", status)
