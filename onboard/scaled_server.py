"""Prefect's server as it scales out, on one machine: the API and the background services in two
processes that share a PostgreSQL database and Redis (``prefect-redis`` messaging).

In one process (``prefect server start`` or the ephemeral server) the services that record task runs
and store events share the API's event loop: on two cores a new-client run's ~100 task runs kept that
process near a full core and its API answers took 2-5 x longer (README, "Where a run's time goes").
Split, the API answers while the services record. The benchmarks use this when Postgres and Redis
are reachable; `prefect server start --no-services` plus `prefect server services start` with the
same settings is the production shape (README, "Deploying").
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

REDIS = "redis://127.0.0.1:6379"
START_TIMEOUT = 180  # s: migrations on a new database, then the API


def messaging_settings(redis_url: str) -> dict[str, str]:
    """The settings that put Prefect's messaging, event ordering and concurrency leases in Redis."""
    return {
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_REDIS_MESSAGING_URL": redis_url,
        "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
    }


def empty_redis_database(base: str = REDIS) -> tuple[str, Callable[[], object]] | None:
    """(URL of a Redis database with no keys, a function that empties it again), or None without Redis.
    Databases 1-15 are tried in turn, so runs side by side do not share streams."""
    try:
        import redis
    except ImportError:
        return None
    for db in range(1, 16):
        client = redis.Redis.from_url(f"{base}/{db}", socket_connect_timeout=2)
        try:
            if client.dbsize() == 0:
                client.set("onboard:claimed", "1")  # claimed before the server writes its first stream
                return f"{base}/{db}", lambda c=client: c.flushdb()
        except redis.RedisError:
            return None
    return None


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


@contextmanager
def _process(args: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
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
    while True:
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"the Prefect API did not start on {api_url} (log: {log_path}):\n{tail}")
        time.sleep(0.5)
