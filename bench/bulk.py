"""P2 bulk: many new clients onboarded at once against the vendors' documented rate limits.

    uv run python bench/bulk.py [--clients 100] [--time-scale 1] [--concurrency 20]

The sandbox enforces every vendor's documented limits (HubSpot 100 / 10 s and search 4 / s, Asana
150 / min, Slack's method tiers and 1 post / s per channel, Zoom's categories, Google's per-user
quotas) with every window multiplied by ``--time-scale``, and the worker's call budgets
(``integrations/budget.py``) run at the same scale. ``--concurrency`` new-client runs go at a time
(threads of one worker process, Prefect on a fresh PostgreSQL database when reachable).

Figures: runs complete and failed; 429s the sandbox answered (the budget should prevent every one);
the wall time against the rate-limit bound of the calls made (per bucket, the windows its calls
need; the slowest bucket); vendor calls per client. Exits non-zero unless every run completed with
no 429 and the wall time is within 1.15 x the bound.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from common import by_vendor, calls, figure, people_answering, quiet_prefect, rate_limit_bound, reset_calls

TARGET = 1.15


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--time-scale", type=float, default=1.0)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()

    quiet_prefect()
    os.environ["ONBOARD_RATE_BUDGET_SCALE"] = str(args.time_scale)
    # an "hour" of the SOP's waits lasts a minute: no wait times out while a run queues for its budget
    os.environ.setdefault("ONBOARD_WAIT_HOUR_SECONDS", "60")
    os.environ.setdefault("ONBOARD_MEETING_HOUR_SECONDS", "0.05")
    from app.simulate import offline_stack, onboard_all, sample_clients

    say = lambda m: print(m, flush=True)  # noqa: E731
    clients = sample_clients(args.clients, args.seed)
    with offline_stack("bulk", say, rate_limits="vendor", time_scale=args.time_scale) as root:

        reset_calls(root)
        with people_answering(root, clients):
            t0 = time.monotonic()  # the sandbox runs in this process: its call log uses this clock
            outcomes = onboard_all(clients, args.concurrency, lambda m: None, raise_errors=False)
            wall = time.monotonic() - t0
        log = calls(root)

    failed = {d: o for d, o in outcomes.items() if isinstance(o, Exception) or o.outcome.value != "onboarded"}
    for domain, o in failed.items():
        print(f"not onboarded: {domain}: {o if isinstance(o, Exception) else o.outcome.value}")
    refused = sum(1 for c in log if c["status"] == 429)
    bound, bucket = rate_limit_bound(log, args.time_scale)
    per_vendor = by_vendor(log)
    n = len(clients)
    ok = figure("P2 runs", f"{n - len(failed)}/{n} onboarded, {len(failed)} failed")
    ok &= figure("P2 429s answered", f"{refused}") and refused == 0 and not failed
    ok &= figure("P2 wall", f"{wall:.1f} s for {n} clients, {args.concurrency} at a time, "
                 f"windows x{args.time_scale:g}; "
                 f"bound {bound:.1f} s ({bucket})", wall / bound if bound else None, TARGET)
    binding = [c for c in log if c["bucket"] == bucket]
    if binding:
        figure("P2 binding bucket in use", f"{binding[0]['start'] - t0:.0f} s to {binding[-1]['end'] - t0:.0f} s "
               f"of the run ({len(binding)} calls; before and after, the runs are elsewhere)")
    figure("P2 vendor calls per client", f"{len(log) / n:.1f} (" + ", ".join(
        f"{v} {k / n:.1f}" for v, k in sorted(per_vendor.items())) + ")")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
