"""Fault run: N concurrent new-client runs while the sandbox injects 429s, 500s, 503s and slow answers.

    uv run python bench/faults.py [--clients 50] [--fault-rate 0.2] [--seed 1]

Every vendor gets the same seeded mix (a quarter of the rate each: 429 in the vendor's shape, 500,
503, and an answer delayed by --slow-seconds). Afterwards every resource in the sandbox is grouped by
its natural key (company domain, contact email, deal key, note key, invoice key, line item per
deal or invoice, channel name, project name, task in project, file name in folder, form title,
Message-ID, meeting topic and start, event id);
a group with more than one member is a duplicate. Prints ``N/N complete, D duplicates`` and the
figures, and exits non-zero unless every run completed with no duplicate.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

import httpx

VENDORS = ("hubspot", "asana", "google", "slack", "zoom")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--fault-rate", type=float, default=0.2)
    ap.add_argument("--slow-seconds", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    from vendor_sandbox.core.faults import FaultConfig

    from app.census import natural_keys
    from app.simulate import offline_stack, onboard_all, sample_clients, staff_answers

    # approvals are answered within a second or two, but 50 runs on two cores need slack: an "hour"
    # of the SOP's waits lasts 10 s here, so no wait times out under the load itself
    os.environ.setdefault("ONBOARD_WAIT_HOUR_SECONDS", "10")
    os.environ.setdefault("ONBOARD_MEETING_HOUR_SECONDS", "0.05")
    q = args.fault_rate / 4
    faults = {v: FaultConfig(rate_limit=q, server_error=q, unavailable=q, slow=q, slow_seconds=args.slow_seconds)
              for v in VENDORS}
    say = lambda m: print(m, flush=True)  # noqa: E731
    with offline_stack("faults", say, rate_limits="off", seed=args.seed, faults=faults) as root:
        from app.people import INTAKE_ANSWERS, ClientActor, Staff
        from services.settings import Settings

        clients = sample_clients(args.clients, args.seed)
        staff = Staff(staff_answers(Settings().rules, clients), say=lambda m: None).start()
        actor = ClientActor(root, "clients@faults.example", INTAKE_ANSWERS, say=lambda m: None, poll=0.5).start()
        t0 = time.perf_counter()
        try:
            outcomes = onboard_all(clients, args.clients, say, raise_errors=False)
        finally:
            staff.stop()
            actor.stop()
        seconds = time.perf_counter() - t0
        stats = httpx.get(f"{root}/_sandbox/stats").json()
        httpx.post(f"{root}/_sandbox/config", json={"faults": {v: FaultConfig().model_dump() for v in VENDORS}})
        state = httpx.get(f"{root}/_sandbox/state", timeout=120).json()
    complete = sum(1 for o in outcomes.values() if not isinstance(o, Exception) and o.outcome.value == "onboarded")
    dupes = {k: n for k, n in natural_keys(state).items() if n > 1}
    for (kind, key), n in sorted(dupes.items()):
        print(f"duplicate: {kind} {key!r} x{n}")
    for domain, o in outcomes.items():
        if isinstance(o, Exception) or o.outcome.value != "onboarded":
            print(f"not complete: {domain}: {o if isinstance(o, Exception) else o.outcome.value}")
    print(f"{complete}/{len(clients)} complete, {sum(n - 1 for n in dupes.values())} duplicates")
    by_status: Counter = Counter()
    for codes in stats["status"].values():
        by_status.update({k: v for k, v in codes.items()})
    faults_seen = {k: v for k, v in sorted(by_status.items()) if k in ("429", "500", "503")}
    print(f"vendor calls: {stats['total']} ({stats['total'] / len(clients):.0f} per client); injected faults "
          f"answered: {faults_seen}")
    print(f"wall: {seconds:.0f} s for {len(clients)} concurrent runs at {args.fault_rate:.0%} faults "
          f"(seed {args.seed})")
    return 0 if complete == len(clients) and not dupes else 1


if __name__ == "__main__":
    sys.exit(main())
