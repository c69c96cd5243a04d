"""`onboard simulate`: N sample clients onboarded on the sandbox, then day by day through the sweep.

Everything the clients do is drawn from one seeded random generator (``Behaviour``): the CSAT they
give and when they answer the halfway survey (same day, late after a reminder, or never), who churns
and when, how late Asana tasks get done, whether a testimonial comes back. The flows run for real
(Prefect + the sandbox); only the calendar is simulated, through ``engagement_sweep(as_of=day)``.
"""

from __future__ import annotations

import atexit
import contextvars
import json
import os
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

NAMES = ("Umoya", "Karoo", "Baobab", "Fynbos", "Ubuntu", "Protea", "Kestrel", "Marula", "Savanna", "Aloe",
         "Kudu", "Impala", "Tsitsikamma", "Drakens", "Limpopo", "Namaqua", "Cederberg", "Zambezi", "Okavango", "Table")
KINDS = ("Foods", "Logistics", "Health", "Learning", "Works", "Tech", "Hotels", "Advisory", "Outfitters", "Trust")
INDUSTRIES = ("retail", "hospitality", "healthcare", "education", "manufacturing", "technology",
              "professional_services", "non_profit", "other")
SERVICE_SETS = ((["business_strategy", "marketing"], 60_000, 120_000),
                (["operations", "finance_advisory"], 95_000, 160_000),
                (["business_strategy", "marketing", "operations", "coaching", "finance_advisory"], 180_000, 260_000))
CSAT_SPREAD = (5, 5, 5, 4, 4, 4, 4, 3, 2)  # mostly satisfied, a few not


@dataclass
class Behaviour:
    """What one simulated client will do, drawn up front from the seed."""

    domain: str
    company_name: str
    csat: int
    survey_delay_days: int | None  # None: never answers (the survey expires)
    task_lag_days: int  # how many days after its due date each Asana task gets done
    churn_day: int | None  # simulation day the client leaves, if it does
    testimonial_delay_days: int | None
    onboarding_csat: int = 5  # the onboarding survey after the kick-off (drawn last: the other draws stay as they were)
    onboarding_survey_delay_days: int | None = 0


@dataclass
class SimResult:
    start: date
    end: date  # the last simulated day: ``days`` after the latest service start
    days: int
    behaviours: list[Behaviour]
    done: list[tuple[str, str, str]] = field(default_factory=list)  # (day, client, action key)
    kpis: list[dict[str, Any]] = field(default_factory=list)
    health: list[dict[str, Any]] = field(default_factory=list)  # the clients' health at the end (SOP-B 4.2)
    weekly: dict[int, dict[str, int]] = field(default_factory=dict)
    planned: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    calendar: list[dict[str, Any]] = field(default_factory=list)  # per package length (``calendar_report``)


def sample_clients(n: int, seed: int):
    """N distinct, qualifying sample clients (names, industries, budgets and services vary with the seed)."""
    from sop.client import NewClient

    rng = random.Random(seed)
    out = []
    for i in range(n):
        name = f"{NAMES[i % len(NAMES)]} {rng.choice(KINDS)}" + (f" {i // len(NAMES) + 1}" if i >= len(NAMES) else "")
        slug = name.lower().replace(" ", "-")
        services, low, high = rng.choice(SERVICE_SETS)
        out.append(NewClient.model_validate({
            "company_name": f"{name} (Pty) Ltd", "contact_person": rng.choice(("Naledi Khumalo", "Thabo Molefe",
                                                                                "Anele Zulu", "Ruth Pillay")),
            "contact_title": "Managing Director", "phone": "+27 82 555 0100", "email": f"md@{slug}-s{seed}.example",
            "website": f"https://www.{slug}-s{seed}.example", "source_of_lead": rng.choice(("referral", "website")),
            "budget": rng.randrange(low, high, 5_000), "industry": rng.choice(INDUSTRIES),
            "requested_services": services, "timeline_weeks": rng.choice((8, 12, 24)),
            "preferred_communication": "slack"}))
    return out


