"""HubSpot CRM v3 / associations v4 emulation (CONTRACTS.md §1): thin routes over ``HubSpotBackend``.

Paths are the ones hubspot-api-client 12.0.0 calls, under the ``/hubspot`` prefix.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from vendor_sandbox.core.limits import Rule, Verdict
from vendor_sandbox.core.vendor import SandboxVendor, VendorError, atomic, html_table

from . import backend as b
from . import errors
from .backend import HubSpotBackend

# [doc: developers.hubspot.com/docs/apps/legacy-apps/private-apps/overview] Free/Starter private app
TEN_SECONDLY = Rule(100, 10.0, "TEN_SECONDLY_ROLLING")
# search endpoints have their own per-second limit, historically 4/s per token [CONTRACTS §1]
SEARCH = Rule(4, 1.0, "SECONDLY")
# bookkeeping properties left out of the inspection page's record tables
_HIDDEN_PROPERTIES = ("hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate", "hs_createdate")


def _auth(request: Request) -> None:
    """HubSpot's 401 for a request without credentials (any bearer token is accepted), then its 403
    when the app lacks the call's scope."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        raise errors.unauthenticated()
    needed = required_scopes(request)
    if needed and request.app.state.ctx.scopes.lacks("hubspot", needed):
        raise errors.missing_scopes(needed)


_READS = ("/search", "/batch/read")


def required_scopes(request: Request) -> list[str]:
    """The granular scopes a call needs, as each API's reference lists them
    [doc: developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/scopes]:
    objects and associations ``crm.objects.<type>.read|write``, properties ``crm.schemas.<type>.read|write``,
    owners ``crm.objects.owners.read``; notes and the account's details none beyond the app's token."""
    route = getattr(request.scope.get("route"), "path", "")
    params = request.path_params
    raw = params.get("object_type") or params.get("from_type")
    read = request.method == "GET" or route.endswith(_READS)
    access = "read" if read else "write"
    if route.startswith("/crm/v3/owners"):
        return ["crm.objects.owners.read"]
    if raw is None:
        return []
    otype = b.HubSpotBackend.object_type(raw)
    if otype == "notes":
        return []
    if route.startswith("/crm/v3/properties"):
        return [f"crm.schemas.{otype}.{access}"]
    return [f"crm.objects.{otype}.{access}"]


ALL_SCOPES = sorted({f"crm.{kind}.{t}.{a}" for kind in ("objects", "schemas") for a in ("read", "write")
                     for t in b.TYPE_IDS if t != "notes"} | {"crm.objects.owners.read"})


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.validation(f"Invalid input JSON on line 1: {exc}") from None


def _multi(request: Request, name: str) -> list[str] | None:
    """A list query parameter: the SDK repeats it (``multi``); HubSpot also takes comma lists."""
    values = [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]
    return values or None


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def _limit(request: Request, default: int, maximum: int) -> int:
    raw = request.query_params.get("limit")
    try:
        n = int(raw) if raw is not None else default
    except ValueError:
        raise errors.validation(f"limit must be a number, was {raw}") from None
    if not 1 <= n <= maximum:
        raise errors.validation(f"limit must be between 1 and {maximum}")
    return n


