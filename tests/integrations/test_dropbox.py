"""Dropbox contract suite: ``integrations.dropbox`` (the official SDK, unmodified) over real HTTP against the
sandbox; the sandbox's answers are checked against Dropbox's Stone specification in
sandbox/tests/test_dropbox.py. Sections: connect, idempotency, errors, retries and rate limits."""

from __future__ import annotations

import functools
import uuid

import httpx
import pytest
import requests
from vendor_sandbox import FaultConfig, SandboxConfig, SandboxServer

from integrations import dropbox as dbx_module
from integrations import retry
from integrations.dropbox import DropboxStorage, content_hash
from integrations.errors import Conflict, IntegrationError, NotAuthorized, NotFound, RateLimited, Transient

TOKEN = "sandbox-token"


@pytest.fixture
def dbx(sandbox) -> DropboxStorage:
    return dbx_module.connect(TOKEN, base_url=sandbox.urls["dropbox"])


@pytest.fixture
def dropbox_faults(sandbox):
    def set_faults(**probabilities: float) -> None:
        sandbox.configure(faults={"dropbox": FaultConfig(**probabilities).model_dump()})

    yield set_faults
    sandbox.configure(faults={"dropbox": FaultConfig().model_dump()})


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(retry, "call", functools.partial(retry.call, sleep=lambda s: None))


def root() -> str:
    return f"/Clients/Testco {uuid.uuid4().hex[:8]} (testco.example)"


def entries(sandbox, under: str) -> list[dict]:
    state = httpx.get(f"{sandbox.root}/_sandbox/state", params={"vendor": "dropbox"}).json()["dropbox"]
    return [e for e in state.get("entry", []) if e["path_lower"].startswith(under.lower() + "/")]


# --- connect


