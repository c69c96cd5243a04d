"""The Dropbox emulation against Dropbox's published API specification (the Stone files of
dropbox/dropbox-api-spec): every route it serves is a route of the spec on the same host and in the same
style, and every answer and error body it gives is a value of the route's result or error type. Then the
rules: paths case-insensitive, folders found by path, identical uploads kept, one shared link per path,
the error envelope, 401 and 429."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from stone_check import check, route
from vendor_sandbox import FaultConfig, SandboxConfig, SandboxServer

AUTH = {"Authorization": "Bearer sandbox-token"}


@pytest.fixture
def dbx(sandbox):
    """``dbx(route, args)`` → the answer: RPC routes as JSON, ``files/upload`` with ``data``."""
    base = sandbox.urls["dropbox"]

    def call(name: str, args: dict, data: bytes | None = None, headers: dict | None = None) -> httpx.Response:
        headers = {**AUTH, **(headers or {})}
        if route(name).attrs["style"] == "upload":
            return httpx.post(f"{base}/content/2/{name}", content=data or b"",
                              headers={**headers, "Dropbox-API-Arg": json.dumps(args),
                                       "Content-Type": "application/octet-stream"})
        return httpx.post(f"{base}/api/2/{name}", json=args, headers=headers)

    return call


def ok(name: str, r: httpx.Response) -> dict:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"  # the SDK insists on exactly this
    body = r.json()
    assert check(route(name).result_data_type, body) == []
    return body


def refused(name: str, r: httpx.Response, summary: str) -> dict:
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["error_summary"].startswith(summary), body
    assert check(route(name).error_data_type, body["error"]) == []
    return body["error"]


def folder() -> str:
    return f"/Clients/Testco {uuid.uuid4().hex[:8]} (testco.example)"


# --- the published contract


def test_every_route_is_a_route_of_the_spec_on_its_host_and_in_its_style(sandbox):
    served = {r.path for r in sandbox.app.state.vendors["dropbox"].router().routes}
    assert served, "no Dropbox routes"
    assert "/api/oauth2/token" in served  # OAuth 2 is outside the Stone spec (the HTTP documentation's oauth2-token)
    for path in served - {"/api/oauth2/token"}:
        host, _, name = path.removeprefix("/").partition("/2/")
        r = route(name)
        assert r.attrs["host"] == host, path  # rpc on api, upload on content
        assert r.attrs["style"] == ("upload" if host == "content" else "rpc"), path


def test_answers_and_errors_are_values_of_the_spec(dbx):
    root = folder()
    made = ok("files/create_folder_v2", dbx("files/create_folder_v2", {"path": f"{root}/Proposals",
                                                                          "autorename": False}))
    assert made["metadata"]["path_display"] == f"{root}/Proposals"
    refused("files/create_folder_v2", dbx("files/create_folder_v2", {"path": f"{root}/proposals"}),
            "path/conflict/folder")
    ok("files/get_metadata", dbx("files/get_metadata", {"path": root.upper()}))
    refused("files/get_metadata", dbx("files/get_metadata", {"path": f"{root}/nothing"}), "path/not_found")
    up = ok("files/upload", dbx("files/upload", {"path": f"{root}/Proposals/p.pdf", "mode": "add"}, b"%PDF-1"))
    refused("files/upload", dbx("files/upload", {"path": f"{root}/Proposals/P.pdf", "mode": "add"}, b"%PDF-2"),
            "path/conflict/file")
    link = ok("sharing/create_shared_link_with_settings", dbx("sharing/create_shared_link_with_settings", {
        "path": up["path_lower"], "settings": {"requested_visibility": "public", "audience": "public",
                                                "access": "viewer"}}))
    assert link[".tag"] == "file" and link["link_permissions"]["link_access_level"][".tag"] == "viewer"
    again = refused("sharing/create_shared_link_with_settings",
                    dbx("sharing/create_shared_link_with_settings", {"path": up["path_lower"]}),
                    "shared_link_already_exists")
    assert again["shared_link_already_exists"]["metadata"]["url"] == link["url"]
    listed = ok("sharing/list_shared_links", dbx("sharing/list_shared_links", {"path": up["path_lower"],
                                                                               "direct_only": True}))
    assert [x["url"] for x in listed["links"]] == [link["url"]]
    ok("files/create_folder_v2", dbx("files/create_folder_v2", {"path": f"{root}/Uploads"}))
    request = ok("file_requests/create", dbx("file_requests/create", {"title": "Files for Testco",
                                                                      "destination": f"{root}/Uploads"}))
    refused("file_requests/create", dbx("file_requests/create", {"title": "x", "destination": f"{root}/None"}),
            "not_found")
    found = ok("file_requests/list_v2", dbx("file_requests/list_v2", {"limit": 1000}))
    assert request["id"] in {f["id"] for f in found["file_requests"]}
    gone = ok("files/delete_v2", dbx("files/delete_v2", {"path": root}))
    assert gone["metadata"][".tag"] == "folder"
    refused("files/get_metadata", dbx("files/get_metadata", {"path": f"{root}/Proposals/p.pdf"}), "path/not_found")
    refused("files/delete_v2", dbx("files/delete_v2", {"path": root}), "path_lookup/not_found")


# --- the rules


def test_identical_content_keeps_its_revision_and_new_content_overwrites(dbx):
    path = f"{folder()}/Contracts/c.pdf"  # parents are made by the upload
    first = ok("files/upload", dbx("files/upload", {"path": path, "mode": "overwrite"}, b"one"))
    same = ok("files/upload", dbx("files/upload", {"path": path, "mode": "overwrite"}, b"one"))
    other = ok("files/upload", dbx("files/upload", {"path": path, "mode": "overwrite"}, b"two"))
    assert first["rev"] == same["rev"] != other["rev"] and first["id"] == other["id"]
    assert first["content_hash"] != other["content_hash"] and other["size"] == 3


def test_a_bad_path_is_a_400_in_text(dbx):
    r = dbx("files/get_metadata", {"path": "no-slash"})
    assert r.status_code == 400 and r.text.startswith('Error in call to API function "files/get_metadata"')


def test_a_revoked_token_is_401_invalid_access_token(sandbox, dbx):
    token = f"revoked-{uuid.uuid4().hex}"
    httpx.post(f"{sandbox.root}/_sandbox/dropbox/admin/revoke", json={"token": token}).raise_for_status()
    r = dbx("files/get_metadata", {"path": "/x"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.headers["content-type"] == "application/json"
    assert r.json() == {"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}}


def test_a_429_says_when_to_retry_as_the_spec_types_it():
    with SandboxServer(SandboxConfig(rate_limits="off")) as private:
        private.configure(faults={"dropbox": FaultConfig(rate_limit=1.0).model_dump()})
        r = httpx.post(f"{private.urls['dropbox']}/api/2/files/get_metadata", json={"path": "/x"}, headers=AUTH)
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    from stone_check import api
    assert check(api().namespaces["auth"].data_type_by_name["RateLimitError"], r.json()["error"]) == []
