"""SOP-A 4.2-4.3 / SOP-B 4.2: the halfway survey, the CSAT it gives, and the adjustments it leads to.

Runs alone for one client: ``halfway_feedback(client_domain, as_of, key=None)``. ``as_of`` is the local date
the action is for (the injected clock: nothing here asks the system for the date); ``key`` is the
timeline key being run, defaulting to the one ``as_of`` implies.
"""

from __future__ import annotations

from datetime import date

from prefect import flow

import services
from flows.engagement.adjustments import request_adjustments
from flows.engagement.channels import note
from flows.engagement.client_survey import SurveyProperties, run_client_survey, score_of
from flows.engagement.record import DONE, ClientRecord, load_record
from flows.engagement.retention import run_retention
from services import Services

PROPERTIES = SurveyProperties("survey_form_id", "survey_sent_date", "survey_status")


def run_halfway_feedback(svc: Services, rec: ClientRecord, as_of: date, key: str | None = None) -> str:
    """SOP-A 4.2 / B4.2: survey (experience, satisfaction 1-5, improvements), reminders, CSAT; then A4.3."""
    outcome, answers = run_client_survey(svc, rec, as_of, svc.surveys.halfway_feedback,
                                         svc.engagement_rules.waits.halfway_survey, PROPERTIES,
                                         "email/feedback_survey.html.j2", "halfway-survey", "Halfway feedback survey")
    if outcome != "answered":  # still waiting, or closed (noted)
        return outcome
    score = score_of(answers) or 0
    scores = rec.csat_scores() + ([score] if score else [])
    rec.update(svc, {"csat_scores": ";".join(map(str, scores)), "csat_latest": score,
                     "feedback_areas_to_improve": answers.get("improve", ""), PROPERTIES.status: "answered"})
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
