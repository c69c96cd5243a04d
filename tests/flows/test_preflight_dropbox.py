"""The doctor's Dropbox line (flows/preflight.py): with ``storage: dropbox`` the token answers a read of the
clients' folder; a revoked token is a failed check with its fix; no line with Google Drive."""

from __future__ import annotations

import uuid
from dataclasses import replace

import httpx

from flows.preflight import dropbox_checks
from integrations import dropbox
from services import Services
from services.clients import sandbox_clients
from services.settings import Settings


def dropbox_services(sandbox, token: str | None = None) -> Services:
    svc = Services(Settings(sandbox_url=sandbox.root), sandbox_clients(sandbox.root, storage="dropbox"))
    svc.profile = svc.profile.model_copy(update={"storage": "dropbox"})
    if token:
        svc.clients = replace(svc.clients, dropbox=dropbox.connect(token, base_url=sandbox.urls["dropbox"]))
    return svc


def test_the_token_answers_before_and_after_the_first_folder(sandbox):
    svc = dropbox_services(sandbox)
    (check,) = dropbox_checks(svc)
    assert check.ok and check.vendor == "dropbox"
    svc.clients.dropbox.ensure_folder("/Clients")
    (check,) = dropbox_checks(svc)
    assert check.ok and check.detail == "/Clients found"


def test_a_revoked_token_fails_with_its_fix(sandbox):
    token = f"revoked-{uuid.uuid4().hex}"
    httpx.post(f"{sandbox.root}/_sandbox/dropbox/admin/revoke", json={"token": token}).raise_for_status()
    (check,) = dropbox_checks(dropbox_services(sandbox, token))
    assert not check.ok and "NotAuthorized" in check.detail and check.fix


def test_no_dropbox_line_with_google_drive(sandbox):
    assert dropbox_checks(Services(Settings(sandbox_url=sandbox.root), sandbox_clients(sandbox.root))) == []
