"""The daily engagement sweep: every client with a follow-up due gets it (SOP-A 4-5, SOP-B 4).

The plan lives on the CRM (``flows/engagement/plan.py``, ``record.py``); the sweep searches HubSpot
for clients whose next action is due and runs each due follow-up as a subflow."""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from prefect import flow, get_run_logger

import services
from flows.engagement.check_in import check_in
from flows.engagement.complete_onboarding import complete_onboarding
from flows.engagement.halfway_feedback import halfway_feedback
from flows.engagement.health import client_health
from flows.engagement.invoices import invoice
from flows.engagement.leaving import deal_closed_lost, record_leaving
from flows.engagement.monthly_report import monthly_report
from flows.engagement.onboarding_survey import onboarding_survey
from flows.engagement.plan import store_plan
from flows.engagement.quarterly_review import quarterly_review
from flows.engagement.record import PENDING, SKIPPED, ClientRecord, load_record, parse_keys, plan_basis, timeline_for
from flows.engagement.retention import retention
from flows.engagement.testimonial import request_testimonial
from services import Services
from sop.timeline import Action, ActionKind
from tasks import hubspot
from tasks.hubspot import COMPANY_PROPERTIES

# the flow that runs each kind of timeline action
FLOW_FOR = {
    ActionKind.CHECK_IN: check_in,
    ActionKind.POST_PROJECT_CHECK_IN: check_in,
    ActionKind.ONBOARDING_SURVEY: onboarding_survey,
    ActionKind.HEALTH_CHECK: client_health,
    ActionKind.HALFWAY_FEEDBACK: halfway_feedback,
    ActionKind.MONTHLY_REPORT: monthly_report,
    ActionKind.QUARTERLY_REVIEW: quarterly_review,
    ActionKind.COMPLETE_ONBOARDING: complete_onboarding,
    ActionKind.REQUEST_TESTIMONIAL: request_testimonial,
    ActionKind.RETENTION_OFFER: retention,
    ActionKind.RETENTION_CHECK: retention,
    ActionKind.INVOICE: invoice,
}


def run_action(action: Action, domain: str, as_of: date) -> str:
    """The follow-up flow for ``action`` (a subflow run of its own)."""
    return FLOW_FOR[action.kind](domain, as_of, key=action.key)


def sweep_client(svc: Services, rec: ClientRecord, as_of: date) -> dict:
    """Every due action of one client, oldest first; each done key is stored as soon as it is done."""
    if rec.day("engagement_last_sweep") == as_of:
        return {"client": rec.domain, "ran": [], "note": "already swept today"}
    basis = plan_basis(rec)
    if basis is None:
        return {"client": rec.domain, "ran": [], "note": "not planned"}
    if deal_closed_lost(svc, rec):  # a churn signal staff give in HubSpot itself
        left = record_leaving(svc, rec, "the deal was closed lost in HubSpot", as_of)
        return {"client": rec.domain, "ran": [], "note": f"left on {left['churned_date']}: {left['reason']}"}
    done = rec.done_keys()
    timeline = timeline_for(svc, rec)
    ran, pending, late = [], [], []
    last = rec.day("engagement_last_sweep")
    leaves = rec.day("churned_date")  # a declined renewal: the client leaves when the term ends
    for action in [a for a in timeline if a.key not in done and a.due <= as_of]:
        if leaves and action.due >= leaves and action.kind != ActionKind.RETENTION_CHECK:
            ran.append((action.key, SKIPPED))  # nothing for a client after they left, but the KPI's check
            done.add(action.key)
            continue
        if action.due < as_of and (last is None or last < action.due):
            # due on a day no sweep ran (the sweep was down): run once, now, and say so
            late.append((action.key, (as_of - action.due).days))
            get_run_logger().warning("%s: %s was due %s; run %d day(s) late", rec.domain, action.key,
                                     action.due, (as_of - action.due).days)
        outcome = run_action(action, rec.domain, as_of)
        if outcome == PENDING:
            pending.append(action.key)
            continue
        ran.append((action.key, outcome))
        done.add(action.key)
        hubspot.update_company(svc.clients.hubspot, rec.id, {"engagement_done_keys": ";".join(sorted(done))})
    # the flows may have written the company (status, completion date): read it again before planning
    rec = load_record(svc, rec.domain)
    done |= parse_keys(rec.get("engagement_done_keys"))
    nxt = store_plan(svc, rec, timeline_for(svc, rec), done, plan_basis(rec) or basis)
    hubspot.update_company(svc.clients.hubspot, rec.id, {"engagement_last_sweep": as_of.isoformat()})
    return {"client": rec.domain, "ran": ran, "pending": pending, "late": late, "next_action": nxt.key if nxt else None}


