"""Keap emulation: the REST API v1 calls the SOP makes (contacts, tags, tag applications), with Keap's
throttle and daily quota and their headers.

Thin routes: authenticate and count the call (``gate``), parse the request as Keap documents it, call
``KeapBackend``, answer in Keap's shape. Paths, methods and fields follow Keap's published v1 OpenAPI
document; ``tests/integrations/keap_openapi.json`` keeps the part used and sandbox/tests checks these
routes against it.

Limits [doc: https://developer.infusionsoft.com/api-token-quota-and-usage-measurements/ and
https://developer.infusionsoft.com/faqs/how-does-throttling-work/]: a Service Account Key or Personal
Access Token (``X-Keap-API-Key``) has 10 queries / s, 240 / minute and 30,000 / day; an OAuth2 access
token (``Authorization: Bearer``) 1,500 / minute and 150,000 / day, with a 25 / s spike arrest. Every
answer carries the quota and throttle headers of that page (``x-keap-product-quota-*``,
``x-keap-product-throttle-*``; the spike arrest returns no metrics). Keap's daily quota resets at 00:00
UTC; the sandbox keeps a sliding day instead (its windows shrink with ``time_scale``). Keap sends no
``Retry-After`` with its 429 and neither does the sandbox.
"""

from __future__ import annotations

import html as html_lib
import json
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from vendor_sandbox.core.limits import Rule, Verdict
from vendor_sandbox.core.vendor import SandboxVendor, atomic, html_table

from . import errors
from .backend import KeapBackend, page

API = "/crm/rest/v1"


@dataclass(frozen=True)
class Plan:
    """The documented limits of one kind of credential."""

    spike: Rule
    throttle: Rule
    quota: Rule


PLANS = {
    "key": Plan(spike=Rule(10, 1.0, "spike"), throttle=Rule(240, 60.0, "minute"), quota=Rule(30_000, 86_400.0, "day")),
    "oauth": Plan(spike=Rule(25, 1.0, "spike"), throttle=Rule(1_500, 60.0, "minute"),
                  quota=Rule(150_000, 86_400.0, "day")),
}


class Unsubscribe(BaseModel):
    status: str = "Manual"


class Quota(BaseModel):
    daily: int


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise errors.bad_request("Input could not be converted to a valid request")
    try:
        return json.loads(raw)
    except ValueError:
        raise errors.bad_request("Input could not be converted to a valid request") from None


