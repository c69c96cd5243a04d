"""The engagement timeline on the CRM, and the daily sweep that runs what is due (SOP-A 4-5, SOP-B 4).

HubSpot stays the system of record: each client's company carries ``next_action_key`` /
``next_action_date`` (the earliest action not done yet), ``engagement_done_keys`` (every timeline
key done, ``;``-separated), ``engagement_plan_basis`` (kick-off|start|weeks|cadence the plan was
made from) and ``engagement_last_sweep``.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from prefect import flow, get_run_logger

from onboard.runtime import Runtime, build_runtime, current_runtime, using_runtime
from onboard.timeline import Action, next_action, replan
from tasks import crm, engagement
from tasks.crm import COMPANY_PROPERTIES

from .followups import (
    DONE,
    FLOW_FOR,
    PENDING,
    Engagement,
    engagement_rules,
    load_engagement,
    note,
    parse_keys,
    plan_basis,
    timeline_for,
    timeline_from_basis,
)

NEW_PROPERTIES = [
    "next_action_key", "next_action_date", "engagement_done_keys", "engagement_plan_basis", "engagement_last_sweep",
    "survey_form_id", "survey_sent_date", "survey_status", "csat_scores", "csat_latest", "feedback_areas_to_improve",
    "onboarding_completed_date", "testimonial_form_id", "testimonial_sent_date", "testimonial_status",
    "testimonial_text", "churned_date", "retention_90d_status",
]


def earliest_open(timeline: list[Action], done: set[str]) -> Action | None:
    """The first action not done (due already or not): what the sweep looks for next."""
    return next((a for a in timeline if a.key not in done), None)


def store_plan(rt: Runtime, e: Engagement, timeline: list[Action], done: set[str], basis: str) -> Action | None:
    nxt = earliest_open(timeline, done)
    e.update(rt, {
        "engagement_done_keys": ";".join(sorted(done)),
        "engagement_plan_basis": basis,
        "next_action_key": nxt.key if nxt else "",
        "next_action_date": nxt.due.isoformat() if nxt else "",
    })
    return nxt


def plan_client(rt: Runtime, e: Engagement, as_of: date) -> dict:
    """Plan (or re-plan, when kick-off, start, weeks or cadence moved) and store the next action."""
    basis = plan_basis(e)
    if basis is None:
        get_run_logger().warning("%s: no kick-off/start/weeks on the company yet; nothing planned", e.domain)
        return {"client": e.domain, "planned": False}
    done = e.done_keys()
    old = e.get("engagement_plan_basis")
    if old and old != basis:
        kickoff, start, weeks, cadence = basis.split("|")
        timeline = replan(timeline_from_basis(rt, old), done, date.fromisoformat(kickoff), date.fromisoformat(start),
                          int(weeks), engagement_rules(rt, cadence or None), rt.profile.tz)
        note(rt, e, f"Engagement re-planned: {old} -> {basis}.", f"replanned-{basis}", as_of)
    else:
        timeline = timeline_for(rt, e)
    nxt = store_plan(rt, e, timeline, done, basis)
    upcoming = next_action(timeline, done, as_of)
    return {"client": e.domain, "planned": True, "actions": len(timeline), "done": len(done),
            "next_action": nxt.key if nxt else None, "next_action_date": nxt.due.isoformat() if nxt else None,
            "next_after_as_of": upcoming.key if upcoming else None, "replanned": bool(old and old != basis)}


@flow(name="plan-engagement", flow_run_name="plan-engagement {client_domain}", log_prints=True)
def plan_engagement(client_domain: str, as_of: date | None = None) -> dict:
    """SOP-A 4.1: the client's engagement timeline from its kick-off, start date and weeks, stored on HubSpot.

    Run after kick-off (the last step of the new-client run) and whenever the plan dates move."""
    rt = current_runtime()
    as_of = as_of or rt.now().astimezone(rt.profile.tz).date()
    engagement.ensure_engagement_properties(rt.clients.hubspot, NEW_PROPERTIES)
    return plan_client(rt, load_engagement(rt, client_domain), as_of)


def run_action(action: Action, domain: str, as_of: date) -> str:
    """The follow-up flow for ``action`` (a subflow run of its own)."""
    return FLOW_FOR[action.kind](domain, as_of, key=action.key)


def sweep_client(rt: Runtime, e: Engagement, as_of: date) -> dict:
    """Every due action of one client, oldest first; each done key is stored as soon as it is done."""
    if e.day("engagement_last_sweep") == as_of:
        return {"client": e.domain, "ran": [], "note": "already swept today"}
    basis = plan_basis(e)
    if basis is None:
        return {"client": e.domain, "ran": [], "note": "not planned"}
    done = e.done_keys()
    timeline = timeline_for(rt, e)
    ran, pending = [], []
    for action in [a for a in timeline if a.key not in done and a.due <= as_of]:
        outcome = run_action(action, e.domain, as_of)
        if outcome == PENDING:
            pending.append(action.key)
            continue
        ran.append((action.key, outcome))
        done.add(action.key)
        crm.update_company(rt.clients.hubspot, e.id, {"engagement_done_keys": ";".join(sorted(done))})
    # the flows may have written the company (status, completion date): read it again before planning
    e = load_engagement(rt, e.domain)
    done |= parse_keys(e.get("engagement_done_keys"))
    nxt = store_plan(rt, e, timeline_for(rt, e), done, plan_basis(e) or basis)
    crm.update_company(rt.clients.hubspot, e.id, {"engagement_last_sweep": as_of.isoformat()})
    return {"client": e.domain, "ran": ran, "pending": pending, "next_action": nxt.key if nxt else None}


def sweep_clients(rt: Runtime, domains: list[str], as_of: date) -> list[tuple[str, dict | Exception]]:
    """``sweep_client`` for each domain, ``settings.sweep_workers`` clients at a time, in due order.

    Each worker thread builds its own vendor clients once (the Google SDK's transport is not
    thread-safe) and runs in a copy of the sweep's context, so the follow-ups stay its subflows."""
    local = threading.local()

    def one(domain: str) -> dict | Exception:
        if not hasattr(local, "rt"):
            local.rt = rt if rt.settings.sweep_workers == 1 else build_runtime(rt.settings)
        try:
            with using_runtime(local.rt):
                return sweep_client(local.rt, load_engagement(local.rt, domain), as_of)
        except Exception as exc:  # noqa: BLE001 - reported per client by the caller
            return exc

    with ThreadPoolExecutor(max_workers=rt.settings.sweep_workers, thread_name_prefix="sweep") as pool:
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
    rt = build_runtime()
    log = get_run_logger()
    as_of = as_of or rt.now().astimezone(rt.profile.tz).date()
    # the search filters on custom properties a fresh account does not have yet
    engagement.ensure_engagement_properties(rt.clients.hubspot, list(COMPANY_PROPERTIES))
    due = engagement.companies_due(rt.clients.hubspot, as_of)
    log.info("%s: %d client(s) with an action due", as_of, len(due))
    results, failed = [], []
    for domain, outcome in sweep_clients(rt, [c.properties.get("domain") for c in due], as_of):
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


__all__ = ["DONE", "engagement_sweep", "plan_engagement", "sweep_client"]
