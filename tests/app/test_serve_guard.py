"""`onboard serve` keeps the Prefect UI (every client's personal details in run parameters) on this
machine unless Prefect's API authentication is configured."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.serve import unprotected_bind
from services.settings import REPO


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_needs_nothing(host, monkeypatch):
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    assert unprotected_bind(host) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "onboarding.internal", "::"])
def test_any_other_address_needs_the_auth_string(host, monkeypatch):
    monkeypatch.delenv("PREFECT_SERVER_API_AUTH_STRING", raising=False)
    refused = unprotected_bind(host)
    assert refused and host in refused and "PREFECT_SERVER_API_AUTH_STRING" in refused
    monkeypatch.setenv("PREFECT_SERVER_API_AUTH_STRING", "ops:a-long-secret")
    assert unprotected_bind(host) is None


def test_the_command_refuses_before_starting_anything():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ONBOARD_"))}
    proc = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--host", "0.0.0.0"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0
    assert "refusing to serve the Prefect UI on 0.0.0.0" in proc.stderr + proc.stdout
    assert "starting a local Prefect server" not in proc.stdout
