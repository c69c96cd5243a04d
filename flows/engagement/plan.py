"""The client's engagement plan on the CRM: its timeline from kick-off, start date, weeks and cadence,
and the next action the sweep looks for (SOP-A 4.1)."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger

import services
from flows.engagement.channels import note
from flows.engagement.record import ClientRecord, load_record, plan_basis, rules_for, timeline_for, timeline_from_basis
from services import Services
from sop.timeline import Action, next_action, replan
from tasks import hubspot

# the company properties the engagement keeps (accounts onboarded before they existed get them now)
ENGAGEMENT_PROPERTIES = [
    "next_action_key", "next_action_date", "engagement_done_keys", "engagement_plan_basis", "engagement_last_sweep",
    "onboarding_survey_form_id", "onboarding_survey_sent_date", "onboarding_survey_status", "onboarding_csat",
    "survey_form_id", "survey_sent_date", "survey_status", "csat_scores", "csat_latest", "feedback_areas_to_improve",
    "onboarding_completed_date", "testimonial_form_id", "testimonial_sent_date", "testimonial_status",
    "testimonial_text", "churned_date", "churn_reason", "retention_90d_status",
    "retention_offers", "renewal_status",
    "adjustments_status",
    "health_status", "health_reasons", "health_checked_date", "health_history", "health_overdue",
    "health_missed_check_ins",
]


def earliest_open(timeline: list[Action], done: set[str]) -> Action | None:
    """The first action not done (due already or not): what the sweep looks for next."""
    return next((a for a in timeline if a.key not in done), None)


def store_plan(svc: Services, rec: ClientRecord, timeline: list[Action], done: set[str], basis: str) -> Action | None:
    nxt = earliest_open(timeline, done)
    rec.update(svc, {
        "engagement_done_keys": ";".join(sorted(done)),
        "engagement_plan_basis": basis,
        "next_action_key": nxt.key if nxt else "",
        "next_action_date": nxt.due.isoformat() if nxt else "",
    })
    return nxt


def plan_client(svc: Services, rec: ClientRecord, as_of: date) -> dict:
    """Plan (or re-plan, when kick-off, start, weeks or cadence moved) and store the next action."""
    basis = plan_basis(rec)
    if basis is None:
        get_run_logger().warning("%s: no kick-off/start/weeks on the company yet; nothing planned", rec.domain)
        return {"client": rec.domain, "planned": False}
    done = rec.done_keys()
    old = rec.get("engagement_plan_basis")
    if old and old != basis:
        kickoff, start, weeks, cadence = basis.split("|")
        timeline = replan(timeline_from_basis(svc, old), done, date.fromisoformat(kickoff), date.fromisoformat(start),
                          int(weeks), rules_for(svc, cadence or None), svc.profile.tz)
        note(svc, rec, f"Engagement re-planned: {old} -> {basis}.", f"replanned-{basis}", as_of)
    else:
        timeline = timeline_for(svc, rec)
    nxt = store_plan(svc, rec, timeline, done, basis)
    upcoming = next_action(timeline, done, as_of)
    return {"client": rec.domain, "planned": True, "actions": len(timeline), "done": len(done),
            "next_action": nxt.key if nxt else None, "next_action_date": nxt.due.isoformat() if nxt else None,
            "next_after_as_of": upcoming.key if upcoming else None, "replanned": bool(old and old != basis)}


@flow(name="plan-engagement", flow_run_name="plan-engagement {client_domain}", log_prints=True)
def plan_engagement(client_domain: str, as_of: date | None = None) -> dict:
    """SOP-A 4.1: the client's engagement timeline from its kick-off, start date and weeks, stored on HubSpot.

    Run after kick-off (the last step of the new-client run) and whenever the plan dates move."""
    svc = services.current()
    as_of = as_of or svc.now().astimezone(svc.profile.tz).date()
    hubspot.ensure_engagement_properties(svc.clients.hubspot, ENGAGEMENT_PROPERTIES)
    return plan_client(svc, load_record(svc, client_domain), as_of)