def draw_behaviour(clients, days: int, seed: int) -> list[Behaviour]:
    rng = random.Random(seed * 7919 + 1)
    churners = set(rng.sample(range(len(clients)), k=min(len(clients), max(1, round(0.1 * len(clients))))))
    out = []
    for i, c in enumerate(clients):
        answered = rng.random() < 0.85
        out.append(Behaviour(
            domain=c.domain, company_name=c.company_name, csat=rng.choice(CSAT_SPREAD),
            survey_delay_days=rng.choice((0, 0, 1, 3, 5)) if answered else None,
            task_lag_days=rng.choice((-3, -1, 0, 0, 2, 5, 12)),
            churn_day=rng.randrange(20, max(21, days)) if i in churners else None,  # about one in ten
            testimonial_delay_days=rng.choice((0, 2, 6)) if rng.random() < 0.7 else None))
    for b in out:
        b.onboarding_csat = rng.choice(CSAT_SPREAD)
        b.onboarding_survey_delay_days = rng.choice((0, 1, 2, 4)) if rng.random() < 0.9 else None
    return out


def staff_answers(rules, clients) -> Any:
    """Staff for the onboarding runs (each paused run answered for the client its name names, with
    that client's package), for the halfway adjustments and for Finance's invoice approvals."""
    from app.people import staff_policy

    policies = {c.company_name: staff_policy(c, rules.suggest_package(c).key, revise_once=False) for c in clients}

    def answer(pause_key: str, run_name: str = ""):
        what = pause_key.rsplit("-", 1)[0]
        if what.startswith("adjustments-after-feedback"):
            return {"shift_due_days": 0, "notes": "keep the plan; follow up on the feedback"}, "no change needed"
        if what.startswith("invoice-approval"):
            return {"decision": "approve"}, "Finance checked the invoice"
        name = max((n for n in policies if n in run_name), key=len, default=None)
        return policies[name](pause_key) if name else None

    return answer


def act_as_clients(root: str, behaviours: list[Behaviour], start: date, day: date, hub, surveys) -> None:
    """Today's client behaviour: tasks ticked off, survey and testimonial answers, churn."""
    state = httpx.get(f"{root}/_sandbox/state", timeout=60, params={
        "vendor": ["google", "hubspot", "asana"], "kind": ["form_response", "object:companies", "task"]}).json()
    answered = {r["formId"] for r in state["google"].get("form_response", [])}
    companies = {c["properties"].get("domain"): c for c in state["hubspot"].get("object:companies", [])}
    tasks = state["asana"].get("task", [])
    with httpx.Client(base_url=root, timeout=60) as http:
        for b in behaviours:
            company = companies.get(b.domain)
            if company is None:
                continue
            p = company["properties"]
            if p.get("onboarding_status") == "churned":
                continue
            if b.churn_day is not None and (day - start).days >= b.churn_day:
                from flows.engagement.leaving import client_leaving

                client_leaving(b.domain, "simulated: the client left", day)  # as staff record it
                continue
            gid = p.get("asana_project_gid")
            for t in tasks:
                if (not t["completed"] and t.get("due_on") and any(m["project"] == gid for m in t["memberships"])
                        and date.fromisoformat(t["due_on"]) + timedelta(days=b.task_lag_days) <= day):
                    http.post(f"/_sandbox/asana/tasks/{t['gid']}/complete", json={}).raise_for_status()
            for prop, sent_prop, delay, survey, answers in (
                ("onboarding_survey_form_id", "onboarding_survey_sent_date", b.onboarding_survey_delay_days,
                 surveys.onboarding, {"satisfaction": str(b.onboarding_csat), "went_well": "A clear kick-off"}),
                ("survey_form_id", "survey_sent_date", b.survey_delay_days, surveys.halfway_feedback,
                 {"experience": "Good team, a slow start", "satisfaction": str(b.csat),
                  "improve": "Faster turnaround on documents" if b.csat < 4 else "Nothing major"}),
                ("testimonial_form_id", "testimonial_sent_date", b.testimonial_delay_days, surveys.testimonial,
                 {"testimonial": f"{b.company_name} recommends the team.", "permission": "Yes"}),
            ):
                form_id, sent = p.get(prop), p.get(sent_prop)
                if not form_id or form_id in answered or delay is None or not sent:
                    continue
                if date.fromisoformat(sent[:10]) + timedelta(days=delay) <= day:
                    titles = {q.key: q.title for q in survey.questions}
                    http.post(f"/_sandbox/google/forms/{form_id}/responses", json={
                        "answers": {titles[k]: v for k, v in answers.items()}}).raise_for_status()


PLANNED = ("check_in", "post_project_check_in", "monthly_report", "quarterly_review", "retention_check")


