"""P4 — the daily sweep at scale: the due clients held fixed while the client count grows.

    uv run python bench/sweep.py [--sizes 1000,10000,100000] [--due 10] [--repeats 3] [--select search|all-pages]

Seeds the sandbox's HubSpot over HTTP (batch create, 100 companies a call) and grows it size by size:
1,000 companies, then 10,000, then 100,000. At each size ``engagement_sweep(day)`` runs --repeats
times, each time with exactly --due fresh clients whose only open actions on ``day`` are a check-in and
the week's health check (every earlier timeline action done, a contact person at their domain); every
other company has its next action a month away. The last --repeats - 1 sets of due clients are seeded just before their
sweep, so the size is reached at its last sweep. The day is the same for every sweep: the clients
swept before have their next check-in planned after it, so each sweep finds only the new ones, and
"already swept today" hides nothing; each sweep's summary is checked to show exactly --due clients,
each of which ran an action. A warm-up sweep (not measured) comes first: the first sweep's one-off
costs are no size's. Per size it prints the clients, the due clients, the vendor calls the sandbox
answered during a sweep (the most of the repeats, per vendor), the sweep's wall time (the median of
the repeats) and how long seeding the size took.

Targets, largest size against the smallest, exit 1 when either is missed:
- vendor calls within 1.10 x: the calls must follow the due clients, not the clients. The sweep's
  one HubSpot search on ``next_action_date`` returns only the due clients, so its calls are the same
  at 100 x the clients.
- sweep wall time within 1.5 x. The search-based sweep does the same work at every size (the
  sandbox's search looks records up through an index, as HubSpot's does), so its time should not
  grow at all; 1.5 x is the room a 10-client sweep of a few seconds needs for noise on a shared
  machine. Reading every company costs far more: 100 list pages at 10,000 clients already take
  several times a whole sweep.

``--select all-pages`` is the control that shows the benchmark can fail: inside this script only, it
replaces the sweep's due-client selection (``tasks.hubspot.companies_due``) with a naive one that
pages through every company with HubSpot's list API (100 a page) and filters by ``next_action_date``
here. Its list calls grow with the clients (10 pages at 1,000, 1,000 at 100,000), and its wall time
with them: it misses both targets, as a sweep that reads every client must.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from functools import partial

import httpx

CALLS_TARGET = 1.10
WALL_TARGET = 1.5


def lone_check_in(svc, day):
    """(service start, timeline, [the actions]) of a 12-week project whose only actions due on ``day`` are a
    check-in's booking and the week's health check (both on the check-in weekday), or None."""
    from sop.timeline import ActionKind, plan_timeline

    for back in range(14, 35):
        start = day - timedelta(days=back)
        timeline = plan_timeline(start - timedelta(days=3), start, 12, svc.engagement_rules, svc.profile.tz)
        today = [a for a in timeline if a.due == day]
        kinds = {a.kind for a in today}
        if ActionKind.CHECK_IN in kinds and kinds <= {ActionKind.CHECK_IN, ActionKind.HEALTH_CHECK}:
            return start, timeline, today
    return None


def sweep_day(svc):
    """Check-ins fall on one weekday: the first day from today with only a check-in (and a health check) due."""
    today = svc.now().astimezone(svc.profile.tz).date()
    return next(today + timedelta(days=d) for d in range(14) if lone_check_in(svc, today + timedelta(days=d)))


def ensure_properties(svc) -> None:
    from flows.engagement.plan import ENGAGEMENT_PROPERTIES
    from tasks.hubspot import COMPANY_PROPERTIES

    hub = svc.clients.hubspot
    hub.ensure_properties("companies", COMPANY_PROPERTIES)
    hub.ensure_properties("companies", {k: COMPANY_PROPERTIES[k] for k in ENGAGEMENT_PROPERTIES})


def due_properties(svc, day) -> dict:
    """A planned 12-week project whose only open actions on ``day`` are a check-in and a health check."""
    start, timeline, today = lone_check_in(svc, day)
    kickoff = start - timedelta(days=3)
    return {"kickoff_date": kickoff.isoformat(), "service_start_date": start.isoformat(), "project_weeks": "12",
            "engagement_plan_basis": f"{kickoff}|{start}|12|",
            "engagement_done_keys": ";".join(sorted(a.key for a in timeline if a.due < day)),
            "next_action_key": today[0].key, "next_action_date": day.isoformat()}


def later_properties(day) -> dict:
    return {"next_action_key": "check_in:later", "next_action_date": (day + timedelta(days=30)).isoformat()}


def seed(http: httpx.Client, svc, first: int, n: int, due: int, day) -> None:
    """Companies ``first`` .. ``first + n - 1``, ``due`` of them spread evenly with a check-in due ``day``
    and a contact person at their domain; the rest with their next action a month away."""
    from sop.profile import Role

    team = {"onboarding_status": "onboarding",
            "account_manager_email": svc.profile.people(Role.ACCOUNT_MANAGER)[0].email,
            "specialist_email": svc.profile.people(Role.ONBOARDING_SPECIALIST)[0].email}
    due_at = {first + k * (n // due) for k in range(due)}
    is_due, not_due = due_properties(svc, day), later_properties(day)
    for lo in range(first, first + n, 100):
        inputs = [{"properties": {"name": f"Bench client {i}", "domain": f"c{i}.bench.example", **team,
                                  **(is_due if i in due_at else not_due)}}
                  for i in range(lo, min(lo + 100, first + n))]
        http.post("/hubspot/crm/v3/objects/companies/batch/create", json={"inputs": inputs}).raise_for_status()
    # HubSpot associates a new contact with the company of its email's domain
    contacts = [{"properties": {"email": f"client@c{i}.bench.example", "firstname": "Client"}} for i in sorted(due_at)]
    http.post("/hubspot/crm/v3/objects/contacts/batch/create", json={"inputs": contacts}).raise_for_status()


def companies_due_by_paging(crm, as_of):
    """The naive selection the benchmark must catch: every company, 100 a page through HubSpot's list
    API (with the client's own budget and retries), filtered here; the same properties and order as
    ``tasks.hubspot.companies_due``."""
    from integrations.hubspot import TIMEOUT, Record
    from tasks.hubspot import ENGAGEMENT_READ, INACTIVE

    api = crm._api("crm.objects.basic_api")
    due, after = [], None
    while True:
        page = crm._call(partial(api.get_page, "companies", limit=100, after=after,
                                 properties=list(ENGAGEMENT_READ), _request_timeout=TIMEOUT), idempotent=True)
        for obj in page.results:
            p = obj.properties or {}
            if (p.get("next_action_date") or "9999") <= as_of.isoformat() and p.get("onboarding_status") not in INACTIVE:
                due.append(Record.from_api(obj, object_type="companies"))
        after = page.paging.next.after if page.paging and page.paging.next else None
        if not after:
            return sorted(due, key=lambda r: r.properties["next_action_date"])


def timed_sweep(root: str, day, due: int) -> tuple[dict, float]:
    """One ``engagement_sweep(day)``, checked to have run an action for exactly ``due`` clients: the vendor
    calls it made (per vendor) and its seconds."""
    from flows.engagement.sweep import engagement_sweep

    httpx.post(f"{root}/_sandbox/stats/reset", timeout=30).raise_for_status()
    t0 = time.perf_counter()
    out = engagement_sweep(day)
    seconds = time.perf_counter() - t0
    ran = [r["client"] for r in out["clients"] if r.get("ran")]
    if len(out["clients"]) != due or len(ran) != due:
        raise SystemExit(f"the sweep found {len(out['clients'])} client(s) and ran an action for {len(ran)}, "
                         f"expected {due}: {out['clients']}")
    return httpx.get(f"{root}/_sandbox/stats", timeout=30).json()["calls"], seconds


def sweeps_at(http: httpx.Client, root: str, svc, seeded: int, n: int, due: int, repeats: int, day):
    """Grow HubSpot from ``seeded`` to ``n`` companies and sweep ``repeats`` times, each sweep with ``due``
    fresh due clients (the last ``repeats - 1`` sets seeded just before their sweep). Returns the
    calls of each sweep (per vendor), their seconds, and the seconds the growth to the first sweep took."""
    t0 = time.perf_counter()
    first = n - (repeats - 1) * due
    seed(http, svc, seeded, first - seeded, due, day)
    seed_s = time.perf_counter() - t0
    calls, seconds = [], []
    for k in range(repeats):
        if k:
            seed(http, svc, first + (k - 1) * due, due, due, day)
        per_vendor, s = timed_sweep(root, day, due)
        calls.append(per_vendor)
        seconds.append(s)
    return calls, seconds, seed_s


def within(name: str, largest: float, smallest: float, target: float) -> bool:
    ratio = largest / smallest
    print(f"{name}: {ratio:.2f} x the smallest size (target <= {target:.2f}): {'met' if ratio <= target else 'MISSED'}")
    return ratio <= target


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000", help="client counts, ascending, comma-separated")
    ap.add_argument("--due", type=int, default=10, help="clients due at each size")
    ap.add_argument("--repeats", type=int, default=3, help="sweeps per size, each with fresh due clients")
    ap.add_argument("--select", choices=("search", "all-pages"), default="search",
                    help="the sweep's due-client selection: its HubSpot search, or the paging control")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from app.simulate import offline_stack

    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # figures, not each follow-up's logs
    if args.select == "all-pages":
        import tasks.hubspot

        tasks.hubspot.companies_due = companies_due_by_paging  # the sweep looks it up at each call
    figures = {}
    with offline_stack("sweep", lambda m: print(m, flush=True), rate_limits="off") as root:
        from services import build_services

        svc = build_services()
        ensure_properties(svc)
        day, seeded = sweep_day(svc), args.due
        with httpx.Client(base_url=root, timeout=300, headers={"Authorization": "Bearer bench"}) as http:
            # a warm-up sweep (not measured) of the smallest size's first companies: the first sweep's
            # one-off costs (vendor clients, flow registration, tokens) are no size's
            seed(http, svc, 0, args.due, args.due, day)
            timed_sweep(root, day, args.due)
            for n in sizes:
                calls, seconds, seed_s = sweeps_at(http, root, svc, seeded, n, args.due, args.repeats, day)
                seeded = n
                most = max(calls, key=lambda c: sum(c.values()))
                figures[n] = (sum(most.values()), statistics.median(seconds), seed_s)
                print(f"sweep_{n}_clients ({args.select}): {args.due} due; {figures[n][0]} vendor calls {most}; "
                      f"sweep {figures[n][1]:.1f} s (median of {', '.join(f'{x:.1f}' for x in seconds)}); "
                      f"seeding {seed_s:.0f} s", flush=True)
    (small_calls, small_s, _), (large_calls, large_s, _) = figures[sizes[0]], figures[sizes[-1]]
    calls_ok = within(f"sweep_vendor_calls_{sizes[-1]}_vs_{sizes[0]}", large_calls, small_calls, CALLS_TARGET)
    wall_ok = within(f"sweep_wall_s_{sizes[-1]}_vs_{sizes[0]}", large_s, small_s, WALL_TARGET)
    return 0 if calls_ok and wall_ok else 1


if __name__ == "__main__":
    sys.exit(main())
