"""SOP-A 4.2-4.3 / SOP-B 4.2: the halfway survey, the CSAT it gives, and the adjustments it leads to.

Runs alone for one client: ``halfway_feedback(client_domain, as_of, key=None)``. ``as_of`` is the local date
the action is for (the injected clock: nothing here asks the system for the date); ``key`` is the
timeline key being run, defaulting to the one ``as_of`` implies.
"""

from __future__ import annotations

from datetime import date, timedelta

from prefect import flow

import services
from flows.engagement.adjustments import request_adjustments
from flows.engagement.channels import collect_form, note, send
from flows.engagement.record import DONE, PENDING, ClientRecord, load_record
from flows.engagement.retention import run_retention
from flows.people.waits import answers_by_key
from services import Services
from tasks import forms


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
    request_adjustments(svc, rec, as_of, score)  # their own run: this follow-up (and the sweep) does not wait
    if svc.engagement_rules.is_at_risk(score):
        run_retention(svc, rec, as_of, "retention_offer:value_added")
    return DONE


@flow(name="halfway-feedback", flow_run_name="halfway-feedback {client_domain} {as_of}", log_prints=True)
def halfway_feedback(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 4.2-4.3 / B4.2: the feedback survey, the CSAT, and the adjustments it leads to."""
    svc = services.current()
    return run_halfway_feedback(svc, load_record(svc, client_domain), as_of, key)
