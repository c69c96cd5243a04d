"""One Prefect API server for the whole test session: on a fresh PostgreSQL database when one is
reachable (as on CI), else on SQLite like `prefect_test_harness`.

Why Postgres: every tagged task run takes a write transaction for tag concurrency checks, and on
SQLite those queue behind the server's event writers (~1 s per task); on Postgres they do not.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from prefect_plumbing.databases import fresh_postgres_database

POSTGRES = os.environ.get("ONBOARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _fresh_postgres_database():
    return fresh_postgres_database(POSTGRES, prefix="onboard_test")


@contextmanager
def prefect_server():
    """Yields the API URL of a started Prefect server; settings point this process at it."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.server.database.dependencies import temporary_database_interface
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_LOGGING_TO_API_ENABLED,
        PREFECT_SERVER_DATABASE_CONNECTION_URL,
        temporary_settings,
    )
    from vendor_sandbox.core.server import free_port

    fresh = _fresh_postgres_database()
    if fresh is None:
        url, drop = "sqlite+aiosqlite:///" + str(Path(tempfile.mkdtemp()) / "prefect.db"), (lambda: None)
    else:
        url, drop = fresh
    try:
        with temporary_database_interface(), temporary_settings({PREFECT_SERVER_DATABASE_CONNECTION_URL: url}):
            server = SubprocessASGIServer(port=free_port())
            prior = SubprocessASGIServer._instances.get(None)
            SubprocessASGIServer._instances[None] = server  # nothing may start a second server
            server.start(timeout=180)
            try:
                # no log shipping: after the last test the server is gone before the log batch flushes
                with temporary_settings({PREFECT_API_URL: server.api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
                                         PREFECT_LOGGING_TO_API_ENABLED: False}):
                    yield server.api_url
            finally:
                server.stop()
                if prior is None:
                    SubprocessASGIServer._instances.pop(None, None)
                else:
                    SubprocessASGIServer._instances[None] = prior
    finally:
        drop()