def sweep_clients(svc: Services, domains: list[str], as_of: date) -> list[tuple[str, dict | Exception]]:
    """``sweep_client`` for each domain, ``settings.sweep_workers`` clients at a time, in due order.

    Each worker thread builds its own vendor clients once (the Google SDK's transport is not
    thread-safe) and runs in a copy of the sweep's context, so the follow-ups stay its subflows."""
    local = threading.local()

    def one(domain: str) -> dict | Exception:
        if not hasattr(local, "svc"):
            local.svc = svc if svc.settings.sweep_workers == 1 else services.build_services(svc.settings)
        try:
            with services.use_services(local.svc):
                return sweep_client(local.svc, load_record(local.svc, domain), as_of)
        except Exception as exc:  # noqa: BLE001 - reported per client by the caller
            return exc

    with ThreadPoolExecutor(max_workers=svc.settings.sweep_workers, thread_name_prefix="sweep") as pool:
        futures = [pool.submit(contextvars.copy_context().run, one, d) for d in domains]
        return [(d, f.result()) for d, f in zip(domains, futures, strict=True)]


@flow(name="engagement-sweep", flow_run_name="engagement-sweep {as_of}", log_prints=True)
def engagement_sweep(as_of: date | None = None) -> dict:
    """Daily: find the clients with an action due (HubSpot search on ``next_action_date <= as_of``)
    and run each due follow-up as a subflow; never the same action twice for a client and date.

    Why the in-sweep approach rather than per-client ``run_deployment(..., scheduled_time=...,
    idempotency_key=...)``: the timeline changes (kick-off moves, project weeks change, a survey is
    answered late, onboarding completes late, a client churns), and future scheduled runs would then
    have to be found and cancelled or re-timed in Prefect, keeping two systems of record in sync.
    With the sweep HubSpot holds the only plan (next action date + done keys), a re-plan is one
    property write, waiting-on-the-client actions simply stay due until they resolve, and a day the
    sweep missed is caught up the next day. Idempotency is twofold: done keys and
    ``engagement_last_sweep`` on the company (a second sweep for the same date runs nothing), and
    deterministic ids on every side effect (a crashed sweep re-run creates nothing twice). The cost,
    one daily run whose subflows run ``ONBOARD_SWEEP_WORKERS`` clients at a time, is small at the SOP's
    scale (tens to hundreds of clients due a day); the search only returns clients with something due,
    so the calls grow with the due clients, not with all clients (bench/sweep.py).
    """
    svc = services.current()
    log = get_run_logger()
    as_of = as_of or svc.now().astimezone(svc.profile.tz).date()
    # the search filters on custom properties a fresh account does not have yet
    hubspot.ensure_engagement_properties(svc.clients.hubspot, list(COMPANY_PROPERTIES))
    due = hubspot.companies_due(svc.clients.hubspot, as_of)
    log.info("%s: %d client(s) with an action due", as_of, len(due))
    results, failed = [], []
    for domain, outcome in sweep_clients(svc, [c.properties.get("domain") for c in due], as_of):
        if isinstance(outcome, Exception):  # one client's failure must not stop the others
            log.error("%s: sweep failed: %s", domain, outcome, exc_info=outcome)
            failed.append(f"{domain}: {outcome}")
        else:
            results.append(outcome)
    summary = {"as_of": as_of.isoformat(), "clients": results, "failed": failed,
               "actions": sum(len(r.get("ran", [])) for r in results)}
    if failed:
        raise RuntimeError(f"engagement sweep {as_of}: {len(failed)} client(s) failed: {'; '.join(failed)}")
    return summary
