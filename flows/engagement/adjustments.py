"""SOP-A 4.3: the adjustments the halfway feedback leads to, decided by the account manager in a run of its
own, so the daily sweep that asked never waits on a person (the sweep finishes; this run waits).

Started by the halfway feedback (``request_adjustments``): from a deployment's run, a run of the
``halfway-adjustments`` deployment (it suspends while it waits, holding no process); from flows called
directly (the demo, the tests), a thread of this process. Once per client (``adjustments_status`` on the company). What is agreed lands
everywhere: the open Asana tasks' dates (moved once however often it is retried), the project's length
on HubSpot (so the engagement re-plans its timeline and meetings), new or dropped deliverables, a note.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from prefect import flow, get_run_logger
from prefect.input import RunInput
from pydantic import Field

import services
from flows.engagement.channels import note
from flows.engagement.own_run import start_own_run
from flows.engagement.record import ClientRecord, load_record
from flows.people.waits import ask_staff
from services import Services
from tasks import asana

DEPLOYMENT = "halfway-adjustments/halfway-adjustments"


class FeedbackAdjustments(RunInput):
    """SOP-A 4.3 — after the halfway feedback: adjust the project?"""

    shift_due_days: int = Field(0, ge=-60, le=180, description="Move every open task's due date by this many days")
    add_deliverables: str = Field("", description="New deliverables, one per line")
    drop_deliverables: str = Field("", description="Deliverables taken out of scope (exact task names), one per line")
    notes: str = Field("", description="What was agreed and why (recorded in HubSpot)")


def request_adjustments(svc: Services, rec: ClientRecord, as_of: date, score: int) -> None:
    """Start the adjustments run for the client, once; never waits for it."""
    if rec.get("adjustments_status"):
        return
    rec.update(svc, {"adjustments_status": "asked"})
    start_own_run(DEPLOYMENT, {"client_domain": rec.domain, "score": score, "as_of": as_of.isoformat()},
                  f"adjustments-{rec.domain}", adjustments_after_feedback)


def apply_adjustments(svc: Services, rec: ClientRecord, as_of: date, decision: FeedbackAdjustments
                      ) -> tuple[list[str], dict[str, object]]:
    """New deliverables first (due at the project's end), then every open task moved (the new ones too: the
    end moves with them), then the project's length; each step finds its own work done on a retry."""
    gid = rec.get("asana_project_gid")
    applied: list[str] = []
    updates: dict[str, object] = {"adjustments_status": "applied"}
    for name in filter(None, (n.strip() for n in decision.add_deliverables.splitlines())):
        if gid:
            start = rec.day("service_start_date") or as_of
            weeks = int(float(rec.get("project_weeks") or 1))
            asana.add_deliverable(svc.clients.asana, gid, name, rec.get("specialist_email"),
                                  max(as_of, start + timedelta(weeks=weeks)) - timedelta(days=1))
            applied.append(f"deliverable added: {name}")
    for name in filter(None, (n.strip() for n in decision.drop_deliverables.splitlines())):
        if gid and asana.drop_deliverable(svc.clients.asana, gid, name):
            applied.append(f"deliverable dropped: {name}")
    if decision.shift_due_days:
        if gid:
            moved = asana.shift_open_tasks(svc.clients.asana, gid, decision.shift_due_days, f"halfway-{rec.domain}")
            applied.append(f"{moved} open tasks moved by {decision.shift_due_days} days")
        # the project's length follows (whole weeks, never under one): the engagement re-plans from it. Written
        # with the status "applied" in one update, so a retry before it computes the same length again
        weeks = int(float(rec.get("project_weeks") or 1))
        new_weeks = max(1, weeks + math.ceil(decision.shift_due_days / 7))
        if new_weeks != weeks:
            updates["project_weeks"] = new_weeks
            applied.append(f"project length {weeks} -> {new_weeks} weeks (its timeline and meetings re-planned)")
    return applied, updates


@flow(name="halfway-adjustments", flow_run_name="halfway-adjustments {client_domain}", log_prints=True)
def adjustments_after_feedback(client_domain: str, score: int, as_of: date) -> str:
    """SOP-A 4.3: the account manager decides (a typed form in the Prefect UI); applied and noted."""
    svc = services.current()
    rec = load_record(svc, client_domain)
    if rec.get("adjustments_status") in ("applied", "none"):
        return rec.get("adjustments_status")
    decision = ask_staff(svc, FeedbackAdjustments, svc.engagement_rules.waits.adjustments,
                         what="Adjustments after feedback", approver=rec.manager,
                         client_name=rec.client.company_name, domain=rec.domain)
    if decision is None:
        note(svc, rec, "No adjustment decided after the halfway feedback (no answer in time).", "halfway-adjustments",
             as_of)
        rec.update(svc, {"adjustments_status": "none"})
        return "none"
    applied, updates = apply_adjustments(svc, rec, as_of, decision)
    note(svc, rec, f"<b>Adjustments after the halfway feedback</b> (CSAT {score}/5)<br>"
         + ("<br>".join(applied) or "no changes") + (f"<br>Notes: {decision.notes}" if decision.notes else ""),
         "halfway-adjustments", as_of)
    rec.update(svc, updates)
    get_run_logger().info("%s: adjustments applied: %s", client_domain, applied or "none")
    return "applied"
