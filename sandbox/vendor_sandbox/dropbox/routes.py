"""Dropbox emulation: the API v2 routes the SOP calls, on Dropbox's two hosts.

Dropbox serves RPC routes on ``api.dropboxapi.com`` (``POST /2/<namespace>/<route>``, JSON body) and
upload routes on ``content.dropboxapi.com`` (arguments as JSON in the ``Dropbox-API-Arg`` header, the
file as an ``application/octet-stream`` body) [doc: https://www.dropbox.com/developers/documentation/http/documentation#formats].
The sandbox serves them under ``/dropbox/api`` and ``/dropbox/content``; the official SDK reaches them
through a ``requests`` transport adapter (``integrations/dropbox.py``).

Routes: files/create_folder_v2, files/get_metadata, files/upload, files/delete_v2,
sharing/create_shared_link_with_settings, sharing/list_shared_links, file_requests/create,
file_requests/list_v2, and ``oauth2/token`` (a refresh token → a short-lived access token). Every API call
needs ``Authorization: Bearer <token>`` (400 without; 401 for a token revoked through ``POST
/_sandbox/dropbox/admin/revoke``, and for an access token issued from a revoked refresh token). Dropbox publishes no fixed rate limits; the
sandbox answers 429 only when faults inject one (``Retry-After: 1``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from vendor_sandbox.core.limits import Rule, Verdict
from vendor_sandbox.core.vendor import SandboxVendor, atomic, html_table

from . import errors
from .backend import DropboxBackend

OAUTH_TOKEN = "/api/oauth2/token"


class Revoke(BaseModel):
    token: str


def _api(entry: dict[str, Any], *, tagged: bool = True) -> dict[str, Any]:
    """An entry as ``Metadata`` (``tagged``: the union, with ``.tag``) or as ``FileMetadata`` /
    ``FolderMetadata`` (a struct answer, e.g. of files/upload)."""
    out = {k: v for k, v in entry.items() if k != "content" and (tagged or k != ".tag")}
    return out


async def _args(request: Request, route: str) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise errors.bad_input(route, "could not decode input as JSON") from None
    if not isinstance(body, dict):
        raise errors.bad_input(route, "request body: expected an object")
    return body


def _mode(value: Any) -> str:
    tag = value.get(".tag") if isinstance(value, dict) else value
    return tag or "add"


class DropboxVendor(SandboxVendor):
    name = "dropbox"
    prefix = "/dropbox"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.backend = DropboxBackend(self.db, ctx)

    @classmethod
    def sdk_urls(cls, root: str) -> dict[str, str]:
        return {"dropbox": root + "/dropbox"}

    def token(self, request: Request) -> None:
        if request.url.path.endswith(OAUTH_TOKEN):  # the app authenticates there with its key, not a token
            return
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise errors.DropboxError(400, "Error in call to API function: missing or malformed Authorization header")
        if self.backend.is_revoked(auth[7:].strip()):
            raise errors.invalid_token()

    def router(self) -> APIRouter:
        r = APIRouter(dependencies=[Depends(self.token)])
        b = atomic(self.backend, self.db)

        @r.post(OAUTH_TOKEN)
        async def oauth2_token(request: Request) -> JSONResponse:
            """A short-lived access token for a refresh token (``grant_type=refresh_token``, the app's key and
            secret) [doc: https://www.dropbox.com/developers/documentation/http/documentation#oauth2-token]."""
            form = await request.form()
            refresh, key = str(form.get("refresh_token") or ""), str(form.get("client_id") or "")
            if form.get("grant_type") != "refresh_token" or not refresh or not key:
                return JSONResponse({"error": "invalid_request", "error_description": "unsupported request"}, 400)
            if b.is_revoked(refresh):
                return JSONResponse({"error": "invalid_grant", "error_description": "refresh token is invalid or "
                                     "revoked"}, 400)
            return JSONResponse({"access_token": b.issue_token(refresh), "token_type": "bearer", "expires_in": 14400})

        @r.post("/api/2/files/create_folder_v2")
        async def create_folder(request: Request) -> dict[str, Any]:
            args = await _args(request, "files/create_folder_v2")
            path = b.check_path("files/create_folder_v2", args.get("path"))
            return {"metadata": _api(b.create_folder(path, bool(args.get("autorename", False))), tagged=False)}

        @r.post("/api/2/files/get_metadata")
        async def get_metadata(request: Request) -> dict[str, Any]:
            args = await _args(request, "files/get_metadata")
            return _api(b.get_metadata(b.check_path("files/get_metadata", args.get("path"))))

        @r.post("/api/2/files/delete_v2")
        async def delete(request: Request) -> dict[str, Any]:
            args = await _args(request, "files/delete_v2")
            return {"metadata": _api(b.delete(b.check_path("files/delete_v2", args.get("path"))))}

        @r.post("/content/2/files/upload")
        async def upload(request: Request) -> dict[str, Any]:
            if request.headers.get("content-type", "").split(";")[0] != "application/octet-stream":
                raise errors.bad_input("files/upload", "Bad HTTP \"Content-Type\" header: expected "
                                       "\"application/octet-stream\"")
            try:
                args = json.loads(request.headers.get("dropbox-api-arg", ""))
            except ValueError:
                raise errors.bad_input("files/upload", "missing or invalid Dropbox-API-Arg header") from None
            path = b.check_path("files/upload", args.get("path"))
            entry = b.upload(path, _mode(args.get("mode")), bool(args.get("autorename", False)), await request.body())
            return _api(entry, tagged=False)

        @r.post("/api/2/sharing/create_shared_link_with_settings")
        async def create_shared_link(request: Request) -> dict[str, Any]:
            args = await _args(request, "sharing/create_shared_link_with_settings")
            path = b.check_path("sharing/create_shared_link_with_settings", args.get("path"))
            return b.link_metadata(b.create_shared_link(path, args.get("settings") or {}))

        @r.post("/api/2/sharing/list_shared_links")
        async def list_shared_links(request: Request) -> dict[str, Any]:
            args = await _args(request, "sharing/list_shared_links")
            path = args.get("path")
            if path is not None:
                path = b.check_path("sharing/list_shared_links", path)
            return {"links": [b.link_metadata(link) for link in b.links(path)], "has_more": False}

        @r.post("/api/2/file_requests/create")
        async def create_file_request(request: Request) -> dict[str, Any]:
            return _request(b.create_file_request(await _args(request, "file_requests/create")))

        @r.post("/api/2/file_requests/list_v2")
        async def list_file_requests(request: Request) -> dict[str, Any]:
            await _args(request, "file_requests/list_v2")
            return {"file_requests": [_request(f) for f in b.file_requests()], "cursor": "", "has_more": False}

        return r

    # ---- limits and faults

    def rate_rule(self, request: Request) -> tuple[str, Rule] | None:
        return None  # Dropbox publishes no per-app numbers; 429s come from fault injection

    def rate_limited(self, verdict: Verdict) -> Response:
        return errors.too_many_requests(max(1, round(verdict.retry_after or 1))).response()

    def server_error(self, status: int) -> Response:
        return errors.server_error(status).response()

    def error_response(self, exc) -> Response:
        return exc.response()

    # ---- people and inspection

    def people_router(self) -> APIRouter:
        r = APIRouter()
        b = atomic(self.backend, self.db)

        @r.post("/admin/revoke")
        def revoke(body: Revoke) -> JSONResponse:
            """The user unlinks the app: its token answers 401 invalid_access_token from now on."""
            b.revoke(body.token)
            return JSONResponse({"revoked": True})

        @r.get("/files/{path:path}")
        def download(path: str) -> Response:
            """A file's bytes, as the owner would download it (for tests and the inspection page)."""
            entry = self.backend.get_metadata("/" + path)
            return Response(base64.b64decode(entry.get("content", "")), media_type="application/octet-stream")

        return r

    def state(self, kinds: list[str] | None = None) -> dict[str, Any]:
        out = self.db.dump(kinds)
        if "entry" in out:
            out["entry"] = [_api(e) for e in out["entry"]]  # the metadata, not the bytes
        return out

    def html(self) -> str:
        return "".join([
            html_table("files and folders", [_api(e) for e in self.db.list("entry")],
                       [".tag", "path_display", "size", "content_hash"]),
            html_table("shared links", self.db.list("link"), ["path_lower", "url"]),
            html_table("file requests", self.db.list("file_request"), ["id", "title", "destination", "url"]),
        ])


def _request(f: dict[str, Any]) -> dict[str, Any]:
    """``FileRequest``: without empty optional fields."""
    return {k: v for k, v in f.items() if v is not None}


__all__ = ["DropboxVendor"]