class HubSpotVendor(SandboxVendor):
    name = "hubspot"
    prefix = "/hubspot"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.backend = HubSpotBackend(self.db, ctx)
        ctx.scopes.offer(self.name, ALL_SCOPES)

    @classmethod
    def sdk_urls(cls, root: str) -> dict[str, str]:
        return {"hubspot": root + "/hubspot"}

    def seed(self, team: list[dict[str, str]]) -> None:
        self.backend.seed(team)

    # ---------- limits and error shapes
    def rate_rule(self, request: Request) -> tuple[str, Rule] | None:
        if request.url.path.endswith("/search"):
            return "search", SEARCH
        return "app", TEN_SECONDLY

    def rate_limited(self, verdict: Verdict) -> Response:
        search = verdict.limit == SEARCH.limit and verdict.limit != TEN_SECONDLY.limit
        headers = {"Retry-After": verdict.retry_after_header}
        if not search:
            headers.update(self.rate_headers(verdict))
        return errors.rate_limited(SEARCH.name if search else TEN_SECONDLY.name, headers).response()

    def rate_headers(self, verdict: Verdict) -> dict[str, str]:
        # users report no rate-limit headers on search answers [doc: community.hubspot.com m-p/399520];
        # the verdict does not name its rule, but the search rule is the only one with limit 4
        if verdict.limit == SEARCH.limit:
            return {}
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(round(verdict.window * 1000))),
            "X-HubSpot-RateLimit-Max": str(verdict.limit),
            "X-HubSpot-RateLimit-Remaining": str(verdict.remaining),
        }

    def server_error(self, status: int) -> Response:
        return errors.server_error(status).response()

    # ---------- the API
    def router(self) -> APIRouter:
        r = APIRouter(dependencies=[Depends(_auth)])
        be = atomic(self.backend, self.db)
        otype = be.object_type

        # -- objects (crm/v3/objects/{objectType})
        @r.get("/crm/v3/objects/{object_type}")
        def list_objects(object_type: str, request: Request) -> dict:
            t = otype(object_type)
            rows, after = be.page(t, _limit(request, 10, 100), request.query_params.get("after"))
            out: dict[str, Any] = {"results": [be.view(t, x, _multi(request, "properties"),
                                                       _multi(request, "associations")) for x in rows]}
            if after:
                out["paging"] = {"next": {"after": after}}
            return out

        @r.post("/crm/v3/objects/{object_type}", status_code=201)
        async def create(object_type: str, request: Request) -> dict:
            t = otype(object_type)
            return be.view(t, be.create(t, await _body(request)), written=True)

        @r.get("/crm/v3/objects/{object_type}/{object_id}")
        def get_one(object_type: str, object_id: str, request: Request) -> dict:
            t = otype(object_type)
            rec = be.resolve(t, object_id, request.query_params.get("idProperty"), _flag(request, "archived"))
            return be.view(t, rec, _multi(request, "properties"), _multi(request, "associations"))

        @r.patch("/crm/v3/objects/{object_type}/{object_id}")
        async def update(object_type: str, object_id: str, request: Request) -> dict:
            t = otype(object_type)
            rec = be.update(t, object_id, await _body(request), request.query_params.get("idProperty"))
            return be.view(t, rec, written=True)

        @r.delete("/crm/v3/objects/{object_type}/{object_id}", status_code=204)
        def archive(object_type: str, object_id: str) -> Response:
            be.archive(otype(object_type), object_id)
            return Response(status_code=204)

        @r.post("/crm/v3/objects/{object_type}/search")
        async def search(object_type: str, request: Request) -> dict:
            return be.search(otype(object_type), await _body(request))

        @r.post("/crm/v3/objects/{object_type}/batch/create", status_code=201)
        async def batch_create(object_type: str, request: Request) -> dict:
            return b.batch_create(be, otype(object_type), await _body(request))

        @r.post("/crm/v3/objects/{object_type}/batch/read")
        async def batch_read(object_type: str, request: Request) -> JSONResponse:
            status, out = b.batch_read(be, otype(object_type), await _body(request), _flag(request, "archived"))
            return JSONResponse(out, status_code=status)

        @r.post("/crm/v3/objects/{object_type}/batch/update")
        async def batch_update(object_type: str, request: Request) -> JSONResponse:
            status, out = b.batch_update(be, otype(object_type), await _body(request))
            return JSONResponse(out, status_code=status)

        @r.post("/crm/v3/objects/{object_type}/batch/upsert")
        async def batch_upsert(object_type: str, request: Request) -> JSONResponse:
            status, out = b.batch_upsert(be, otype(object_type), await _body(request))
            return JSONResponse(out, status_code=status)

        @r.post("/crm/v3/objects/{object_type}/batch/archive", status_code=204)
        async def batch_archive(object_type: str, request: Request) -> Response:
            b.batch_archive(be, otype(object_type), await _body(request))
            return Response(status_code=204)

        # -- associations v4
        @r.put("/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}")
        def associate_default(from_type: str, from_id: str, to_type: str, to_id: str) -> dict:
            return be.associate_default(otype(from_type), from_id, otype(to_type), to_id)

        @r.put("/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}/{to_id}", status_code=201)
        async def associate_labelled(from_type: str, from_id: str, to_type: str, to_id: str, request: Request) -> dict:
            return be.associate_labelled(otype(from_type), from_id, otype(to_type), to_id, await _body(request))

        @r.delete("/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}/{to_id}", status_code=204)
        def remove_association(from_type: str, from_id: str, to_type: str, to_id: str) -> Response:
            be.remove_association(otype(from_type), from_id, otype(to_type), to_id)
            return Response(status_code=204)

        @r.get("/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}")
        def list_associations(from_type: str, from_id: str, to_type: str, request: Request) -> dict:
            return be.list_associations(otype(from_type), from_id, otype(to_type), _limit(request, 500, 500),
                                        request.query_params.get("after"))

        @r.get("/crm/v4/associations/{from_type}/{to_type}/labels")
        def labels(from_type: str, to_type: str) -> dict:
            return be.labels(otype(from_type), otype(to_type))

        # -- the account the token belongs to; every field is required by the published schema
        # [doc: developers.hubspot.com/docs/api-reference/latest/account/account-information/get-account-details]
        def account_details() -> dict:
            return be.account_details()

        r.add_api_route("/account-info/v3/details", account_details, methods=["GET"])
        r.add_api_route("/account-info/2026-03/details", account_details, methods=["GET"])

        # -- the private app token's details: its account and scopes
        # [doc: developers.hubspot.com/docs/apps/legacy-apps/private-apps/overview "access token info"]
        @r.post("/oauth/v2/private-apps/get/access-token-info")
        async def token_info(request: Request) -> dict:
            body = await _body(request)
            if not isinstance(body, dict) or not str(body.get("tokenKey") or "").strip():
                raise errors.validation("tokenKey is required")
            return {"userId": 1, "hubId": be.account_details()["portalId"], "appId": 1,
                    "scopes": self.ctx.scopes.granted("hubspot")}

        # -- owners (the SDK calls /crm/v3/owners/ with a trailing slash [wire]; the spec has none)
        def list_owners(request: Request) -> dict:
            return be.owners(request.query_params.get("email"), _limit(request, 100, 500),
                             request.query_params.get("after"), _flag(request, "archived"))

        r.add_api_route("/crm/v3/owners/", list_owners, methods=["GET"])
        r.add_api_route("/crm/v3/owners", list_owners, methods=["GET"])

        @r.get("/crm/v3/owners/{owner_id}")
        def get_owner(owner_id: str, request: Request) -> dict:
            return be.owner(owner_id, request.query_params.get("idProperty", "id"))

        # -- pipelines
        @r.get("/crm/v3/limits/pipelines")
        def pipeline_limits() -> dict:
            return be.pipeline_limits()

        @r.get("/crm/v3/pipelines/{object_type}")
        def pipelines(object_type: str) -> dict:
            return be.pipelines(otype(object_type))

        @r.post("/crm/v3/pipelines/{object_type}", status_code=201)
        async def create_pipeline(object_type: str, request: Request) -> dict:
            return be.create_pipeline(otype(object_type), await _body(request))

        @r.get("/crm/v3/pipelines/{object_type}/{pipeline_id}")
        def pipeline(object_type: str, pipeline_id: str) -> dict:
            return be.pipeline(otype(object_type), pipeline_id)

        @r.get("/crm/v3/pipelines/{object_type}/{pipeline_id}/stages")
        def stages(object_type: str, pipeline_id: str) -> dict:
            return {"results": be.pipeline(otype(object_type), pipeline_id)["stages"]}

        # -- properties
        @r.get("/crm/v3/properties/{object_type}")
        def properties(object_type: str) -> dict:
            t = otype(object_type)
            return {"results": [be.property_view(t, p) for p in be.properties(t).values()]}

        @r.post("/crm/v3/properties/{object_type}", status_code=201)
        async def create_property(object_type: str, request: Request) -> dict:
            return be.create_property(otype(object_type), await _body(request))

        @r.get("/crm/v3/properties/{object_type}/{name}")
        def get_property(object_type: str, name: str) -> dict:
            return be.get_property(otype(object_type), name)

        return r

    # ---------- acting as a colleague in the HubSpot UI (no auth, no rate limit)
    def people_router(self) -> APIRouter:
        r = APIRouter()
        be = atomic(self.backend, self.db)

        @r.post("/{object_type}", status_code=201)
        async def colleague_creates(object_type: str, request: Request) -> dict:
            """A colleague creates a record in the UI: body ``{"properties": {...}, "associations": [...]}``."""
            t = be.object_type(object_type)
            return be.view(t, be.create(t, await _body(request)), written=True)

        @r.patch("/{object_type}/{object_id}")
        async def colleague_edits(object_type: str, object_id: str, request: Request) -> dict:
            """A colleague edits a record, e.g. drags a deal to ``closedwon``: body ``{"properties": {...}}``."""
            t = be.object_type(object_type)
            return be.view(t, be.update(t, object_id, await _body(request)), written=True)

        return r

    # ---------- inspection
    def html(self) -> str:
        parts = []
        for t in b.TYPE_IDS:
            rows = [{"id": x["id"], "archived": x["archived"], "updatedAt": x["updatedAt"],
                     **{k: v for k, v in x["properties"].items()
                        if k not in _HIDDEN_PROPERTIES}}
                    for x in self.db.list(f"object:{t}")]
            parts.append(html_table(t, rows, columns=None))
        links = [{"from": f"{a['from_type']} {a['from_id']}", "to": f"{a['to_type']} {a['to_id']}",
                  "types": ", ".join(str(t["typeId"]) + (f" ({t['label']})" if t["label"] else "") for t in a["types"])}
                 for a in self.db.list("assoc") if a["from_type"] < a["to_type"]]  # one row per pair
        parts.append(html_table("associations", links, columns=["from", "to", "types"]))
        parts.append(html_table("owners", self.db.list("owner"),
                                columns=["id", "email", "firstName", "lastName", "userId"]))
        for p in self.db.list("pipeline:deals"):
            parts.append(html_table(f"pipeline {p['id']} — {p['label']}",
                                    [{"id": s["id"], "label": s["label"], **s["metadata"]} for s in p["stages"]],
                                    columns=["id", "label", "probability", "isClosed"]))
        for t in b.TYPE_IDS:
            parts.append(html_table(f"custom {t} properties", self.db.list(f"property:{t}"),
                                    columns=["name", "label", "type", "fieldType", "groupName"]))
        return "".join(parts)

    def error_response(self, exc: VendorError) -> Response:
        return exc.response()
