"""Documents as PDFs (services/documents.py) and the storage switch of config/company.yaml."""

from __future__ import annotations

import time

import pytest
import yaml

from services.clients import sandbox_clients
from services.documents import html_to_pdf
from services.settings import REPO
from sop.profile import ProfileError, load_profile


def test_the_same_html_gives_the_same_pdf_bytes():
    html = "<h1>Proposal v1 — Testco</h1><p>Price: ZAR 60,000</p><ul><li>Strategy</li></ul>"
    first = html_to_pdf(html)
    time.sleep(1.1)  # a creation time in the PDF would differ now
    assert first.startswith(b"%PDF") and html_to_pdf(html) == first
    assert html_to_pdf(html.replace("v1", "v2")) != first


def test_storage_defaults_to_google_drive_and_refuses_an_unknown_one(tmp_path):
    assert load_profile(REPO / "config" / "company.yaml").storage == "google_drive"
    profile = yaml.safe_load((REPO / "config" / "company.yaml").read_text())
    bad = tmp_path / "company.yaml"
    bad.write_text(yaml.safe_dump({**profile, "storage": "box"}))
    with pytest.raises(ProfileError, match="storage: Input should be 'google_drive' or 'dropbox'"):
        load_profile(bad)


def test_the_documents_client_follows_the_switch(sandbox):
    drive = sandbox_clients(sandbox.root)
    dropbox = sandbox_clients(sandbox.root, storage="dropbox")
    assert drive.dropbox is None and drive.documents is drive.drive
    assert dropbox.documents is dropbox.dropbox and dropbox.dropbox is not None