def test_the_sdk_keeps_its_hosts_and_the_adapter_sends_them_to_the_sandbox(sandbox):
    session = dbx_module.sandbox_session(sandbox.urls["dropbox"])
    r = session.post("https://api.dropboxapi.com/2/files/get_metadata", json={"path": "/nothing"},
                     headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 409 and r.json()["error_summary"].startswith("path/not_found")
    assert r.url.startswith(sandbox.urls["dropbox"] + "/api/2/")
    assert dbx_module.HOSTS == {"api": "api.dropboxapi.com", "content": "content.dropboxapi.com"}


def test_over_tls_with_the_sandbox_ca_and_refused_without_it():
    """The sandbox's HTTPS listener (a trustme CA): the SDK's HTTPS reaches it with ``ca_certs``; without
    the CA the certificate is refused, as a stranger's would be."""
    with SandboxServer(SandboxConfig(rate_limits="off"), tls=True) as tls:
        base = tls.tls_root + "/dropbox"
        assert base.startswith("https://127.0.0.1:")
        secure = dbx_module.connect(TOKEN, base_url=base, ca_certs=tls.ca_path)
        made = secure.ensure_folder("/Clients/Over TLS")
        assert secure.upload(f"{made.path}/a.pdf", b"%PDF").kind == "file"
        with pytest.raises(IntegrationError, match="TLS") as info:
            dbx_module.connect(TOKEN, base_url=base).get("/Clients")
        assert not isinstance(info.value, Transient)


def test_a_refresh_token_gets_a_short_lived_token_and_a_revoked_one_is_refused(sandbox):
    refresh = f"refresh-{uuid.uuid4().hex}"
    store = dbx_module.connect(base_url=sandbox.urls["dropbox"], refresh_token=refresh, app_key="key", app_secret="s")
    assert store.ensure_folder(f"{root()}/Proposals").kind == "folder"  # the SDK fetched its access token first
    httpx.post(f"{sandbox.root}/_sandbox/dropbox/admin/revoke", json={"token": refresh}).raise_for_status()
    with pytest.raises(NotAuthorized):  # the access token made from it is refused too
        store.get("/Clients")
    with pytest.raises(NotAuthorized):  # and no new one is given (oauth2/token: 400 invalid_grant)
        dbx_module.connect(base_url=sandbox.urls["dropbox"], refresh_token=refresh, app_key="key").get("/x")
    with pytest.raises(ValueError, match="refresh_token"):
        dbx_module.connect(base_url=sandbox.urls["dropbox"])


# --- idempotency


def test_a_folder_is_found_by_path_whatever_its_case(dbx, sandbox):
    base = root()
    made = dbx.ensure_folder(f"{base}/Proposals")
    again = dbx.ensure_folder(f"{base.upper()}/PROPOSALS")
    assert made == again and made.kind == "folder" and made.id == f"{base}/Proposals"
    assert [e["path_display"] for e in entries(sandbox, base)] == [f"{base}/Proposals"]


def test_an_identical_upload_is_not_sent_again(dbx, sandbox, monkeypatch):
    base = root()
    path = f"{base}/Contracts/Service agreement — Testco.pdf"
    first = dbx.upload(path, b"%PDF-1.4 terms")
    assert first.content_hash == content_hash(b"%PDF-1.4 terms") and first.size == 14
    sent = []
    monkeypatch.setattr(dbx._dbx, "files_upload", lambda *a, **k: sent.append(a))
    assert dbx.upload(path, b"%PDF-1.4 terms") == first and sent == []  # same content: no call
    monkeypatch.undo()
    changed = dbx.upload(path, b"%PDF-1.4 new terms")
    assert changed.content_hash != first.content_hash and changed.dropbox_id == first.dropbox_id
    assert len(entries(sandbox, base)) == 2  # the folder and one file


def test_the_shared_link_is_view_only_and_made_once(dbx):
    path = f"{root()}/Proposals/p.pdf"
    dbx.upload(path, b"%PDF")
    link = dbx.shared_link(path)
    assert link.access == "viewer" and link.audience == "public" and link.url.startswith("https://www.dropbox.com/scl/")
    assert dbx.shared_link(path.upper()) == link  # shared_link_already_exists → the existing one


def test_one_file_request_per_destination(dbx):
    uploads = dbx.ensure_folder(f"{root()}/Uploads")
    made = dbx.file_request("Files for Testco", uploads.path)
    assert made.is_open and made.destination == uploads.path and made.url.startswith("https://www.dropbox.com/request/")
    assert dbx.file_request("Another title", uploads.path.lower()) == made


def test_delete_removes_the_folder_and_says_when_there_was_none(dbx, sandbox):
    base = root()
    dbx.upload(f"{base}/Proposals/p.pdf", b"x")
    assert dbx.delete(base) is True and entries(sandbox, base) == [] and dbx.get(base) is None
    assert dbx.delete(base) is False


# --- errors


def test_errors_are_translated(dbx, sandbox):
    base = root()
    dbx.upload(f"{base}/a.pdf", b"x")
    with pytest.raises(Conflict, match="is a file, not a folder"):
        dbx.ensure_folder(f"{base}/a.pdf")
    with pytest.raises(NotFound, match="not_found"):
        dbx.file_request("x", f"{base}/missing")
    token = f"revoked-{uuid.uuid4().hex}"
    httpx.post(f"{sandbox.root}/_sandbox/dropbox/admin/revoke", json={"token": token}).raise_for_status()
    with pytest.raises(NotAuthorized, match="invalid_access_token") as info:
        dbx_module.connect(token, base_url=sandbox.urls["dropbox"]).get("/x")
    assert info.value.status == 401


def test_a_dropped_connection_is_transient():
    err = dbx_module.translate(requests.ConnectionError("refused"))
    assert isinstance(err, Transient)


# --- retries and rate limits


def test_a_429_is_retried_after_retry_after(dbx, dropbox_faults, monkeypatch):
    waits = []
    monkeypatch.setattr(retry, "call", functools.partial(retry.call, sleep=waits.append))
    dropbox_faults(rate_limit=0.5)
    folders = [dbx.ensure_folder(f"{root()}/F") for _ in range(4)]
    assert all(f.kind == "folder" for f in folders) and waits and set(waits) == {1}


def test_a_429_that_lasts_is_rate_limited(dbx, dropbox_faults, monkeypatch):
    monkeypatch.setattr(retry, "call", functools.partial(retry.call, sleep=lambda s: None, attempts=2))
    dropbox_faults(rate_limit=1.0)
    with pytest.raises(RateLimited) as info:
        dbx.get("/x")
    assert info.value.retry_after == 1


def test_a_5xx_on_a_read_is_retried(dbx, dropbox_faults, quick_retries):
    dropbox_faults(server_error=0.5)
    assert dbx.get(f"{root()}/nothing") is None
