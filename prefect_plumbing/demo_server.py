"""The demo's Prefect server: Prefect's ephemeral API (SQLite unless a database URL is set), in a
subprocess whose logs go to a file, with its SQLite write transactions begun IMMEDIATE. Checked on
Prefect 3.8.8.

Prefect begins SQLite transactions DEFERRED. In WAL mode a deferred transaction that has read and
then writes after another connection wrote fails at once with "database is locked" (SQLITE_BUSY_SNAPSHOT:
SQLite cannot wait on busy_timeout there, https://www.sqlite.org/wal.html#sometimes_queries_return_sqlite_busy_in_wal_mode).
Prefect's own comment in ``AioSqliteConfiguration.setup_sqlite`` names the cure, IMMEDIATE: the
transaction takes the write lock when it begins and waits its turn (busy_timeout, 60 s) instead.
Reads outside a transaction are unchanged.

Run as ``python -m prefect_plumbing.demo_server PORT`` (``servers.demo_server`` does).
Measured by `bench/demo_server_locks.py` (`ONBOARD_DEMO_SQLITE_BEGIN=deferred` is Prefect's own way).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager


def begin_write_transactions_immediately() -> None:
    from prefect.server.database.configurations import AioSqliteConfiguration

    begin = AioSqliteConfiguration.begin_transaction

    @asynccontextmanager
    async def begin_immediate(self, session, with_for_update: bool = False) -> AsyncGenerator:
        async with begin(self, session, with_for_update=True) as transaction:  # True: BEGIN IMMEDIATE
            yield transaction

    AioSqliteConfiguration.begin_transaction = begin_immediate


def main(port: int) -> None:
    import os

    import uvicorn

    # as Prefect's own ephemeral server (SubprocessASGIServer): no UI, only the ephemeral services
    os.environ.update(PREFECT_UI_ENABLED="0", PREFECT__SERVER_EPHEMERAL="1", PREFECT__SERVER_FINAL="1")
    if os.environ.get("ONBOARD_DEMO_SQLITE_BEGIN", "immediate") != "deferred":  # deferred: Prefect's own (bench)
        begin_write_transactions_immediately()
    uvicorn.run("prefect.server.api.server:create_app", factory=True, host="127.0.0.1", port=port,
                log_level="error", lifespan="on")


if __name__ == "__main__":
    main(int(sys.argv[1]))
