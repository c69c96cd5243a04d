"""The main job, as a newcomer runs it: `onboard demo --state FILE --json`, twice on one state."""

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter

import pytest

from tests.prefect_server import _fresh_postgres_database


def run_demo(state, env) -> dict:
    proc = subprocess.run([sys.executable, "-m", "onboard.cli", "demo", "--state", str(state), "--json"],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def objects(state) -> Counter:
    """Every record in the sandbox by vendor and kind, except Zoom access tokens (each process that
    connects gets a new one, as from Zoom itself)."""
    with sqlite3.connect(state) as db:
        return Counter(f"{v}/{k}" for v, k in db.execute("SELECT vendor, kind FROM objects")
                       if (v, k) != ("zoom", "token"))


@pytest.fixture(scope="module")
def demo_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ONBOARD_"))}
    fresh = _fresh_postgres_database()  # faster than SQLite under many tagged tasks; SQLite otherwise
    if fresh:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = fresh[0]
    yield env
    if fresh:
        fresh[1]()


def test_demo_onboards_the_sample_client_and_is_idempotent(tmp_path, demo_env):
    state = tmp_path / "demo.db"
    first = run_demo(state, demo_env)
    assert first["outcome"] == "onboarded" and first["client_id"] == "ACME-0001"
    assert set(first["seconds_per_phase"]) == {"phase 1", "phase 2", "phase 3"}

    with sqlite3.connect(state) as db:
        rows = {(v, k): [json.loads(d) for (d,) in db.execute(
            "SELECT data FROM objects WHERE vendor=? AND kind=? ORDER BY seq", (v, k))]
            for v, k in db.execute("SELECT DISTINCT vendor, kind FROM objects")}
    hub = {k: [o for o in objs if not o.get("archived")] for (v, k), objs in rows.items() if v == "hubspot"}
    assert len(hub["object:companies"]) == 1 and len(hub["object:contacts"]) == 1
    (deal,) = hub["object:deals"]
    pipeline = next(p for p in hub["pipeline:deals"] if p["label"] == "Client Onboarding")
    won = next(s["id"] for s in pipeline["stages"] if s["label"] == "Closed won")
    assert deal["properties"]["dealstage"] == won
    assert len(hub["object:notes"]) >= 5

    tasks = rows[("asana", "task")]
    assert len(tasks) >= 10 and all(t.get("assignee") for t in tasks)
    channel = next(c for c in rows[("slack", "channel")] if c["name"].startswith("acme-corp"))
    assert len(channel["_members"]) >= 5  # the bot and the four team members
    posts = [m for (v, k), objs in rows.items() if v == "slack" and channel["id"] in k for m in objs]
    assert any("ACME-0001" in m.get("text", "") and "Project plan" in m["text"] for m in posts)

    names = [f["name"] for f in rows[("google", "file")]]
    for expected in ("Proposal v1", "Proposal v2", "Service agreement", "Welcome letter"):
        assert any(n.startswith(expected) for n in names), names
    assert len(first["emails"]) >= 5
    meetings = rows[("zoom", "meeting")]
    events = [e for e in rows[("google", "event")] if e.get("status") != "cancelled"]
    assert len(meetings) >= 2
    for m in meetings:  # each Zoom meeting has a Calendar invite at the same time with its link
        assert any(m["join_url"] in (e.get("location") or "") for e in events), m["topic"]

    before = objects(state)
    second = run_demo(state, demo_env)
    assert second["outcome"] == "onboarded" and second["client_id"] == "ACME-0001"
    assert objects(state) == before  # no second record of any kind