def _with_next(request: Request, items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    """``count``, ``next`` and ``previous`` as Keap's list answers carry them: links to the same query
    at the next and previous offsets (``next`` is absent once the last item was served)."""
    base = str(request.url).split("?", 1)[0]
    query = {k: v for k, v in request.query_params.items() if k not in ("limit", "offset")}
    out: dict[str, Any] = {"count": total}
    if offset + limit < total:
        out["next"] = f"{base}?{urlencode({**query, 'limit': limit, 'offset': offset + limit})}"
    if offset > 0:
        out["previous"] = f"{base}?{urlencode({**query, 'limit': limit, 'offset': max(0, offset - limit)})}"
    return out


def _partial(contact: dict[str, Any]) -> dict[str, Any]:
    """``RestPartialContact``: what a list answer shows of a contact (with its email status)."""
    keys = ("id", "given_name", "family_name", "email_addresses", "phone_numbers", "email_status", "email_opted_in",
            "date_created", "last_updated", "source_type", "contact_type", "lead_source_id", "owner_id")
    return {k: contact[k] for k in keys if k in contact}


def _full(contact: dict[str, Any], tag_ids: list[int]) -> dict[str, Any]:
    """``FullContact``: the create/update answer (no email status; ``opt_in_reason`` and ``tag_ids``)."""
    keys = ("id", "given_name", "family_name", "email_addresses", "phone_numbers", "source_type", "contact_type",
            "lead_source_id", "owner_id", "opt_in_reason", "date_created", "last_updated")
    return {**{k: contact[k] for k in keys if contact.get(k) is not None}, "tag_ids": tag_ids}


class KeapVendor(SandboxVendor):
    name = "keap"
    prefix = "/keap"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.backend = KeapBackend(self.db, ctx)

    @classmethod
    def sdk_urls(cls, root: str) -> dict[str, str]:
        return {"keap": root + "/keap" + API}

    def seed(self, team: list[dict[str, str]]) -> None:
        self.backend.seed(team)

    # ---- the gateway: credentials, spike arrest, throttle, quota ---------------------------------

    def _credential(self, request: Request) -> tuple[str, str]:
        key = request.headers.get("x-keap-api-key", "").strip()
        if key:
            return "key", key
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and auth[7:].strip():
            return "oauth", auth[7:].strip()
        raise errors.invalid_key()

    def _headers(self, quota: Verdict, throttle: Verdict) -> dict[str, str]:
        midnight = (self.ctx.now() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        return {
            "x-keap-product-quota-limit": str(quota.limit),
            "x-keap-product-quota-time-unit": "day",
            "x-keap-product-quota-interval": "1",
            "x-keap-product-quota-available": str(quota.remaining),
            "x-keap-product-quota-used": str(quota.limit - quota.remaining),
            "x-keap-product-quota-expiry-time": str(int(midnight.astimezone(UTC).timestamp() * 1000)),
            "x-keap-product-throttle-limit": str(throttle.limit),
            "x-keap-product-throttle-time-unit": "minute",
            "x-keap-product-throttle-interval": "1",
            "x-keap-product-throttle-available": str(throttle.remaining),
            "x-keap-product-throttle-used": str(throttle.limit - throttle.remaining),
        }

    async def gate(self, request: Request, response: Response) -> None:
        """Every API call: a credential (401 without), then the day's quota, the minute's throttle and
        the spike arrest, in that order; their headers on the answer, 429 when one is spent."""
        kind, credential = self._credential(request)
        plan, limiter = PLANS[kind], self.ctx.limiter
        daily = Rule(self.backend.daily_quota(plan.quota.limit), plan.quota.window, "day")
        who = f"keap:{kind}:{credential[:24]}"
        quota = limiter.check(f"{who}:day", daily)
        if not quota.allowed:
            full = Verdict(True, plan.throttle.limit, plan.throttle.limit, plan.throttle.window, 0.0)
            raise errors.throttled(self._headers(quota, full))
        throttle = limiter.check(f"{who}:minute", plan.throttle)
        if not throttle.allowed:
            raise errors.throttled(self._headers(quota, throttle))
        if not limiter.check(f"{who}:second", plan.spike).allowed:
            raise errors.throttled(self._headers(quota, throttle))  # the spike arrest returns no metrics
        request.state.bucket = (f"{who}:minute", plan.throttle.limit, plan.throttle.window)
        response.headers.update(self._headers(quota, throttle))

    # ---- API --------------------------------------------------------------------------------------

    def router(self) -> APIRouter:
        r = APIRouter(prefix=API, dependencies=[Depends(self.gate)])
        b = atomic(self.backend, self.db)

        @r.get("/contacts")
        def list_contacts(request: Request) -> dict[str, Any]:
            q = request.query_params
            found = b.find_contacts(email=q.get("email"), given_name=q.get("given_name"),
                                    family_name=q.get("family_name"))
            items, limit, offset = page(found, q.get("limit"), q.get("offset"))
            return {"contacts": [_partial(c) for c in items], **_with_next(request, items, len(found), limit, offset)}

        @r.post("/contacts", status_code=201)
        async def create_contact(request: Request) -> dict[str, Any]:
            contact = b.create_contact(await _json(request))
            return _full(contact, [])

        @r.put("/contacts")
        async def create_or_update_contact(request: Request) -> dict[str, Any]:
            contact, _created = b.upsert_contact(await _json(request))
            return _full(contact, b.tag_ids(contact["id"]))

        @r.get("/contacts/{contact_id}/tags")
        def contact_tags(contact_id: int, request: Request) -> dict[str, Any]:
            applied = b.contact_tags(contact_id)
            items, limit, offset = page(applied, request.query_params.get("limit"), request.query_params.get("offset"))
            return {"tags": items, **_with_next(request, items, len(applied), limit, offset)}

        @r.get("/tags")
        def list_tags(request: Request) -> dict[str, Any]:
            found = b.tags(request.query_params.get("name"))
            items, limit, offset = page(found, request.query_params.get("limit"), request.query_params.get("offset"))
            return {"tags": items, **_with_next(request, items, len(found), limit, offset)}

        @r.post("/tags")
        async def create_tag(request: Request) -> dict[str, Any]:
            return b.create_tag(await _json(request))

        @r.post("/tags/{tag_id}/contacts")
        async def apply_tag(tag_id: int, request: Request) -> dict[str, str]:
            body = await _json(request)
            ids = body.get("ids") if isinstance(body, dict) else None
            if not isinstance(ids, list) or not ids:
                raise errors.bad_request("ids is required")
            return b.apply_tag(tag_id, ids)

        return r

    # ---- limits and faults (the gate above does the counting) ------------------------------------

    def rate_rule(self, request: Request) -> tuple[str, Rule] | None:
        return None  # three limits at once (second, minute, day): KeapVendor.gate counts them

    def rate_limited(self, verdict: Verdict) -> Response:
        plan = PLANS["key"]
        quota = Verdict(True, plan.quota.limit, plan.quota.limit - 1, plan.quota.window, 0.0)
        throttle = Verdict(False, plan.throttle.limit, 0, plan.throttle.window, verdict.retry_after)
        return errors.throttled(self._headers(quota, throttle)).response()

    def server_error(self, status: int) -> Response:
        return errors.server_error(status).response()

    # ---- people and inspection -------------------------------------------------------------------

    def people_router(self) -> APIRouter:
        r = APIRouter()
        b = atomic(self.backend, self.db)

        @r.post("/admin/unsubscribe/{email}")
        def unsubscribe(email: str, body: Unsubscribe | None = None) -> dict[str, Any]:
            """The client clicks "unsubscribe" in one of the company's emails (Opt-Out: Manual), or
            ``{"status": "ListUnsubscribe"}``: their mail client's unsubscribe button."""
            return _partial(b.unsubscribe(email, (body or Unsubscribe()).status))

        @r.post("/admin/quota")
        def quota(body: Quota) -> dict[str, Any]:
            """The account's daily quota, e.g. ``{"daily": 5}`` to rehearse running out of it."""
            if body.daily < 0:
                raise errors.bad_request("daily must not be negative")
            return b.set_daily_quota(body.daily)

        return r

    def html(self) -> str:
        contacts = [{**c, "email": next((e["email"] for e in c.get("email_addresses") or []), ""),
                     "tags": ", ".join(t["tag"]["name"] for t in self.backend.contact_tags(c["id"]))}
                    for c in self.db.list("contact")]
        return "".join([
            html_table("contacts", contacts, ["id", "email", "given_name", "family_name", "email_status", "tags"]),
            html_table("tags", self.db.list("tag"), ["id", "name", "description"]),
        ]) or f"<p>{html_lib.escape('no contacts or tags yet')}</p>"


__all__ = ["PLANS", "KeapVendor"]
