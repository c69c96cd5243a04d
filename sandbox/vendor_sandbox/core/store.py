"""SQLite state for the sandbox: every vendor object is a JSON row keyed by (vendor, kind, id).

In-memory by default; a file path (``onboard sandbox --state FILE``) keeps state across restarts
and lets anyone inspect it with ``sqlite3``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    vendor TEXT NOT NULL,
    kind   TEXT NOT NULL,
    id     TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (vendor, kind, id)
);
CREATE INDEX IF NOT EXISTS objects_by_seq ON objects (vendor, kind, seq);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class Store:
    """Thread-safe JSON object store shared by all vendor backends."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = str(path) if path else ":memory:"
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._indexes: set[str] = set()
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)

    def vendor(self, name: str) -> VendorStore:
        return VendorStore(self, name)

    def next_int(self, name: str, start: int) -> int:
        """Next value of a named counter; the first call returns ``start``."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()
            value = start if row is None else row[0] + 1
            self._conn.execute(
                "INSERT INTO counters(name, value) VALUES(?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                (name, value),
            )
            return value

    def put(self, vendor: str, kind: str, id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Insert or replace an object; a replaced object keeps its place in listings."""
        with self._lock:
            seq = self.next_int("__seq__", 1)
            self._conn.execute(
                "INSERT INTO objects(vendor, kind, id, seq, data) VALUES(?,?,?,?,?) "
                "ON CONFLICT(vendor, kind, id) DO UPDATE SET data=excluded.data",
                (vendor, kind, id, seq, json.dumps(data)),
            )
        return data

    def get(self, vendor: str, kind: str, id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM objects WHERE vendor=? AND kind=? AND id=?", (vendor, kind, id)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, vendor: str, kind: str, id: str) -> bool:
        with self._lock:
            cur = self._conn.execute(
                "DELETE FROM objects WHERE vendor=? AND kind=? AND id=?", (vendor, kind, id)
            )
        return cur.rowcount > 0

    def list(self, vendor: str, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT data FROM objects WHERE vendor=? AND kind=? ORDER BY seq", (vendor, kind)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def where(self, vendor: str, kind: str, field: str, op: str, value: str,
              fold_case: bool = False) -> list[dict[str, Any]]:
        """The objects of ``kind`` whose JSON ``field`` (e.g. ``properties.domain``) is ``op`` (``=``, ``<``,
        ``<=``, ``>``, ``>=``) ``value``, ASCII case folded with ``fold_case``, through an index on that
        field made the first time it is asked for: a vendor looks its records up, it does not read them all."""
        if op not in ("=", "<", "<=", ">", ">=") or not re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*", field):
            raise ValueError(f"cannot look up {field!r} {op!r}")
        expr = f"lower(json_extract(data, '$.{field}'))" if fold_case else f"json_extract(data, '$.{field}')"
        index = "objects_by_" + re.sub(r"\W", "_", f"{field}_{int(fold_case)}")
        with self._lock:
            if index not in self._indexes:
                self._conn.execute(f"CREATE INDEX IF NOT EXISTS {index} ON objects (vendor, kind, {expr})")
                self._indexes.add(index)
            rows = self._conn.execute(  # ordered here: ORDER BY seq would make SQLite pick the seq index
                f"SELECT seq, data FROM objects INDEXED BY {index} WHERE vendor=? AND kind=? AND {expr} {op} ?",
                (vendor, kind, value.lower() if fold_case else value),
            ).fetchall()
        return [json.loads(data) for _, data in sorted(rows)]

    def list_prefix(self, vendor: str, kind: str, id_prefix: str) -> list[dict[str, Any]]:
        """The objects of ``kind`` whose id starts with ``id_prefix`` (a range on the primary key)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT data FROM objects WHERE vendor=? AND kind=? AND id >= ? AND id < ? ORDER BY seq",
                (vendor, kind, id_prefix, id_prefix + "\U0010ffff"),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def kinds(self, vendor: str) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT kind FROM objects WHERE vendor=? ORDER BY kind", (vendor,)
            ).fetchall()
        return [r[0] for r in rows]

    def dump(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Everything, as ``{vendor: {kind: [objects in creation order]}}``."""
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        with self._lock:
            rows = self._conn.execute("SELECT vendor, kind, data FROM objects ORDER BY seq").fetchall()
        for vendor, kind, data in rows:
            out.setdefault(vendor, {}).setdefault(kind, []).append(json.loads(data))
        return out

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The writes inside land together or not at all, as one request's writes do at the vendor
        (a process killed half-way through leaves neither half). Nested blocks join the outer one."""
        with self._lock:
            if self._conn.in_transaction:
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def reset(self) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM objects")
            self._conn.execute("DELETE FROM counters")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class VendorStore:
    """The store seen by one vendor backend: the same calls without the vendor argument."""

    def __init__(self, store: Store, vendor: str) -> None:
        self.store = store
        self.name = vendor

    def next_int(self, counter: str, start: int) -> int:
        return self.store.next_int(f"{self.name}.{counter}", start)

    def transaction(self):
        return self.store.transaction()

    def put(self, kind: str, id: str, data: dict[str, Any]) -> dict[str, Any]:
        return self.store.put(self.name, kind, id, data)

    def get(self, kind: str, id: str) -> dict[str, Any] | None:
        return self.store.get(self.name, kind, id)

    def delete(self, kind: str, id: str) -> bool:
        return self.store.delete(self.name, kind, id)

    def list(self, kind: str) -> list[dict[str, Any]]:
        return self.store.list(self.name, kind)

    def list_prefix(self, kind: str, id_prefix: str) -> list[dict[str, Any]]:
        return self.store.list_prefix(self.name, kind, id_prefix)

    def where(self, kind: str, field: str, op: str, value: str, fold_case: bool = False) -> list[dict[str, Any]]:
        return self.store.where(self.name, kind, field, op, value, fold_case)

    def iter(self, kind: str) -> Iterator[dict[str, Any]]:
        return iter(self.list(kind))

    def dump(self, kinds: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
        return {kind: self.list(kind) for kind in self.store.kinds(self.name) if not kinds or kind in kinds}
