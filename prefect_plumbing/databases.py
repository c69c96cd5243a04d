"""Throw-away databases for a Prefect server (tests, simulations, benchmarks): a PostgreSQL database
and a Redis database, when the servers are reachable.

Prefect checks tag concurrency for every tagged task run in a write transaction; on SQLite those
queue behind the server's own writers, on PostgreSQL they do not (see README, "Why Postgres in tests").
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379"


def fresh_postgres_database(admin_url: str = LOCAL, prefix: str = "onboard") -> tuple[str, Callable[[], None]] | None:
    """(SQLAlchemy URL of a new empty database, a function that drops it), or None without Postgres."""
    if admin_url.lower() in ("", "off", "none"):
        return None
    try:
        import asyncpg
    except ImportError:
        return None
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url, timeout=3)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except Exception:  # noqa: BLE001 - no reachable Postgres: the caller falls back to SQLite
        return None
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}", lambda: asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
