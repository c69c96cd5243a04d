"""The demo's Prefect server: SQLite "database is locked" errors per `onboard demo`, with its write
transactions begun IMMEDIATE (prefect_plumbing/demo_server.py) against Prefect's own DEFERRED.

    uv run python bench/demo_server_locks.py [--runs 3]

Runs the demo ``--runs`` times each way, in turn, and counts the errors in the server's log file (the
demo names it) and the run's time. Exits non-zero when an IMMEDIATE run logs a lock error or fails.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def one_demo(begin: str) -> tuple[int, int, str]:
    """(lock errors in the server log, errors of any kind there, the demo's outcome line)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ONBOARD_"))}
    env["ONBOARD_DEMO_SQLITE_BEGIN"] = begin
    out = subprocess.run([sys.executable, "-m", "app.cli", "demo"], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=900, check=False).stdout
    log = re.search(r"Prefect server log: (\S+)", out)
    text = Path(log.group(1)).read_text(errors="replace") if log else ""
    outcome = next((line for line in out.splitlines() if line.startswith("Outcome")), "no outcome")
    return text.count("database is locked"), text.count("| ERROR"), outcome


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    bad = 0
    for i in range(args.runs):
        for begin in ("immediate", "deferred"):
            locked, errors, outcome = one_demo(begin)
            print(f"{begin:<9} run {i + 1}: 'database is locked' x{locked}, server errors {errors}; {outcome}", flush=True)
            bad += begin == "immediate" and (locked > 0 or "onboarded" not in outcome)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
