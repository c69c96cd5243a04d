"""`onboard sandbox` prints one line per vendor with the URL its SDK takes, then serves."""

import subprocess
import sys

import httpx
from vendor_sandbox.core.server import VENDOR_LINES, free_port


def test_onboard_sandbox_prints_nine_lines_and_serves(tmp_path):
    port = free_port()
    state = tmp_path / "state.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "sandbox", "--port", str(port), "--state", str(state)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        lines = [proc.stdout.readline().split() for _ in VENDOR_LINES]
        assert [name for name, _ in lines] == list(VENDOR_LINES)
        urls = dict(lines)
        assert urls["hubspot"] == f"http://127.0.0.1:{port}/hubspot"
        assert urls["slack"].endswith("/slack/api/") and urls["zoom-oauth"].endswith("/zoom/oauth/token")
        for _ in range(100):
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/_sandbox/state", timeout=1).json()
                break
            except httpx.HTTPError:
                import time

                time.sleep(0.1)
        # seeded from the company profile: every team member is a HubSpot owner
        owners = {o["email"] for o in body["hubspot"]["owner"]}
        assert "pieter@brightpath.example" in owners
        assert state.exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
