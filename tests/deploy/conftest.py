"""`onboard serve` as ops and staff use it, started once for the tests of this package."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from vendor_sandbox.core.server import free_port

from services.settings import REPO

SERVE_START_TIMEOUT = 180  # s: Prefect server start (migrations, UI build) and the deployments served


@dataclass
class Served:
    ui: str
    api: str
    sandbox: str
    log: Path

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def flow_runs(self, **flow_runs_filter: Any) -> list[dict[str, Any]]:
        r = httpx.post(f"{self.api}/flow_runs/filter", json={"flow_runs": flow_runs_filter, "limit": 50}, timeout=30)
        r.raise_for_status()
        return r.json()

    def flow_run(self, run_id: str) -> dict[str, Any]:
        r = httpx.get(f"{self.api}/flow_runs/{run_id}", timeout=30)
        r.raise_for_status()
        return r.json()


def wait_for(what: str, check: Callable[[], Any], timeout: float, served: Served | None = None,
             poll: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}"
                                 + (f"\n--- onboard serve log ---\n{served.log_tail()}" if served else ""))
        time.sleep(poll)


@pytest.fixture(scope="package")
def served(tmp_path_factory) -> Iterator[Served]:
    """`onboard serve` in its own process group (server, sandbox, the deployments of prefect.yaml),
    shared by the tests of this package."""
    from tests.prefect_server import _fresh_postgres_database

    home = tmp_path_factory.mktemp("serve")
    port, sandbox_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ONBOARD_"))}
    env.update(
        PREFECT_HOME=str(home / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_RUNNER_POLL_FREQUENCY="2",  # the served runner picks a new run up within 2 s (default 10)
        ONBOARD_POLL_SECONDS="1",  # how often a waiting run checks for the form / the staff answer
        PYTHONUNBUFFERED="1",
    )  # ONBOARD_WAIT_HOUR_SECONDS stays unset: real hours, as in production
    fresh = _fresh_postgres_database()  # a Postgres-backed server when one is reachable, else SQLite
    if fresh:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = fresh[0]
    log = home / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--sandbox-port", str(sandbox_port)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the server and flow runs stop with it
        )
    api = f"http://127.0.0.1:{port}/api"
    s = Served(ui=f"http://127.0.0.1:{port}", api=api, sandbox=f"http://127.0.0.1:{sandbox_port}", log=log)

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"onboard serve exited with {proc.returncode}:\n{s.log_tail()}")
        try:
            return httpx.get(f"{api}/deployments/name/onboard-client/new-client", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for("onboard serve to serve new-client", ready, SERVE_START_TIMEOUT, s)
        wait_for("the printed addresses", lambda: f"Prefect UI:  {s.ui}" in s.log_tail(100_000)
                 and f"sandbox:     {s.sandbox}" in s.log_tail(100_000), 30, s)
        yield s
    finally:
        for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
                time.sleep(0.5)  # children of the group (server, flow runs) end with it
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything of the group still there
        except ProcessLookupError:
            pass
        if fresh:
            fresh[1]()