def planned_counts(svc, domains: set[str], start: date, end: date) -> dict[str, int]:
    """What the timelines plan between ``start`` and ``end`` (for churned clients: until they churned)."""
    from flows.engagement.record import load_record, timeline_for

    counts: Counter[str] = Counter()
    for domain in domains:
        rec = load_record(svc, domain)
        stop = min(end, (rec.day("churned_date") - timedelta(days=1)) if rec.day("churned_date") else end)
        for a in timeline_for(svc, rec):
            if start <= a.due <= stop and a.kind.value in PLANNED:
                counts[a.kind.value] += 1
    return dict(counts)


MEETINGS = ("check_in", "post_project_check_in")


def calendar_report(svc, root: str, domains: set[str], done: list[tuple[str, str, str]], end: date) -> list[dict]:
    """Per package length: check-ins, monthly reports and QBRs planned (by the timeline, within the run and
    before the client left) against held (done by the sweeps), anything done past the contract's term,
    weeks with two check-ins for one client (read from the Calendar itself), and actions after leaving."""
    from flows.engagement.record import load_record, timeline_for
    from sop.timeline import ActionKind

    events = httpx.get(f"{root}/_sandbox/state", timeout=120, params={"vendor": "google", "kind": "event"}).json()
    events = [e for e in events["google"].get("event", []) if e.get("status") != "cancelled"
              and "check-in" in e.get("summary", "").lower()]
    done_by: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for day, domain, key in done:
        done_by[domain].append((date.fromisoformat(day), key))
    rows: dict[int, Counter] = defaultdict(Counter)
    for domain in sorted(domains):
        rec = load_record(svc, domain)
        weeks, start = int(float(rec.get("project_weeks") or 0)), rec.day("service_start_date")
        if not start:
            continue
        left = rec.day("churned_date")
        stop = min(end, left - timedelta(days=1)) if left else end
        term = svc.engagement_rules.retention.term_end(start, start + timedelta(weeks=weeks))
        row = rows[weeks]
        row["clients"] += 1
        held = {k for _, k in done_by[domain]}
        for a in timeline_for(svc, rec):
            on = a.meeting_day or a.due
            kind = a.kind.value
            if kind in ("check_in", "monthly_report", "quarterly_review") and on <= stop:
                row[f"{kind} planned"] += 1
                row[f"{kind} held"] += a.key in held
            if a.key in held and a.kind in (ActionKind.MONTHLY_REPORT, ActionKind.QUARTERLY_REVIEW,
                                            ActionKind.RETENTION_OFFER) and a.due > term:
                row["past the term"] += 1
        row["actions after leaving"] += sum(1 for day, _ in done_by[domain] if left and day > left)
        email = rec.client.email
        mine = [e for e in events if any(x["email"] == email for x in e.get("attendees", []))]
        per_week = Counter(date.fromisoformat(e["start"]["dateTime"][:10]).isocalendar()[:2] for e in mine)
        row["double-booked weeks"] += sum(1 for n in per_week.values() if n > 1)
    return [{"package_weeks": w, **dict(c)} for w, c in sorted(rows.items())]


def onboard_all(clients, workers: int, say, raise_errors: bool = True) -> dict[str, Any]:
    """The new-client run for every client, ``workers`` at a time (each a flow run of its own):
    {domain: OnboardingResult, or the exception the run ended with when not ``raise_errors``}."""
    from flows.onboarding.new_client import onboard_client

    t0 = time.perf_counter()
    outcomes: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="onboard") as pool:
        futures = {pool.submit(contextvars.copy_context().run, onboard_client, c): c for c in clients}
        for i, f in enumerate(as_completed(futures), 1):
            c = futures[f]
            try:
                outcomes[c.domain] = f.result()
            except Exception as exc:
                if raise_errors:
                    raise
                outcomes[c.domain] = exc
            what = getattr(outcomes[c.domain], "outcome", None)
            say(f"[{i}/{len(clients)}] {c.company_name}: {what.value if what else repr(outcomes[c.domain])[:200]} "
                f"({time.perf_counter() - t0:.0f} s)")
    return outcomes


