"""A client survey of the engagement (a Google Form): made once, emailed, reminded, read back.

The onboarding survey after the kick-off (the onboarding CSAT) and the halfway survey (SOP-A 4.2)
differ only in their form, their email and where they keep what they learned on the company."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flows.engagement.channels import collect_form, note, send
from flows.engagement.record import DONE, PENDING, ClientRecord
from flows.people.waits import answers_by_key
from services import Services
from sop.rules import Wait
from sop.surveys import Survey
from tasks import forms


@dataclass(frozen=True)
class SurveyProperties:
    """The company properties one survey keeps: its form, the day it went out, its status."""

    form_id: str
    sent_date: str
    status: str


def run_client_survey(svc: Services, rec: ClientRecord, as_of: date, survey: Survey, wait: Wait,
                      props: SurveyProperties, template: str, key: str, label: str) -> tuple[str, dict[str, str]]:
    """("answered", answers by question key) | (DONE, {}) | (PENDING, {}): the form is made and emailed
    once, reminded at the wait's interval, and closes after its timeout (days of ``as_of``), noted as
    ``label`` closed; a survey answered or closed before is DONE."""
    if rec.get(props.status) in ("answered", "expired"):
        return DONE, {}
    form_id, sent = rec.get(props.form_id), rec.day(props.sent_date)
    if not form_id:
        form = forms.create_form(svc.clients.forms, survey.form_title(svc.profile.company.name, rec.client.company_name),
                                 survey.question_specs())
        form_id, sent = form.id, as_of
        rec.update(svc, {props.form_id: form_id, props.sent_date: as_of.isoformat(), props.status: "sent"})
    else:
        form = forms.get_form(svc.clients.forms, form_id)
    closes = sent + timedelta(hours=wait.timeout_hours)

    def mail(n: int) -> None:
        send(svc, rec, template, f"{key}-{n}", form_url=form.responder_uri, reminder=n > 0, closes_on=closes.isoformat())

    mail(0)
    outcome, response = collect_form(svc, as_of, form_id, sent, wait, mail)
    if outcome == "answered":  # the caller marks it answered with what it learned, in one write
        return outcome, answers_by_key(form, response, survey.question_specs())
    if outcome == "expired":
        rec.update(svc, {props.status: "expired"})
        note(svc, rec, f"{label} closed without an answer.", f"{key}-expired", as_of)
        return DONE, {}
    return PENDING, {}


def score_of(answers: dict[str, str]) -> int | None:
    """The survey's ``satisfaction`` answer as a 1-5 score, or None."""
    try:
        score = int(float(answers.get("satisfaction") or 0))
    except ValueError:
        return None
    return score if 1 <= score <= 5 else None
