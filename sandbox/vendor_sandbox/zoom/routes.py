"""Zoom emulation: S2S OAuth token endpoint + the Meetings/Users v2 calls the SOP makes (CONTRACTS.md §5).

Thin routes: parse the request as Zoom (and zoomus) send it, call ``ZoomBackend``, answer in Zoom's
shape. Rate limits are per account and per category (Free plan: Light 4/s, Medium 2/s, Heavy 1/s).
"""

from __future__ import annotations

import html as html_lib
import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from vendor_sandbox.core.limits import Rule, Verdict
from vendor_sandbox.core.vendor import SandboxVendor, atomic, html_table

from . import errors
from .backend import ZoomBackend

# Free plan per-second limits by category [doc:developers.zoom.us/docs/api/rate-limits]; daily caps not emulated.
CATEGORY_LIMITS = {"Light": 4, "Medium": 2, "Heavy": 1}
_CATEGORY_BY_LIMIT = {v: k for k, v in CATEGORY_LIMITS.items()}


def category(method: str, path: str) -> str:
    """The rate-limit label Zoom documents for ``method path`` (path relative to ``/v2``)."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["users"] and len(parts) == 3 and parts[2] == "meetings":
        return "Medium"  # meetingCreate and meetings (list) are MEDIUM
    if parts == ["users"]:
        return "Medium"  # users (list) is MEDIUM
    return "Light"  # meeting get/update/delete and user get are LIGHT


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise errors.invalid_json() from None


class NewLicense(BaseModel):
    type: int


class NewColleague(BaseModel):
    name: str
    email: str


# The granular scope of each endpoint for a Server-to-Server OAuth app (":admin": any user of the
# account), then its classic scope, from the endpoints' reference pages [doc: developers.zoom.us/docs/api/
# meetings/#tag/meetings (Scopes: … Granular Scopes: …)]
ROUTE_SCOPES: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/v2/users/{user_id}/meetings"): ("meeting:write:meeting:admin", "meeting:write:admin"),
    ("GET", "/v2/users/{user_id}/meetings"): ("meeting:read:list_meetings:admin", "meeting:read:admin"),
    ("GET", "/v2/meetings/{meeting_id}"): ("meeting:read:meeting:admin", "meeting:read:admin"),
    ("PATCH", "/v2/meetings/{meeting_id}"): ("meeting:update:meeting:admin", "meeting:write:admin"),
    ("DELETE", "/v2/meetings/{meeting_id}"): ("meeting:delete:meeting:admin", "meeting:write:admin"),
    ("GET", "/v2/users/{user_id}"): ("user:read:user:admin", "user:read:admin"),
    ("GET", "/v2/users"): ("user:read:list_users:admin", "user:read:admin"),
}
OFFERED_SCOPES = sorted({accepted[0] for accepted in ROUTE_SCOPES.values()})  # an app made since 2024: granular


class ZoomVendor(SandboxVendor):
    name = "zoom"
    prefix = "/zoom"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.backend = ZoomBackend(self.db, ctx)
        ctx.scopes.offer(self.name, OFFERED_SCOPES)

    @classmethod
    def sdk_urls(cls, root: str) -> dict[str, str]:
        return {"zoom": root + "/zoom/v2", "zoom-oauth": root + "/zoom/oauth/token"}

    def seed(self, team: list[dict[str, str]]) -> None:
        self.backend.seed(team)

    # ---- API --------------------------------------------------------------------------------

    def router(self) -> APIRouter:
        r = APIRouter()
        b = atomic(self.backend, self.db)

        def auth(request: Request) -> dict[str, Any]:
            record = b.authenticate(request.headers.get("authorization"))
            route = getattr(request.scope.get("route"), "path", "").removeprefix(self.prefix)
            accepted = ROUTE_SCOPES.get((request.method, route), ())
            if self.ctx.scopes.lacks(self.name, accepted):
                raise errors.missing_scopes(accepted)
            return record

        @r.post("/oauth/token")
        async def token(request: Request) -> JSONResponse:
            # Zoom documents the params in the query string; zoomus sends them as a form body.
            params = dict(request.query_params)
            if "form" in request.headers.get("content-type", ""):
                params.update(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            return JSONResponse(b.issue_token(request.headers.get("authorization"), params))

        @r.post("/v2/users/{user_id}/meetings", status_code=201)
        async def create_meeting(user_id: str, request: Request) -> JSONResponse:
            auth(request)
            meeting = b.create_meeting(user_id, await _json_body(request))
            return JSONResponse(
                meeting, status_code=201,
                headers={"Content-Location": f"{self.prefix}/v2/meetings/{meeting['id']}"},
            )

        @r.get("/v2/users/{user_id}/meetings")
        def list_meetings(user_id: str, request: Request) -> JSONResponse:
            auth(request)
            return JSONResponse(b.list_meetings(user_id, dict(request.query_params)))

        @r.get("/v2/meetings/{meeting_id}")
        def get_meeting(meeting_id: str, request: Request) -> JSONResponse:
            auth(request)  # zoomus adds ?id=<meetingId>: ignored like every unknown parameter
            return JSONResponse(b.get_meeting(meeting_id))

        @r.patch("/v2/meetings/{meeting_id}", status_code=204)
        async def update_meeting(meeting_id: str, request: Request) -> Response:
            auth(request)
            b.update_meeting(meeting_id, await _json_body(request))
            return Response(status_code=204)

        @r.delete("/v2/meetings/{meeting_id}", status_code=204)
        def delete_meeting(meeting_id: str, request: Request) -> Response:
            auth(request)
            b.delete_meeting(meeting_id)
            return Response(status_code=204)

        @r.get("/v2/users/{user_id}")
        def get_user(user_id: str, request: Request) -> JSONResponse:
            auth(request)
            return JSONResponse(b.resolve_user(user_id))

        @r.get("/v2/users")
        def list_users(request: Request) -> JSONResponse:
            auth(request)
            return JSONResponse(b.list_users(dict(request.query_params)))

        return r

    # ---- limits and faults ------------------------------------------------------------------

    def rate_rule(self, request: Request) -> tuple[str, Rule] | None:
        path = request.url.path[len(self.prefix) :]
        if not path.startswith("/v2/"):
            return None  # the OAuth endpoint is not under the API's rate limits
        label = category(request.method, path[3:])
        rec = self.backend.token_record(request.headers.get("authorization"))
        account = rec["account_id"] if rec else "anonymous"
        return f"{account}:{label}", Rule(CATEGORY_LIMITS[label], 1.0, label)

    def rate_limited(self, verdict: Verdict) -> Response:
        return errors.rate_limited({
            "X-RateLimit-Category": _CATEGORY_BY_LIMIT.get(verdict.limit, "Light"),
            "X-RateLimit-Type": "QPS",
            "X-RateLimit-Limit": str(verdict.limit),
            "X-RateLimit-Remaining": "0",
            "Retry-After": verdict.retry_after_header,
        }).response()

    def rate_headers(self, verdict: Verdict) -> dict[str, str]:
        return {
            "X-RateLimit-Category": _CATEGORY_BY_LIMIT.get(verdict.limit, "Light"),
            "X-RateLimit-Limit": str(verdict.limit),
            "X-RateLimit-Remaining": str(verdict.remaining),
        }

    def server_error(self, status: int) -> Response:
        return errors.server_error(status).response()

    # ---- people and inspection --------------------------------------------------------------

    def people_router(self) -> APIRouter:
        r = APIRouter()
        b = atomic(self.backend, self.db)

        @r.post("/users", status_code=201)
        def add_colleague(body: NewColleague) -> dict[str, Any]:
            """A colleague joins the Zoom account (idempotent by email)."""
            return b.user_by_email(body.email) or b.add_user(body.name, body.email)

        @r.post("/meetings/{meeting_id}/start")
        def start(meeting_id: str) -> dict[str, Any]:
            """The host starts the meeting (it becomes ``live``)."""
            return b.set_status(meeting_id, "started")

        @r.post("/meetings/{meeting_id}/end")
        def end(meeting_id: str) -> dict[str, Any]:
            """The meeting ends; a scheduled meeting goes back to ``waiting`` until it expires."""
            return b.set_status(meeting_id, "waiting")

        @r.post("/admin/users/{email}/license")
        def license_user(email: str, body: NewLicense) -> dict[str, Any]:
            """The account's administrator gives a user a licence (``{"type": 2}``) or takes it back (1)."""
            return b.set_license(email, body.type)

        @r.post("/tokens/revoke")
        def revoke() -> dict[str, int]:
            """Invalidate every issued access token (as if they had expired)."""
            return {"revoked": b.revoke_tokens()}

        return r

    def state(self, kinds: list[str] | None = None) -> dict[str, Any]:
        dump = self.db.dump(kinds)
        if "token" in dump:  # tokens are credentials: show who holds one, not the token itself
            dump["token"] = [{**t, "token": t["token"][:12] + "…"} for t in dump["token"]]
        return dump

    def html(self) -> str:
        users = self.db.list("user")
        meetings = self.db.list("meeting")
        tokens = self.state().get("token", [])
        acct = self.db.get("account", "main") or {}
        head = f"<p>account <code>{html_lib.escape(str(acct.get('id', '')))}</code></p>"
        return head + "".join([
            html_table("users", users, ["id", "email", "display_name", "role_name", "type", "timezone", "pmi"]),
            html_table("meetings", meetings, ["id", "topic", "host_email", "type", "status", "start_time",
                                              "timezone", "duration", "agenda", "join_url", "password"]),
            html_table("access tokens", tokens, ["token", "client_id", "account_id", "expires_at"]),
        ])
