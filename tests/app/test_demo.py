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
    proc = subprocess.run([sys.executable, "-m", "app.cli", "demo", "--state", str(state), "--json"],
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


@pytest.fixture(scope="module")
def clean_demo(tmp_path_factory, demo_env):
    """One uninterrupted demo: its state file, its counts per vendor/kind, its summary."""
    state = tmp_path_factory.mktemp("clean") / "demo.db"
    summary = run_demo(state, demo_env)
    return state, objects(state), summary


def test_demo_onboards_the_sample_client_and_is_idempotent(clean_demo, demo_env):
    state, _, first = clean_demo
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


# ------------------------------------------------------------------ crash between two vendor calls

# Kill points: the first record that shows the run is inside a phase (checked in the sandbox's state file).
KILL_POINTS = {
    "phase 1, after the deal": "SELECT count(*) FROM objects WHERE vendor='hubspot' AND kind='object:deals'",
    "phase 2, after the first proposal": "SELECT count(*) FROM objects WHERE vendor='google' AND kind='file' "
                                         "AND data LIKE '%\"name\": \"Proposal v1%'",
    "phase 3, after the Asana project": "SELECT count(*) FROM objects WHERE vendor='asana' AND kind='project'",
    "phase 3, after the Slack channel": "SELECT count(*) FROM objects WHERE vendor='slack' AND kind='channel' "
                                        "AND data NOT LIKE '%\"name\": \"general\"%'",
}


def _count(state, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5) as db:
            return db.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # not created yet, or locked for a moment
        return 0


def kill_when(state, sql: str, env) -> None:
    """Start the demo and kill it (and its Prefect server) with SIGKILL as soon as ``sql`` counts a row."""
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "demo", "--state", str(state), "--json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while _count(state, sql) == 0:
            assert proc.poll() is None, "the demo ended before the kill point"
            assert time.monotonic() < deadline, "kill point not reached"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_crashed_run_rerun_completes_with_no_duplicate(tmp_path, demo_env, clean_demo, point):
    """SIGKILL mid-run, then the same client again: onboarded, and the sandbox holds exactly what one
    uninterrupted run leaves (the reference: the clean run on a state of its own)."""
    _, reference, _ = clean_demo
    crashed = tmp_path / "crashed.db"
    kill_when(crashed, KILL_POINTS[point], demo_env)
    partial = objects(crashed)
    assert partial != reference  # the kill really left the onboarding unfinished
    again = run_demo(crashed, demo_env)
    assert again["outcome"] == "onboarded" and again["client_id"] == "ACME-0001"
    assert objects(crashed) == reference


# ------------------------------------------------------------------ what a newcomer reads

STEPS = ["B1.1", "A1.3", "A1.1", "A1.2", "A2.1", "B1.2", "A2.3", "B1.3", "B2.1", "B2.2", "B2.3", "B2.4",
         "A3.1", "B3.1", "B3.2", "B3.3", "A3.2", "A3.3", "A3.4", "B3.4", "B4.1"]


def test_the_demo_prints_each_step_as_it_goes_and_no_server_traceback():
    """`onboard demo` as the README has it (SQLite, no --json): a timed line per phase and per SOP step
    while the run goes, the full links, and the Prefect server's own logs in the file it names, not on
    the terminal (Prefect's SQLite transactions once printed "database is locked" tracebacks here)."""
    import re

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ONBOARD_"))}
    proc = subprocess.run([sys.executable, "-m", "app.cli", "demo"], capture_output=True, text=True, env=env,
                          timeout=900, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out and "database is locked" not in out, out[-3000:]
    lines = proc.stdout.splitlines()
    timed = [m.groups() for line in lines if (m := re.match(r"\s*(\d+\.\d) s  (\S+)", line))]
    phases = [word for _, word in timed if word == "Phase"]
    steps = [word for _, word in timed if re.fullmatch(r"[AB]\d\.\d", word)]
    assert len(phases) == 3 and [s for s in STEPS if s not in steps] == []
    seconds = [float(t) for t, _ in timed]
    assert seconds == sorted(seconds) and seconds[-1] - seconds[0] > 1  # printed as it went, not at the end
    assert re.search(r"https://docs\.google\.com/document/d/[\w-]+/edit\b", proc.stdout)  # not cut to the width
    log = re.search(r"Prefect server log: (\S+)", proc.stdout)
    assert log and os.path.exists(log.group(1))
    with open(log.group(1)) as server_log:
        assert "database is locked" not in server_log.read()
