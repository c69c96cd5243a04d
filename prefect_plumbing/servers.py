"""Prefect servers started by this project: the one `onboard serve` runs for staff, and the server as
it scales out, on one machine: the API and the background services in two processes that share a
PostgreSQL database and Redis (``prefect-redis`` messaging). Checked on Prefect 3.8.8.

In one process (``prefect server start`` or the ephemeral server) the services that record task runs
and store events share the API's event loop: on two cores a new-client run's ~100 task runs kept that
process near a full core and its API answers took 2-5 x longer (README, "Where a run's time goes").
Split, the API answers while the services record. The benchmarks use this when Postgres and Redis
are reachable; `prefect server start --no-services` plus `prefect server services start` with the
same settings is the production shape (README, "Deploying").
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

START_TIMEOUT = 180.0  # seconds: migrations on a new database, then the API (the UI is built on first start)


def messaging_settings(redis_url: str) -> dict[str, str]:
    """The settings that put Prefect's messaging, event ordering and concurrency leases in Redis."""
    return {
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_REDIS_MESSAGING_URL": redis_url,
        "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
    }


@contextmanager
def scaled_server(database_url: str, redis_url: str, port: int, home: Path) -> Iterator[str]:
    """The API on ``port`` and the services, both on ``database_url`` and ``redis_url``; yields the
    API URL once it answers; stops both afterwards (services first)."""
    api_url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(messaging_settings(redis_url), PREFECT_API_DATABASE_CONNECTION_URL=database_url,
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_HOME=str(home), PREFECT_API_URL=api_url)
    prefect = [sys.executable, "-m", "prefect", "server"]
    with ExitStack() as stack:
        api = stack.enter_context(_process(prefect + ["start", "--no-services", "--host", "127.0.0.1", "--port",
                                                      str(port)], env, home / "api.log"))
        _wait_healthy(api_url, api, home / "api.log")
        # the services start after the API has migrated the database
        stack.enter_context(_process(prefect + ["services", "start"], env, home / "services.log"))
        yield api_url


@dataclass
class StartingServer:
    api_url: str
    log_path: Path
    process: subprocess.Popen

    def wait_ready(self) -> None:
        _wait_healthy(self.api_url, self.process, self.log_path)


@contextmanager
def demo_server(home: Path) -> Iterator[StartingServer]:
    """The demo's server (``prefect_plumbing.demo_server``) on a free port, its logs in ``home``; yields
    it at once (``wait_ready`` before the first API call: the caller imports Prefect meanwhile)."""
    home.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    log_path = home / "prefect-server.log"
    with _process([sys.executable, "-m", "prefect_plumbing.demo_server", str(port)], env, log_path,
                  stop_with_parent=True) as proc:  # a killed demo leaves no server behind
        yield StartingServer(f"http://127.0.0.1:{port}/api", log_path, proc)


@contextmanager
def _process(args: list[str], env: dict[str, str], log_path: Path,
             stop_with_parent: bool = False) -> Iterator[subprocess.Popen]:
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=_stop_with_parent() if stop_with_parent else None)  # noqa: PLW1509
    try:
        yield proc
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout`` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(api_url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not _healthy(api_url):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"the Prefect API did not start on {api_url} (log: {log_path}):\n{tail}")
        time.sleep(0.5)


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Nothing listens on ``port`` (a socket in TIME_WAIT is no obstacle)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is no obstacle
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _stop_with_parent():
    """A preexec_fn for the child: SIGTERM when this process dies, even by SIGKILL (Linux; None elsewhere).
    libc is loaded here, in the parent, so the child between fork and exec only makes one call."""
    try:
        import ctypes

        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextmanager
def local_prefect_server(port: int, host: str = "127.0.0.1") -> Iterator[str]:
    """`prefect server start` on ``port`` in a subprocess; yields its API URL; stops it afterwards."""
    from prefect.settings import PREFECT_HOME

    if not port_free(port, host):
        raise SystemExit(f"port {port} is taken. If a Prefect server runs there, use it with "
                         f"PREFECT_API_URL=http://{host}:{port}/api; else pick another with --port.")
    home = Path(PREFECT_HOME.value())
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "onboard-serve-server.log"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    api_url = f"http://{host}:{port}/api"
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT", "false")
    env.update(PREFECT_SERVER_API_HOST=host, PREFECT_SERVER_API_PORT=str(port),
               # else the UI calls the API on the default port 4200; behind a proxy, the address browsers use
               PREFECT_SERVER_UI_API_URL=env.get("PREFECT_SERVER_UI_API_URL") or env.get("PREFECT_UI_API_URL") or api_url)
    with open(log_path, "ab") as log:
        # Its own session: Ctrl-C in the terminal reaches this process only, which stops the served
        # runs first (they need the API to record that) and the server last.
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_stop_with_parent(),  # noqa: PLW1509
        )
    try:
        _wait_healthy(api_url, proc, log_path)
        print(f"Prefect server started (log: {log_path})", flush=True)
        yield api_url
    finally:
        stop_process(proc)
