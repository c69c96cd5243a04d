"""SOP-A 5.2: satisfied clients are asked for a testimonial or review; the answer is recorded.

Runs alone for one client: ``request_testimonial(client_domain, as_of, key=None)``. ``as_of`` is the local date
the action is for (the injected clock: nothing here asks the system for the date); ``key`` is the
timeline key being run, defaulting to the one ``as_of`` implies.
"""

from __future__ import annotations

from datetime import date

from prefect import flow

import services
from flows.engagement.channels import collect_form, note, send
from flows.engagement.record import DONE, PENDING, ClientRecord, load_record
from flows.people.waits import answers_by_key
from services import Services
from tasks import forms


def run_request_testimonial(svc: Services, rec: ClientRecord, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.2: satisfied clients (CSAT >= csat.satisfied_at) are asked; the answer is recorded."""
    if rec.get("testimonial_status") in ("received", "no_response", "not_eligible"):
        return DONE
    if not rec.get("onboarding_completed_date"):
        return PENDING
    scores = rec.csat_scores()
    if not rec.get("testimonial_form_id") and (not scores or not svc.engagement_rules.is_satisfied(scores[-1])):
        rec.update(svc, {"testimonial_status": "not_eligible"})
        return DONE
    survey = svc.surveys.testimonial
    form_id, sent = rec.get("testimonial_form_id"), rec.day("testimonial_sent_date")
    if not form_id:
        form = forms.create_form(svc.clients.forms, survey.form_title(svc.profile.company.name, rec.client.company_name),
                                 survey.question_specs())
        form_id, sent = form.id, as_of
        rec.update(svc, {"testimonial_form_id": form_id, "testimonial_sent_date": as_of.isoformat(),
                      "testimonial_status": "requested"})
    else:
        form = forms.get_form(svc.clients.forms, form_id)

    def mail(n: int) -> None:
        send(svc, rec, "email/testimonial_request.html.j2", f"testimonial-request-{n}", form_url=form.responder_uri,
             reminder=n > 0)

    mail(0)
    outcome, response = collect_form(svc, as_of, form_id, sent, svc.engagement_rules.waits.testimonial, mail)
    if outcome == "pending":
        return PENDING
    if outcome == "expired":
        rec.update(svc, {"testimonial_status": "no_response"})
        return DONE
    answers = answers_by_key(form, response, survey.question_specs())
    rec.update(svc, {"testimonial_status": "received", "testimonial_text": answers.get("testimonial", "")})
    note(svc, rec, f"<b>Testimonial</b> (publish: {answers.get('permission', 'No')})<br>{answers.get('testimonial', '')}",
         "testimonial", as_of)
    return DONE


@flow(name="request-testimonial", flow_run_name="request-testimonial {client_domain} {as_of}", log_prints=True)
def request_testimonial(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.2: the testimonial or review request."""
    svc = services.current()
    return run_request_testimonial(svc, load_record(svc, client_domain), as_of, key)
