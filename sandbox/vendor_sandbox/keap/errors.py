"""Keap's error bodies and throttle answers.

Two layers answer a Keap REST call: Keap's API gateway (authentication, the throttle and the daily
quota) and the REST service behind it (validation, not found).

- The REST service answers ``{"message": "..."}`` for a refused request (400, 403, 404). The published
  OpenAPI document types every error as Spring's ``ModelAndView`` and gives no example, so the body is
  the one Keap's community answers quote; [doc: https://developer.infusionsoft.com/docs/rest/ (v1
  reference), openapi/_original/keap-v1-openapi.json responses 400/401/403/404].
- The gateway answers a throttled request 429 with
  ``{"code": "429", "message": "Quota Exceeded", "status": "Request Throttled", "details": null}``
  [doc: https://community.keap.com/t/api-error-quota-exceeded-request-throttled/89944] and an unknown
  key 401 "Invalid Access Token" [doc: https://integration.keap.com/t/api-authentication/91017]; the
  401 is given the same gateway envelope (its exact body is not published).
"""

from __future__ import annotations

from typing import Any

from vendor_sandbox.core.vendor import VendorError


def message(status: int, text: str) -> VendorError:
    """The REST service's refusal: ``{"message": text}``."""
    return VendorError(status, {"message": text})


def bad_request(text: str) -> VendorError:
    return message(400, text)


def not_found(text: str) -> VendorError:
    return message(404, text)


def gateway(status: int, text: str, state: str, headers: dict[str, str] | None = None) -> VendorError:
    """The API gateway's envelope (authentication, throttle, quota)."""
    body: dict[str, Any] = {"code": str(status), "message": text, "status": state, "details": None}
    return VendorError(status, body, headers)


def invalid_key() -> VendorError:
    return gateway(401, "Invalid Access Token", "Unauthorized")


def throttled(headers: dict[str, str]) -> VendorError:
    """429 for the per-second spike arrest or the per-minute throttle (the headers say which)."""
    return gateway(429, "Quota Exceeded", "Request Throttled", headers)


def server_error(status: int) -> VendorError:
    return message(status, "Internal Server Error" if status == 500 else "Service Unavailable")
