"""SOP-A 5.4: the retention programmes (loyalty before renewal, long-term discount, value-added for an
at-risk CSAT) and the first-90-day retention check (an SOP-B KPI).

Each offer is an email from the account manager with a one-question form (yes or no). Accepted, the
programme does what it says: a discount goes on the deal's line items (the billing record), a session
is booked with the account manager (Zoom + invite). What was offered, accepted, declined or left
unanswered is kept on the company (``retention_offers``) with a CRM note. A declined renewal is a churn
signal: the churn date (the term's end) and the reason are recorded for the retention KPI.

Runs alone for one client: ``retention(client_domain, as_of, key=None)``.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from prefect import flow

import services
from flows.engagement.channels import collect_form, free_slot, hold_meeting, local_at, note, send
from flows.engagement.record import (
    DONE,
    PENDING,
    SKIPPED,
    ClientRecord,
    contract_term_end,
    load_record,
    retention_offers,
    timeline_for,
)
from flows.people.waits import answers_by_key
from services import Services
from sop.scheduling import next_working_day
from sop.timeline import ActionKind, Programme
from tasks import forms, hubspot

ANSWERED = ("accepted", "declined", "expired")


def run_retention(svc: Services, rec: ClientRecord, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.4 offers and the 90-day check.

    Without ``key``: every retention action of the client's timeline due by ``as_of`` and not done,
    plus the value-added offer when the latest CSAT is below ``csat.at_risk_below``."""
    if key is None:
        done = rec.done_keys()
        keys = [a.key for a in timeline_for(svc, rec) if a.kind in (ActionKind.RETENTION_OFFER, ActionKind.RETENTION_CHECK)
                and a.due <= as_of and a.key not in done]
        scores = rec.csat_scores()
        if scores and svc.engagement_rules.is_at_risk(scores[-1]):
            keys.append("retention_offer:value_added")
        for k in dict.fromkeys(keys):
            run_retention(svc, rec, as_of, k)
        return DONE
    kind, _, slot = key.partition(":")
    if kind == ActionKind.RETENTION_CHECK:
        return check_retention(svc, rec, as_of, key, slot)
    offer = retention_offers(rec).get(slot, {})
    if offer.get("status") in ANSWERED:
        return DONE
    if not offer and (rec.day("churned_date") or rec.get("onboarding_status") == "churned"):
        return SKIPPED
    return make_offer(svc, rec, as_of, slot, offer)


def check_retention(svc: Services, rec: ClientRecord, as_of: date, key: str, slot: str) -> str:
    """The first-90-day retention check: churned before day 90 or retained, on the CRM."""
    start = rec.day("service_start_date") or as_of
    day_90 = start + timedelta(days=svc.engagement_rules.retention.check_after_days)
    churned = rec.day("churned_date")
    status = "churned" if churned and churned < day_90 else "retained"
    rec.update(svc, {"retention_90d_status": status})
    note(svc, rec, f"First-{slot} retention check: {status}.", key.replace(":", "-"), as_of)
    return DONE


