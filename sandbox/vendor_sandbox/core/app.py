"""The sandbox ASGI app: every vendor on one port, plus inspection and fault/limit controls."""

from __future__ import annotations

import asyncio
import html
import time
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from .faults import FaultConfig, FaultInjector
from .limits import RateLimiter, Verdict
from .scopes import ScopeGrants
from .store import Store
from .vendor import Call, SandboxContext, SandboxVendor, VendorError


class TeamMember(BaseModel):
    """A colleague the sandbox knows in every vendor (HubSpot owner, Asana/Slack/Zoom user)."""

    name: str
    email: str


DEFAULT_TEAM = [
    TeamMember(name="Sandbox Admin", email="admin@sandbox.example"),
]


class SandboxConfig(BaseModel):
    """How a sandbox behaves; every field can also be changed at run time (POST /_sandbox/config)."""

    state: Path | None = Field(None, description="SQLite file for state; in memory when unset")
    rate_limits: Literal["vendor", "off"] = "vendor"
    time_scale: float = Field(1.0, gt=0, description="multiplies every rate-limit window")
    seed: int = 0
    faults: dict[str, FaultConfig] = Field(default_factory=dict)
    latency: float = Field(0.0, ge=0, le=60, description="seconds added to every vendor call (benchmarks)")
    team: list[TeamMember] = Field(default_factory=lambda: list(DEFAULT_TEAM))
    account: Literal["fresh", "ready"] = Field(
        "ready", description="fresh: as a newly bought account (the team are users, nothing else set up); "
                             "ready: an administrator's steps done too (Asana team, Zoom licences, shared calendars)")
    hubspot_tier: Literal["free", "starter", "professional", "enterprise"] = Field(
        "starter", description="the HubSpot subscription; Free allows one deal pipeline (the default one)")
    hubspot_auto_companies: bool = Field(
        True, description="HubSpot's 'Create and associate companies with contacts' (on by default)")
    drive_shares_outside: bool = Field(
        True, description="Workspace's 'Sharing outside of <domain>' (on by default); off: 403 shareOutNotPermitted")
    gmail_message_ids: Literal["kept", "replaced"] = Field(
        "kept", description="Gmail may replace the Message-ID a sender chose [CONTRACTS §6]: 'replaced' does")
    withheld_scopes: dict[str, list[str]] = Field(
        default_factory=dict, description="per vendor, scopes its app was not granted, e.g. "
                                          "{'slack': ['users:read.email']}; every other scope is held")


class RuntimeConfig(BaseModel):
    rate_limits: Literal["vendor", "off"] | None = None
    time_scale: float | None = Field(None, gt=0)
    faults: dict[str, FaultConfig] | None = None
    latency: float | None = Field(None, ge=0, le=60)


class ScopeChange(BaseModel):
    vendor: str
    grant: list[str] = Field(default_factory=list)
    withhold: list[str] = Field(default_factory=list)


class ClockMove(BaseModel):
    days: float = 0
    seconds: float = 0


_VENDORS: list[type[SandboxVendor]] = []


def use_vendors(*classes: type[SandboxVendor]) -> None:
    """Set the vendors every sandbox serves, in this order. The package's ``__init__`` names them, so
    ``core`` never imports a vendor: each vendor imports ``core``, never the other way round."""
    _VENDORS[:] = classes


