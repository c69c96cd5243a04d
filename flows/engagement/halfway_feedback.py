"""SOP-A 4.2-4.3 / SOP-B 4.2: the halfway survey, the CSAT it gives, and the adjustments it leads to.

Runs alone for one client: ``halfway_feedback(client_domain, as_of, key=None)``. ``as_of`` is the local date
the action is for (the injected clock: nothing here asks the system for the date); ``key`` is the
timeline key being run, defaulting to the one ``as_of`` implies.
"""

from __future__ import annotations

from datetime import date, timedelta

from prefect import flow
from prefect.input import RunInput
from pydantic import Field

import services
from flows.engagement.channels import collect_form, note, send
from flows.engagement.record import DONE, PENDING, ClientRecord, load_record
from flows.engagement.retention import run_retention
from flows.people.waits import answers_by_key, ask_staff
from services import Services
from tasks import asana, forms


class FeedbackAdjustments(RunInput):
    """SOP-A 4.3 — after the halfway feedback: adjust the project?"""

    shift_due_days: int = Field(0, ge=-60, le=180, description="Move every open task's due date by this many days")
    add_deliverables: str = Field("", description="New deliverables, one per line")
    drop_deliverables: str = Field("", description="Deliverables taken out of scope (exact task names), one per line")
    notes: str = Field("", description="What was agreed and why (recorded in HubSpot)")


def run_halfway_feedback(svc: Services, rec: ClientRecord, as_of: date, key: str | None = None) -> str:
    """SOP-A 4.2 / B4.2: survey (experience, satisfaction 1-5, improvements), reminders, CSAT; then A4.3."""
    key = key or "halfway_feedback:project"
    survey, wait = svc.surveys.halfway_feedback, svc.engagement_rules.waits.halfway_survey
    status = rec.get("survey_status")
    if status in ("answered", "expired"):
        return DONE
    form_id, sent = rec.get("survey_form_id"), rec.day("survey_sent_date")
    if not form_id:
        form = forms.create_form(svc.clients.forms, survey.form_title(svc.profile.company.name, rec.client.company_name),
                                 survey.question_specs())
        form_id, sent = form.id, as_of
        rec.update(svc, {"survey_form_id": form_id, "survey_sent_date": as_of.isoformat(), "survey_status": "sent"})
    else:
        form = forms.get_form(svc.clients.forms, form_id)
    closes = sent + timedelta(hours=wait.timeout_hours)

    def mail(n: int) -> None:
        send(svc, rec, "email/feedback_survey.html.j2", f"halfway-survey-{n}", form_url=form.responder_uri,
             reminder=n > 0, closes_on=closes.isoformat())

    mail(0)
    outcome, response = collect_form(svc, as_of, form_id, sent, wait, mail)
    if outcome == "pending":
        return PENDING
    if outcome == "expired":
        rec.update(svc, {"survey_status": "expired"})
        note(svc, rec, "Halfway feedback survey closed without an answer.", "halfway-survey-expired", as_of)
        return DONE
    answers = answers_by_key(form, response, survey.question_specs())
    score = int(float(answers.get("satisfaction") or 0))
    scores = rec.csat_scores() + ([score] if 1 <= score <= 5 else [])
    rec.update(svc, {"csat_scores": ";".join(map(str, scores)), "csat_latest": score,
                  "feedback_areas_to_improve": answers.get("improve", ""), "survey_status": "answered"})
    note(svc, rec, f"<b>Halfway feedback</b><br>Satisfaction: {score}/5<br>Experience: {answers.get('experience', '')}"
         f"<br>Areas to improve: {answers.get('improve', '')}", "halfway-feedback", as_of)
    adjust(svc, rec, as_of, score)
    if svc.engagement_rules.is_at_risk(score):
        run_retention(svc, rec, as_of, "retention_offer:value_added")
    return DONE


def adjust(svc: Services, rec: ClientRecord, as_of: date, score: int) -> None:
    """SOP-A 4.3: the account manager decides (typed form in the Prefect UI); applied to Asana, noted in HubSpot."""
    wait = svc.engagement_rules.waits.adjustments
    decision = ask_staff(svc, FeedbackAdjustments, wait, what="Adjustments after feedback", approver=rec.manager,
                         client_name=rec.client.company_name, domain=rec.domain)
    if decision is None:
        note(svc, rec, "No adjustment decided after the halfway feedback (no answer in time).", "halfway-adjustments",
             as_of)
        return
    gid = rec.get("asana_project_gid")
    applied = []
    if gid and decision.shift_due_days:
        moved = asana.shift_open_tasks(svc.clients.asana, gid, decision.shift_due_days)
        applied.append(f"{moved} open tasks moved by {decision.shift_due_days} days")
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
    note(svc, rec, f"<b>Adjustments after the halfway feedback</b> (CSAT {score}/5)<br>"
         + ("<br>".join(applied) or "no changes") + (f"<br>Notes: {decision.notes}" if decision.notes else ""),
         "halfway-adjustments", as_of)


@flow(name="halfway-feedback", flow_run_name="halfway-feedback {client_domain} {as_of}", log_prints=True)
def halfway_feedback(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 4.2-4.3 / B4.2: the feedback survey, the CSAT, and the adjustments it leads to."""
    svc = services.current()
    return run_halfway_feedback(svc, load_record(svc, client_domain), as_of, key)
