"""P4 — the daily sweep at scale: N clients in HubSpot, 1% of them with an action due today.

    uv run python bench/sweep.py [--clients 10000] [--due-percent 1] [--baseline 1000]

Seeds the sandbox's HubSpot with companies (batch create, 100 a call) whose engagement is planned:
the due ones have a check-in today (every earlier timeline action marked done), the others their
next action weeks away. Runs ``engagement_sweep(today)`` once at --baseline clients and once at
--clients, counting the vendor calls the sandbox answered during each sweep. Target: the calls
grow with the due clients, not with all clients — calls per due client at --clients stay within
1.10 x of the baseline's. Prints one line per figure and exits non-zero when the target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta

import httpx


def lone_check_in(svc, day):
    """(service start, timeline, [the action]) of a 12-week project whose only action due on ``day`` is
    a check-in, or None."""
    from sop.timeline import ActionKind, plan_timeline

    for back in range(14, 35):
        start = day - timedelta(days=back)
        timeline = plan_timeline(start - timedelta(days=3), start, 12, svc.engagement_rules, svc.profile.tz)
        today = [a for a in timeline if a.due == day]
        if len(today) == 1 and today[0].kind == ActionKind.CHECK_IN:
            return start, timeline, today
    return None


def seed(root: str, svc, start_index: int, n: int, due_every: int, as_of) -> int:
    """``n`` companies numbered from ``start_index``; every ``due_every``-th has a check-in due ``as_of``."""
    from flows.engagement.plan import ENGAGEMENT_PROPERTIES
    from sop.profile import Role
    from tasks.hubspot import COMPANY_PROPERTIES

    hub = svc.clients.hubspot
    hub.ensure_properties("companies", COMPANY_PROPERTIES)
    hub.ensure_properties("companies", {k: COMPANY_PROPERTIES[k] for k in ENGAGEMENT_PROPERTIES})
    manager = svc.profile.people(Role.ACCOUNT_MANAGER)[0].email
    specialist = svc.profile.people(Role.ONBOARDING_SPECIALIST)[0].email
    start, timeline, today = lone_check_in(svc, as_of)
    done = ";".join(sorted(a.key for a in timeline if a.due < as_of))
    due_basis = {
        "kickoff_date": (start - timedelta(days=3)).isoformat(), "service_start_date": start.isoformat(),
        "project_weeks": "12", "engagement_plan_basis": f"{start - timedelta(days=3)}|{start}|12|",
        "engagement_done_keys": done, "next_action_key": today[0].key, "next_action_date": as_of.isoformat(),
    }
    later = {"next_action_key": "check_in:later", "next_action_date": (as_of + timedelta(days=30)).isoformat()}
    due = 0
    with httpx.Client(base_url=root, timeout=120, headers={"Authorization": "Bearer bench"}) as http:
        for lo in range(start_index, start_index + n, 100):
            inputs = []
            for i in range(lo, min(lo + 100, start_index + n)):
                is_due = i % due_every == 0
                due += is_due
                inputs.append({"properties": {
                    "name": f"Bench client {i}", "domain": f"c{i}.bench.example", "onboarding_status": "onboarding",
                    "account_manager_email": manager, "specialist_email": specialist,
                    **(due_basis if is_due else later)}})
            http.post("/hubspot/crm/v3/objects/companies/batch/create", json={"inputs": inputs}).raise_for_status()
    return due


def sweep_calls(root: str, as_of) -> tuple[int, dict, float, dict]:
    from flows.engagement.sweep import engagement_sweep

    httpx.post(f"{root}/_sandbox/stats/reset").raise_for_status()
    t0 = time.perf_counter()
    out = engagement_sweep(as_of)
    seconds = time.perf_counter() - t0
    stats = httpx.get(f"{root}/_sandbox/stats").json()
    return stats["total"], stats["calls"], seconds, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=10_000)
    ap.add_argument("--baseline", type=int, default=1_000)
    ap.add_argument("--due-percent", type=float, default=1.0)
    args = ap.parse_args()
    due_every = round(100 / args.due_percent)

    from app.simulate import offline_stack

    with offline_stack("sweep", lambda m: print(m, flush=True), rate_limits="off") as root:
        from services import build_services

        svc = build_services()
        today = svc.now().astimezone(svc.profile.tz).date()
        # check-ins fall on one weekday: the first day from today with a lone check-in due
        as_of = next(today + timedelta(days=d) for d in range(14) if lone_check_in(svc, today + timedelta(days=d)))
        figures = {}
        seeded, day = 0, as_of
        for n in (args.baseline, args.clients):
            t0 = time.perf_counter()
            seed(root, svc, seeded, n - seeded, due_every, day)
            seed_s = time.perf_counter() - t0
            seeded = n
            calls, per_vendor, seconds, out = sweep_calls(root, day)
            ran = sum(len(r.get("ran", [])) for r in out["clients"])
            figures[n] = (calls, ran, seconds, per_vendor, seed_s)
            # a week later the baseline's due clients have their next check-in, and the new ones their first
            day += timedelta(days=7)
    base_calls, base_due, *_ = figures[args.baseline]
    calls, due, seconds, per_vendor, seed_s = figures[args.clients]
    base_per, per = base_calls / max(base_due, 1), calls / max(due, 1)
    ratio = per / base_per
    for n, (c, d, s, v, ss) in figures.items():
        print(f"sweep_{n}_clients_due: {d}")
        print(f"sweep_{n}_clients_vendor_calls: {c} ({c / max(d, 1):.1f} per due client; {v})")
        print(f"sweep_{n}_clients_wall_s: {s:.1f} ({s / max(d, 1):.2f} s per due client; seeding took {ss:.0f} s)")
    print(f"sweep_calls_per_due_client: {per:.1f} ({ratio:.2f} x the {args.baseline}-client baseline; target <= 1.10)")
    return 0 if ratio <= 1.10 and due > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