def make_offer(svc: Services, rec: ClientRecord, as_of: date, slot: str, offer: dict[str, str]) -> str:
    """The offer's email and form (once), reminders, then what the client's answer leads to."""
    programme = svc.engagement_rules.retention.programmes[slot]
    survey, wait = svc.surveys.retention_offer, svc.engagement_rules.waits.retention_offer
    if not offer.get("form_id"):
        form = forms.create_form(svc.clients.forms, survey.form_title(svc.profile.company.name, rec.client.company_name),
                                 survey.question_specs())
        offer = {"offered": as_of.isoformat(), "form_id": form.id, "status": "offered"}
        record_offer(svc, rec, slot, offer)
    else:
        form = forms.get_form(svc.clients.forms, offer["form_id"])
    sent = date.fromisoformat(offer["offered"])
    closes = sent + timedelta(hours=wait.timeout_hours)

    def mail(n: int) -> None:
        send(svc, rec, programme.template, f"retention-{slot}" + (f"-{n}" if n else ""), programme=programme,
             form_url=form.responder_uri, reminder=n > 0, closes_on=closes.isoformat(), term_end=term_end(svc, rec))

    mail(0)
    note(svc, rec, f"<b>Retention offer sent</b> ({slot}).", f"retention-{slot}", sent)
    outcome, response = collect_form(svc, as_of, offer["form_id"], sent, wait, mail)
    if outcome == "pending":
        return PENDING
    if outcome == "expired":
        record_offer(svc, rec, slot, {**offer, "status": "expired", "answered": as_of.isoformat()})
        note(svc, rec, f"Retention offer ({slot}): no answer by {closes}.", f"retention-{slot}-answer", as_of)
        return DONE
    answers = answers_by_key(form, response, survey.question_specs())
    accepted = svc.surveys.accepts(answers.get("answer", ""))
    detail = give(svc, rec, slot, programme, as_of) if accepted else decline(svc, rec, slot)
    record_offer(svc, rec, slot, {**offer, "status": "accepted" if accepted else "declined",
                                  "answered": as_of.isoformat(), "detail": detail})
    note(svc, rec, f"<b>Retention offer {'accepted' if accepted else 'declined'}</b> ({slot}): {detail}"
         + (f"<br>Client's comment: {answers['comment']}" if answers.get("comment") else ""),
         f"retention-{slot}-answer", as_of)
    return DONE


def give(svc: Services, rec: ClientRecord, slot: str, programme: Programme, as_of: date) -> str:
    """What an accepted programme gives: the discount on the billing record, or the session booked."""
    if programme.discount_percent is not None:
        deal = hubspot.find_deal(svc.clients.hubspot, rec.domain)
        if deal is None:
            return f"{programme.discount_percent}% granted; no deal to bill it on (for Finance)"
        n = hubspot.discount_billing(svc.clients.hubspot, deal.id, programme.discount_percent)
        return f"{programme.discount_percent}% off the deal's {n} line item(s) from {as_of}"
    key = f"retention_session:{slot}"
    after = local_at(svc, next_working_day(as_of, svc.profile.working_hours), svc.engagement_rules.check_ins.local_time)
    when = free_slot(svc, str(rec.manager.email), (rec.domain, key), after, programme.session_minutes,
                     (str(rec.specialist.email),), days=14)
    _, at = hold_meeting(svc, rec, key, f"Strategy session — {rec.client.company_name}", when,
                         programme.session_minutes, "What could be better, and how we put it right together")
    return f"{programme.session_minutes}-minute strategy session booked for {at}"


def decline(svc: Services, rec: ClientRecord, slot: str) -> str:
    """A declined renewal is a churn signal: the client leaves when the term ends (for the retention KPI)."""
    if slot != "loyalty":
        return "declined"
    end = term_end(svc, rec)
    rec.update(svc, {"renewal_status": "declined", "churned_date": rec.get("churned_date") or end,
                     "churn_reason": rec.get("churn_reason") or "renewal declined"})
    return f"renewal declined: the client leaves when the term ends ({end})"


def term_end(svc: Services, rec: ClientRecord) -> str:
    end = contract_term_end(svc, rec)
    return end.isoformat() if end else ""


def record_offer(svc: Services, rec: ClientRecord, slot: str, offer: dict[str, str]) -> None:
    offers = retention_offers(rec)
    offers[slot] = offer
    rec.update(svc, {"retention_offers": json.dumps(offers, sort_keys=True)})


@flow(name="retention", flow_run_name="retention {client_domain} {as_of}", log_prints=True)
def retention(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.4 / B KPI: retention offers by the programmes in config/engagement.yaml, and the 90-day check."""
    svc = services.current()
    return run_retention(svc, load_record(svc, client_domain), as_of, key)
