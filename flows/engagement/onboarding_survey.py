"""SOP-B KPI "CSAT for onboarding": a short survey once the onboarding (phases 1-3) ends with the kick-off.

Runs alone for one client: ``onboarding_survey(client_domain, as_of, key=None)``. Its score is kept
apart from the halfway project survey's (SOP-A 4.2): the KPI table reports the two separately.
"""

from __future__ import annotations

import html
from datetime import date

from prefect import flow

import services
from flows.engagement.channels import note
from flows.engagement.client_survey import SurveyProperties, run_client_survey, score_of
from flows.engagement.record import DONE, ClientRecord, load_record
from services import Services

PROPERTIES = SurveyProperties("onboarding_survey_form_id", "onboarding_survey_sent_date", "onboarding_survey_status")


def run_onboarding_survey(svc: Services, rec: ClientRecord, as_of: date, key: str | None = None) -> str:
    """The onboarding survey (satisfaction 1-5, what went well, what to improve): sent, reminded, read."""
    outcome, answers = run_client_survey(svc, rec, as_of, svc.surveys.onboarding,
                                         svc.engagement_rules.waits.onboarding_survey, PROPERTIES,
                                         "email/onboarding_survey.html.j2", "onboarding-survey", "Onboarding survey")
    if outcome != "answered":  # still waiting, or closed (noted)
        return outcome
    score = score_of(answers)
    rec.update(svc, {"onboarding_csat": score if score is not None else "", PROPERTIES.status: "answered"})
    note(svc, rec, f"<b>Onboarding survey</b><br>Satisfaction: {score}/5<br>"
         f"Went well: {html.escape(answers.get('went_well', ''))}<br>"
         f"Do better: {html.escape(answers.get('improve', ''))}", "onboarding-survey", as_of)
    return DONE


@flow(name="onboarding-survey", flow_run_name="onboarding-survey {client_domain} {as_of}", log_prints=True)
def onboarding_survey(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-B KPI: the onboarding CSAT survey after the kick-off."""
    svc = services.current()
    return run_onboarding_survey(svc, load_record(svc, client_domain), as_of, key)
