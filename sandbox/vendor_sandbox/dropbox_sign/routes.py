"""Dropbox Sign emulation: the signature-request endpoints the SOP uses, under ``/dropbox_sign/v3``.

Thin routes: parse the request as the official SDK ``dropbox-sign`` sends it (``multipart/form-data``
with ``files[i]`` and JSON-encoded fields for a send; JSON for a reminder), call the backend, answer
in Dropbox Sign's envelopes (``{"signature_request": …}``, ``{"signature_requests": […], "list_info"}``,
``{"error": …}``). Auth: HTTP Basic with the API key as the user name (or an OAuth bearer token).
Rate limits per account: 100 requests / minute, 25 for the high-tier endpoints (send, files), with
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-Ratelimit-Reset`` on every answer.
"""

from __future__ import annotations

import base64
import html as html_lib
import json
import math
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from vendor_sandbox.core.limits import Rule, Verdict
from vendor_sandbox.core.vendor import SandboxVendor, atomic, html_table

from . import errors
from .backend import DropboxSignBackend

STANDARD, HIGH = Rule(100, 60.0, "standard"), Rule(25, 60.0, "high tier")
HIGH_TIER = ("/v3/signature_request/send", "/v3/signature_request/files/")


class SignerAction(BaseModel):
    email: str | None = None  # default: whoever's turn it is
    reason: str = ""


