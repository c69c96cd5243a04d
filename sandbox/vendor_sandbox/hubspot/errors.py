"""HubSpot's error bodies: ``{"status":"error","message","correlationId","category"}``, batch errors, 429 and 5xx."""

from __future__ import annotations

import uuid
from typing import Any

from vendor_sandbox.core.vendor import VendorError


def error(status: int, category: str, message: str, **extra: Any) -> VendorError:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    return VendorError(status, {**body, **extra})


def validation(message: str = "Invalid input (details will vary based on the error)") -> VendorError:
    return error(400, "VALIDATION_ERROR", message)


def not_found(object_id: str) -> VendorError:
    # the double space is HubSpot's [issue:HubSpot/hubspot-api-nodejs#669]
    return error(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.",
                 context={"id": [object_id]})


def unauthenticated() -> VendorError:
    """HubSpot's 401 for a request without credentials."""
    return error(
        401, "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
        "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    )


def missing_scopes(required: list[str]) -> VendorError:
    """HubSpot's 403 for a token without the call's scopes [CONTRACTS §6; the body as HubSpot answers it,
    e.g. community.hubspot.com threads quoting ``requiredGranularScopes``]."""
    return error(
        403, "MISSING_SCOPES",
        "This app hasn't been granted all required scopes to make this call. Read more about required "
        "scopes here: https://developers.hubspot.com/scopes.",
        errors=[{"message": "One or more of the following scopes are required.",
                 "context": {"requiredGranularScopes": required}}],
        links={"scopes": "https://developers.hubspot.com/scopes"},
    )


def batch_error(exc: VendorError) -> dict[str, Any]:
    """One entry of ``errors[]`` in the SDK's ``StandardError`` shape (all its required fields)."""
    b = exc.body
    return {"status": "error", "category": b["category"], "message": b["message"],
            "context": b.get("context", {}), "errors": [], "links": {}}


def batch_not_found(singular: str, ids: list[str]) -> dict[str, Any]:
    """The one ``errors[]`` entry of a batch read that missed some ids."""
    return {"status": "error", "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {singular.upper()} objects, they may be deleted or not exist. "
                       "Check that ids are valid.",
            "context": {"ids": ids}, "errors": [], "links": {}}


def rate_limited(policy: str, headers: dict[str, str]) -> VendorError:
    """HubSpot's 429 for the rate-limit ``policy`` (``TEN_SECONDLY_ROLLING`` or ``SECONDLY``)."""
    body = {
        "status": "error", "message": f"You have reached your {policy.lower()} limit.", "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()), "policyName": policy, "requestId": str(uuid.uuid4()),
    }
    return VendorError(429, body, headers)


def server_error(status: int) -> VendorError:
    message = "internal error" if status == 500 else "Service Unavailable"
    category = "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE"
    return VendorError(status, {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                                "category": category})
