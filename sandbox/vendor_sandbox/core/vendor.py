"""What every emulated vendor provides to the sandbox app (moto-style: thin routes + a backend)."""

from __future__ import annotations

import functools
import html
from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, NamedTuple

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from .faults import FaultInjector
from .limits import RateLimiter, Rule, Verdict
from .scopes import ScopeGrants
from .store import Store


class VendorError(Exception):
    """Raised by a route or backend to answer with the vendor's own status, body and headers."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> Response:
        if self.body is None:
            return Response(status_code=self.status, headers=self.headers)
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


class Call(NamedTuple):
    """One vendor call as the sandbox answered it (times: the sandbox's monotonic clock, seconds)."""

    vendor: str
    method: str
    route: str  # the path template under the vendor's prefix, e.g. /crm/v3/objects/{object_type}
    status: int
    start: float
    end: float
    bucket: str = ""  # the rate-limit bucket it counted against, e.g. "hubspot:app"
    limit: int = 0  # that bucket's documented limit: ``limit`` calls per ``window`` seconds (unscaled)
    window: float = 0.0


def atomic(backend: Any, store: Any) -> Any:
    """``backend`` as the routes see it: every method call is one store transaction, as each request
    lands whole at the vendor (a sandbox process killed in the middle of a request leaves no half)."""

    class Atomic:
        def __getattr__(self, name: str) -> Any:
            attr = getattr(backend, name)
            if not callable(attr):
                return attr

            @functools.wraps(attr)
            def call(*args: Any, **kwargs: Any) -> Any:
                with store.transaction():
                    return attr(*args, **kwargs)

            return call

    return Atomic()


class SandboxContext:
    """Shared by all vendors of one sandbox: state, limits, faults, latency and the clock."""

    def __init__(self, store: Store, limiter: RateLimiter, faults: FaultInjector, latency: float = 0.0,
                 account: str = "ready", scopes: ScopeGrants | None = None,
                 gmail_message_ids: str = "kept", hubspot_tier: str = "starter",
                 drive_shares_outside: bool = True, hubspot_auto_companies: bool = True) -> None:
        self.store = store
        self.account = account  # "fresh" or "ready": what an administrator has set up (SandboxConfig.account)
        self.scopes = scopes or ScopeGrants()  # what each vendor's app token may do
        self.gmail_message_ids = gmail_message_ids  # "kept" or "replaced": what Gmail does to a chosen Message-ID
        self.hubspot_tier = hubspot_tier  # the HubSpot subscription: what it allows (e.g. deal pipelines)
        self.drive_shares_outside = drive_shares_outside  # the Workspace admin lets Drive share outside the domain
        self.hubspot_auto_companies = hubspot_auto_companies  # HubSpot makes a company for a new contact's domain
        self.limiter = limiter
        self.faults = faults
        self.latency = latency  # seconds added to every vendor call (benchmarks)
        self.clock_offset = timedelta(0)  # moved by POST /_sandbox/clock for simulations
        self.calls: Counter[tuple[str, int]] = Counter()  # (vendor, status) -> calls answered
        self.log: deque[Call] = deque(maxlen=500_000)  # the newest calls, for benchmarks

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset


class SandboxVendor(ABC):
    """One vendor: its routes under ``prefix``, its state, its error and rate-limit shapes."""

    name: ClassVar[str]
    prefix: ClassVar[str]

    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.db = ctx.store.vendor(self.name)

    @abstractmethod
    def router(self) -> APIRouter:
        """The vendor's API, paths relative to ``prefix``."""

    def seed(self, team: list[dict[str, str]]) -> None:
        """Create what a fresh account of this vendor holds (users for ``team``: name, email).

        Called at start-up and after every reset; must be idempotent (state may come from a file)."""

    def people_router(self) -> APIRouter | None:
        """Routes under ``/_sandbox/<name>`` that act as a client or colleague would."""
        return None

    @classmethod
    @abstractmethod
    def sdk_urls(cls, root: str) -> dict[str, str]:
        """``{line name: base URL its official SDK takes}`` for a sandbox served at ``root``."""

    @abstractmethod
    def rate_rule(self, request: Request) -> tuple[str, Rule] | None:
        """The bucket this request counts against and the vendor's documented rule for it."""

    @abstractmethod
    def rate_limited(self, verdict: Verdict) -> Response:
        """The vendor's 429: status, body and headers."""

    @abstractmethod
    def server_error(self, status: int) -> Response:
        """The vendor's 5xx body for ``status`` (500 or 503)."""

    def rate_headers(self, verdict: Verdict) -> dict[str, str]:
        """Headers the vendor adds to every answer about its limits (none by default)."""
        return {}

    def state(self, kinds: list[str] | None = None) -> dict[str, Any]:
        return self.db.dump(kinds)

    def html(self) -> str:
        """A readable section of the inspection page; by default one table per kind."""
        return "".join(
            html_table(kind, objects, columns=None) for kind, objects in self.db.dump().items()
        )

    def error_response(self, exc: VendorError) -> Response:
        return exc.response()


def html_table(title: str, rows: Iterable[dict[str, Any]], columns: list[str] | None) -> str:
    """A small HTML table; long cell values are kept whole inside <pre> so bodies stay readable."""
    rows = list(rows)
    if not rows:
        return ""
    # without a column list: identifiers first, then the rest alphabetically
    cols = columns or sorted({k for r in rows for k in r}, key=lambda k: (k not in ("id", "gid"), k))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = r.get(c, "")
            text = "" if v is None else v if isinstance(v, str) else _compact(v)
            cell = f"<pre>{html.escape(text)}</pre>" if "\n" in text or len(text) > 80 else html.escape(text)
            cells.append(f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<h3>{html.escape(title)} ({len(rows)})</h3><table><tr>{head}</tr>{''.join(body)}</table>"


def _compact(v: Any) -> str:
    import json

    return json.dumps(v, ensure_ascii=False, default=str)