def vendor_classes() -> list[type[SandboxVendor]]:
    return list(_VENDORS)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    config = config or SandboxConfig()
    ctx = SandboxContext(
        store=Store(config.state),
        limiter=RateLimiter(config.time_scale, enabled=config.rate_limits == "vendor"),
        faults=FaultInjector(config.seed, config.faults),
        latency=config.latency,
        account=config.account,
        scopes=ScopeGrants(config.withheld_scopes),
        gmail_message_ids=config.gmail_message_ids,
        hubspot_tier=config.hubspot_tier,
        drive_shares_outside=config.drive_shares_outside,
        hubspot_auto_companies=config.hubspot_auto_companies,
    )
    app = FastAPI(title="client-onboarding sandbox", docs_url="/_sandbox/docs", openapi_url=None)
    vendors = [cls(ctx) for cls in vendor_classes()]
    team = [m.model_dump() for m in config.team]
    for v in vendors:
        v.seed(team)
    app.state.ctx = ctx
    app.state.vendors = {v.name: v for v in vendors}
    for v in vendors:
        app.include_router(v.router(), prefix=v.prefix)
        people = v.people_router()
        if people is not None:
            app.include_router(people, prefix=f"/_sandbox/{v.name}")

    def vendor_for(path: str) -> SandboxVendor | None:
        for v in vendors:
            if path == v.prefix or path.startswith(v.prefix + "/"):
                return v
        return None

    @app.middleware("http")
    async def vendor_gate(request: Request, call_next):
        """Faults first, then the vendor's rate limit, then the route; errors in vendor shape."""
        vendor = vendor_for(request.url.path)
        if vendor is None:
            return await call_next(request)
        if ctx.latency:
            await asyncio.sleep(ctx.latency)
        fault = ctx.faults.draw(vendor.name)
        if fault and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        elif fault and fault.kind == "rate_limit":
            rule = vendor.rate_rule(request)
            limit = rule[1].limit if rule else 1
            return vendor.rate_limited(Verdict(False, limit, 0, 1.0, 1.0))
        elif fault:
            return vendor.server_error(500 if fault.kind == "server_error" else 503)
        verdict = None
        rule = vendor.rate_rule(request)
        if rule is not None:
            key, r = rule
            request.state.bucket = (f"{vendor.name}:{key}", r.limit, r.window)  # for the call log
            verdict = ctx.limiter.check(f"{vendor.name}:{key}", r)
            if not verdict.allowed:
                return vendor.rate_limited(verdict)
        try:
            response = await call_next(request)
        except VendorError as exc:  # raised outside a route's own handler
            response = vendor.error_response(exc)
        if verdict is not None:
            for k, val in vendor.rate_headers(verdict).items():
                response.headers.setdefault(k, val)
        return response

    @app.middleware("http")
    async def count_calls(request: Request, call_next):
        """Every vendor call by vendor and status (GET /_sandbox/stats) and in the call log
        (GET /_sandbox/calls), for benchmarks and tests."""
        started = time.monotonic()
        response = await call_next(request)
        vendor = vendor_for(request.url.path)
        if vendor is not None:
            ctx.calls[(vendor.name, response.status_code)] += 1
            route = getattr(request.scope.get("route"), "path", request.url.path[len(vendor.prefix):])
            bucket = getattr(request.state, "bucket", ("", 0, 0.0))
            ctx.log.append(Call(vendor.name, request.method, route.removeprefix(vendor.prefix),
                                response.status_code, started, time.monotonic(), *bucket))
        return response

    @app.get("/_sandbox/stats")
    def stats() -> dict:
        """Calls per vendor (``calls``) and per vendor and status (``status``) since start or reset."""
        calls: dict[str, int] = {}
        status: dict[str, dict[str, int]] = {}
        for (vendor, code), n in sorted(ctx.calls.items()):
            calls[vendor] = calls.get(vendor, 0) + n
            status.setdefault(vendor, {})[str(code)] = n
        return {"calls": calls, "status": status, "total": sum(calls.values())}

    @app.post("/_sandbox/stats/reset")
    def reset_stats() -> dict:
        ctx.calls.clear()
        ctx.log.clear()
        return {"ok": True}

    @app.get("/_sandbox/calls")
    def calls() -> list[dict]:
        """The call log since start or the last stats reset: vendor, method, route (path template),
        status, and start/end on the sandbox's monotonic clock in seconds."""
        return [c._asdict() for c in ctx.log]

    @app.exception_handler(VendorError)
    async def vendor_error(request: Request, exc: VendorError) -> Response:
        vendor = vendor_for(request.url.path)
        return vendor.error_response(exc) if vendor else exc.response()

    @app.get("/_sandbox/state")
    def state(vendor: Annotated[list[str] | None, Query()] = None,
              kind: Annotated[list[str] | None, Query()] = None) -> JSONResponse:
        """Everything, or only the given vendors / kinds (``?vendor=google&kind=form&kind=event``):
        pollers ask for what they read, so a long simulation does not serialise every email each time."""
        return JSONResponse({v.name: v.state(kind) for v in vendors if not vendor or v.name in vendor})

    @app.post("/_sandbox/reset")
    def reset() -> dict:
        ctx.store.reset()
        ctx.limiter.reset()
        ctx.calls.clear()
        ctx.log.clear()
        ctx.clock_offset = timedelta(0)
        with ctx.store.transaction():  # like every request: the store's lock first, then a vendor's own
            for v in vendors:
                v.seed(team)
        return {"ok": True}

    @app.post("/_sandbox/config")
    def configure(body: RuntimeConfig) -> dict:
        if body.rate_limits is not None:
            ctx.limiter.enabled = body.rate_limits == "vendor"
        if body.time_scale is not None:
            ctx.limiter.time_scale = body.time_scale
        for name, fc in (body.faults or {}).items():
            ctx.faults.configure(name, fc)
        if body.latency is not None:
            ctx.latency = body.latency
        ctx.limiter.reset()
        return {
            "rate_limits": "vendor" if ctx.limiter.enabled else "off",
            "time_scale": ctx.limiter.time_scale,
            "latency": ctx.latency,
            "faults": {k: v.model_dump() for k, v in ctx.faults.config.items()},
        }

    @app.post("/_sandbox/admin/scopes")
    def change_scopes(body: ScopeChange) -> dict:
        """The administrator adds scopes to a vendor's app and installs it again (or removes some)."""
        if body.vendor not in app.state.vendors:
            raise HTTPException(404, f"no vendor {body.vendor!r}")
        ctx.scopes.change(body.vendor, body.grant, body.withhold)
        return {"withheld": ctx.scopes.withheld(), "granted": ctx.scopes.granted(body.vendor)}

    @app.get("/_sandbox/admin/scopes")
    def scopes() -> dict:
        return {"withheld": ctx.scopes.withheld()}

    @app.post("/_sandbox/clock")
    def move_clock(body: ClockMove) -> dict:
        """Moves the sandbox's 'now' forward (timestamps, response times) for simulations."""
        ctx.clock_offset += timedelta(days=body.days, seconds=body.seconds)
        return {"now": ctx.now().isoformat()}

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        sections = "".join(
            f"<section><h2>{html.escape(v.name)}</h2>{v.html() or '<p>nothing yet</p>'}</section>"
            for v in vendors
        )
        return _PAGE.format(body=sections)

    return app


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Sandbox state</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:1em}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}
pre{{white-space:pre-wrap;max-width:60em;margin:0}}section{{margin-bottom:2em}}</style></head>
<body><h1>client-onboarding sandbox</h1>\
<p>What each vendor holds. JSON: <a href="/_sandbox/state">/_sandbox/state</a></p>
{body}</body></html>"""