def run_simulation(n: int, days: int, seed: int, sandbox_root: str, say=print, workers: int = 4) -> SimResult:
    """Onboard ``n`` clients, then day by day through the sweep until every client has had ``days``
    days of service (so the 90-day retention check falls inside the run); this process's Prefect
    settings are used."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from app.people import INTAKE_ANSWERS, ClientActor, Staff
    from flows.engagement.health import health_rows
    from flows.engagement.kpi_report import client_outcomes
    from flows.engagement.record import load_record
    from flows.engagement.sweep import engagement_sweep
    from services import build_services
    from sop.kpi import compute_kpis, kpi_table

    svc = build_services()
    start = svc.now().astimezone(svc.profile.tz).date()
    clients = sample_clients(n, seed)
    behaviours = draw_behaviour(clients, days, seed)
    result = SimResult(start=start, end=start, days=days, behaviours=behaviours)
    staff = Staff(staff_answers(svc.rules, clients), say=lambda m: None).start()
    actor = ClientActor(sandbox_root, "clients@simulation.example", INTAKE_ANSWERS, say=lambda m: None, poll=0.2).start()
    weekly: dict[int, Counter] = defaultdict(Counter)
    try:
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            t0 = time.perf_counter()
            onboard_all(clients, workers, say)
            actor.stop()  # from here on the clients act through act_as_clients, day by day
            result.seconds["onboarding"] = round(time.perf_counter() - t0, 1)
            starts = [load_record(svc, c.domain).day("service_start_date") for c in clients]
            # every client gets ``days`` days of service, and a week more so the three-month marks (the first
            # QBR, the third monthly report) of the last client to start fall inside the run
            result.end = max([d for d in starts if d] or [start]) + timedelta(days=days + 7)
            say(f"following every client for {days} days of service (+ a week): {start} .. {result.end}")
            t1 = time.perf_counter()
            for d in range((result.end - start).days + 1):
                day = start + timedelta(days=d)
                act_as_clients(sandbox_root, behaviours, start, day, svc.clients.hubspot, svc.surveys)
                out = engagement_sweep(day)
                week = d // 7 + 1
                for r in out["clients"]:
                    for key, status in r.get("ran", []):
                        if status == "done":
                            result.done.append((day.isoformat(), r["client"], key))
                            weekly[week][key.split(":", 1)[0]] += 1
                if d % 7 == 6 or day == result.end:
                    say(f"week {week} ({day}): {dict(weekly[week]) or 'nothing due'} "
                        f"({time.perf_counter() - t1:.0f} s)")
            result.seconds["sweeps"] = round(time.perf_counter() - t1, 1)
    finally:
        staff.stop()
        actor.stop()
    # surveys and testimonial requests: the date each went out, from the CRM
    for b in behaviours:
        rec = load_record(svc, b.domain)
        for prop, kind in (("survey_sent_date", "survey"), ("testimonial_sent_date", "testimonial_request")):
            sent = rec.day(prop)
            if sent and sent <= result.end:
                weekly[(sent - start).days // 7 + 1][kind] += 1
    result.weekly = {w: dict(c) for w, c in sorted(weekly.items())}
    domains = {b.domain for b in behaviours}
    result.planned = planned_counts(svc, domains, start, result.end)
    result.calendar = calendar_report(svc, sandbox_root, domains, result.done, result.end)
    report = compute_kpis(client_outcomes(svc.clients.hubspot, domains), svc.engagement_rules.kpi_targets(),
                          result.end)
    result.kpis = kpi_table(report)
    result.health = [asdict(row) for row in health_rows(svc.clients.hubspot, result.end, domains)]
    return result


COLUMNS = {  # timeline action kind (or "survey" / "testimonial_request": sent) -> column
    "check_in": "check-ins", "post_project_check_in": "later check-ins", "monthly_report": "reports",
    "quarterly_review": "QBRs", "survey": "surveys", "testimonial_request": "testimonial requests",
    "complete_onboarding": "completed", "retention_offer": "retention offers", "retention_check": "90-day checks",
}


def print_result(r: SimResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 118))  # ten columns of counts: keep them whole
    kpis = Table("KPI", "value", "target", "met", "n", title=f"KPIs as of {r.end}")
    for row in r.kpis:
        kpis.add_row(row["kpi"], "n/a" if row["value"] is None else str(row["value"]), str(row["target"]),
                     str(row["met"]), str(row["n"]))
    console.print(kpis)
    weeks = Table("week", *COLUMNS.values(), title="What happened per week")
    totals: Counter[str] = Counter()
    for w, counts in r.weekly.items():
        weeks.add_row(str(w), *(str(counts.get(c, 0)) for c in COLUMNS))
        totals.update(counts)
    weeks.add_row("total", *(str(totals.get(c, 0)) for c in COLUMNS))
    weeks.add_row("planned", *(str(r.planned.get(c, "")) for c in COLUMNS))
    console.print(weeks)
    cal = Table("package", "clients", "check-ins planned/held", "reports planned/held", "QBRs planned/held",
                "past the term", "double-booked weeks", "actions after leaving",
                title="The engagement calendar per package length (held: done by the daily sweeps)")
    for row in r.calendar:
        cal.add_row(f"{row['package_weeks']} weeks", str(row.get("clients", 0)),
                    *(f"{row.get(f'{k} planned', 0)}/{row.get(f'{k} held', 0)}"
                      for k in ("check_in", "monthly_report", "quarterly_review")),
                    *(str(row.get(k, 0)) for k in ("past the term", "double-booked weeks", "actions after leaving")))
    console.print(cal)
    churned = [b.company_name for b in r.behaviours if b.churn_day is not None and r.start + timedelta(days=b.churn_day) <= r.end]
    if r.health:
        from app.health_cli import format_terminal
        from sop.health import HealthRow

        console.print(format_terminal([HealthRow(**row) for row in r.health], r.end))
    console.print(f"churned: {', '.join(churned) or 'none'}   seconds: {r.seconds}")


@contextmanager
def offline_stack(name: str, say=print, own_process: bool = False, **sandbox_config: Any) -> Iterator[str]:
    """A sandbox (``sandbox_config``: rate limits, faults, ...; in a process of its own with ``own_process``)
    and Prefect with short waits; yields the sandbox's root URL; Prefect's flow heartbeats are off inside. Prefect is, by what is reachable: the
    scaled-out server (API and services in two processes, ``prefect_plumbing.servers.scaled_server``) on a
    fresh Postgres database and an empty Redis one;
    the ephemeral server on a fresh Postgres database; the ephemeral server on SQLite."""
    from app.demo import prefect_env, start_prefect
    from app.sandbox import free_port, sandbox_process, sandbox_server
    from prefect_plumbing.databases import LOCAL, REDIS, empty_redis_database, fresh_postgres_database
    from prefect_plumbing.servers import scaled_server

    home = Path(tempfile.mkdtemp(prefix=f"onboard-{name}-"))
    prefect_env(home)
    os.environ.setdefault("ONBOARD_WAIT_HOUR_SECONDS", "1")
    os.environ.setdefault("ONBOARD_MEETING_HOUR_SECONDS", "0.05")
    os.environ.setdefault("ONBOARD_POLL_SECONDS", "0.3")
    with ExitStack() as stack:
        if "PREFECT_API_URL" not in os.environ and "PREFECT_API_DATABASE_CONNECTION_URL" not in os.environ:
            fresh = fresh_postgres_database(os.environ.get("ONBOARD_SIM_POSTGRES", LOCAL), prefix=f"onboard_{name}")
            redis = empty_redis_database(os.environ.get("ONBOARD_SIM_REDIS", REDIS)) if fresh else None
            if fresh and redis:
                stack.callback(fresh[1])  # dropped after the server is stopped (callbacks run last-in first-out)
                stack.callback(redis[1])
                say("starting Prefect: the API and the services as two processes, on Postgres and Redis …")
                api_url = stack.enter_context(scaled_server(fresh[0], redis[0], free_port(), home))
                os.environ["PREFECT_API_URL"] = api_url
            elif fresh:
                os.environ["PREFECT_API_DATABASE_CONNECTION_URL"], drop = fresh
                # atexit runs last-in first-out: registered before Prefect's own server registers its
                # stop, the database is dropped only after that server is gone
                atexit.register(drop)
        if own_process:
            root = stack.enter_context(sandbox_process(**sandbox_config))
        else:
            root = stack.enter_context(sandbox_server(**sandbox_config)).root
        os.environ["ONBOARD_SANDBOX_URL"] = root
        say(f"sandbox at {root}{' (its own process)' if own_process else ''}; starting Prefect …")
        from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        url = os.environ.get("PREFECT_API_URL")
        # no heartbeats: a sync flow run waits ~1 s at its end for the heartbeat thread to join
        stack.enter_context(temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
                                                **({PREFECT_API_URL: url} if url else {})}))
        start_prefect()
        yield root


def main(clients: int, days: int, seed: int, as_json: bool) -> int:
    say = (lambda m: None) if as_json else (lambda m: print(m, flush=True))
    with offline_stack("sim", say, rate_limits="off") as root:
        result = run_simulation(clients, days, seed, root, say)
    if as_json:
        print(json.dumps(asdict(result), indent=2, default=str))
    else:
        print_result(result)
    return 0