class DropboxSignVendor(SandboxVendor):
    name = "dropbox_sign"
    prefix = "/dropbox_sign"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.backend = DropboxSignBackend(self.db, ctx)

    @classmethod
    def sdk_urls(cls, root: str) -> dict[str, str]:
        return {"dropbox_sign": root + "/dropbox_sign/v3"}

    def seed(self, team: list[dict[str, str]]) -> None:
        self.backend.seed(team)

    # ---- API --------------------------------------------------------------------------------

    def router(self) -> APIRouter:
        r = APIRouter()
        b = atomic(self.backend, self.db)

        def auth(request: Request) -> None:
            header = request.headers.get("authorization", "")
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                return
            if scheme.lower() == "basic":
                try:
                    user = base64.b64decode(value).decode().partition(":")[0]
                except ValueError:
                    user = ""
                if user:
                    return
            raise errors.unauthorized()

        @r.post("/v3/signature_request/send")
        async def send(request: Request) -> JSONResponse:
            auth(request)
            fields, files = await _parse(request)
            return JSONResponse({"signature_request": b.send(fields, files)})

        @r.get("/v3/signature_request/list")
        def list_requests(request: Request, page: int = 1, page_size: int = 20, query: str | None = None,
                          account_id: str | None = None) -> JSONResponse:
            auth(request)
            return JSONResponse(b.list(query, page, page_size))

        @r.get("/v3/signature_request/files/{request_id}")
        def files(request_id: str, request: Request, file_type: str = "pdf") -> Response:
            auth(request)
            return Response(b.files(request_id, file_type), media_type="application/pdf")

        @r.post("/v3/signature_request/remind/{request_id}")
        async def remind(request_id: str, request: Request) -> JSONResponse:
            auth(request)
            fields, _ = await _parse(request)
            return JSONResponse({"signature_request": b.remind(request_id, fields.get("email_address"))})

        @r.post("/v3/signature_request/cancel/{request_id}")
        def cancel(request_id: str, request: Request) -> Response:
            auth(request)
            b.cancel(request_id)
            return Response(status_code=200)  # "an empty 200 OK response"

        @r.get("/v3/signature_request/{request_id}")
        def get(request_id: str, request: Request) -> JSONResponse:
            auth(request)
            return JSONResponse({"signature_request": b.get(request_id)})

        return r

    # ---- limits and faults ------------------------------------------------------------------

    def rate_rule(self, request: Request) -> tuple[str, Rule] | None:
        path = request.url.path[len(self.prefix):]
        if not path.startswith("/v3/"):
            return None
        high = path == HIGH_TIER[0] or path.startswith(HIGH_TIER[1])
        return ("account:high", HIGH) if high else ("account:standard", STANDARD)

    def _headers(self, verdict: Verdict) -> dict[str, str]:
        reset = math.ceil(time.time() + (verdict.retry_after or verdict.window))
        return {"X-RateLimit-Limit": str(verdict.limit), "X-RateLimit-Remaining": str(verdict.remaining),
                "X-Ratelimit-Reset": str(reset)}

    def rate_limited(self, verdict: Verdict) -> Response:
        return errors.rate_limited(self._headers(verdict)).response()

    def rate_headers(self, verdict: Verdict) -> dict[str, str]:
        return self._headers(verdict)

    def server_error(self, status: int) -> Response:
        return errors.server_error(status).response()

    # ---- the signers and inspection ---------------------------------------------------------

    def people_router(self) -> APIRouter:
        r = APIRouter()
        b = atomic(self.backend, self.db)

        @r.post("/{request_id}/sign")
        def sign(request_id: str, body: SignerAction | None = None) -> dict[str, Any]:
            """A signer signs (``{"email"}``; default whoever's turn it is); refused out of turn."""
            return b.sign(request_id, (body or SignerAction()).email)

        @r.post("/{request_id}/decline")
        def decline(request_id: str, body: SignerAction | None = None) -> dict[str, Any]:
            """A signer declines (``{"email", "reason"}``), if the request allows declining."""
            body = body or SignerAction()
            return b.decline(request_id, body.email, body.reason)

        @r.post("/{request_id}/act", response_class=HTMLResponse)
        async def act(request_id: str, request: Request) -> Response:
            """The sandbox page's buttons (an HTML form): sign or decline, then back to the page."""
            from urllib.parse import parse_qs

            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            if form.get("action") == "decline":
                b.decline(request_id, form.get("email"), form.get("reason", "declined on the sandbox page"))
            else:
                b.sign(request_id, form.get("email"))
            return RedirectResponse("/", status_code=303)

        return r

    def state(self, kinds: list[str] | None = None) -> dict[str, Any]:
        dump = self.db.dump(kinds)
        if "signature_request" in dump:  # the files are bytes: their names and sizes only
            dump["signature_request"] = [{**row, "_files": [{"name": f["name"], "bytes": len(f["data"]) * 3 // 4}
                                                            for f in row["_files"]]}
                                         for row in dump["signature_request"]]
        return dump

    def html(self) -> str:
        rows = []
        for row in self.db.list("signature_request"):
            rows.append({"id": row["signature_request_id"], "title": row["title"],
                         "state": "cancelled" if row["_cancelled"] else "complete" if row["is_complete"]
                         else "declined" if row["is_declined"] else "awaiting",
                         "signers": "; ".join(f"{s['order']}: {s['signer_email_address']} {s['status_code']}"
                                              for s in row["signatures"]),
                         "test_mode": row["test_mode"], "metadata": row["metadata"]})
        items = []
        for row, signer in self.backend.pending():
            action = f"/_sandbox/dropbox_sign/{row['signature_request_id']}/act"
            email = html_lib.escape(signer["signer_email_address"])
            items.append(f"<li>{html_lib.escape(row['title'])} awaits {email}: "
                         f'<form method="post" action="{action}" style="display:inline">'
                         f'<input type="hidden" name="email" value="{email}">'
                         '<button name="action" value="sign">sign</button>'
                         '<button name="action" value="decline">decline</button></form></li>')
        side = f"<h3>The signers' side ({len(items)} to do)</h3><ul>{''.join(items)}</ul>" if items else ""
        return side + html_table("signature requests", rows, ["id", "title", "state", "signers", "test_mode",
                                                              "metadata"])


async def _parse(request: Request) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """The request's fields and uploaded files: multipart (the SDK with files), JSON or urlencoded."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        fields: dict[str, Any] = {}
        files: list[tuple[int, str, bytes]] = []
        for key, value in form.multi_items():
            if hasattr(value, "read"):
                index = key.partition("[")[2].rstrip("]")
                files.append((int(index) if index.isdigit() else len(files), value.filename or key,
                              await value.read()))
            else:
                fields[key] = value
        return fields, [(name, data) for _, name, data in sorted(files)]
    raw = await request.body()
    if not raw.strip():
        return {}, []
    try:
        body = json.loads(raw)
    except ValueError:
        raise errors.bad_request("Invalid JSON body") from None
    return (body if isinstance(body, dict) else {}), []
