"""One client as the CRM records it after kick-off: the engagement record the follow-ups read and write.

HubSpot stays the system of record: each client's company carries ``next_action_key`` /
``next_action_date`` (the earliest action not done yet), ``engagement_done_keys`` (every timeline
key done, ``;``-separated), ``engagement_plan_basis`` (kick-off|start|weeks|cadence the plan was
made from), ``engagement_last_sweep``, and what each follow-up learned (survey, CSAT, testimonial,
completion, churn). Every follow-up returns one of ``DONE``, ``PENDING`` (waiting on the client or
on the project: the sweep keeps the action due and runs it again on a later day) or ``SKIPPED``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from integrations.hubspot import Record
from services import Services
from sop.billing import invoice_actions
from sop.profile import Person, Role
from sop.rules import ServicePackage
from sop.timeline import Action, ActionKind, EngagementRules, on_event, plan_timeline
from tasks import hubspot

DONE, PENDING, SKIPPED = "done", "pending", "skipped"


@dataclass(frozen=True)
class ClientView:
    """What the templates need of the client (same fields as NewClient uses there)."""

    company_name: str
    domain: str
    email: str
    first_name: str


@dataclass
class ClientRecord:
    """One client as the CRM records it: company properties, contact, team."""

    company: Record
    client: ClientView
    contact_id: str | None
    manager: Person
    specialist: Person

    @property
    def id(self) -> str:
        return self.company.id

    @property
    def domain(self) -> str:
        return self.client.domain

    def get(self, name: str) -> str | None:
        return self.company.properties.get(name) or None

    def day(self, name: str) -> date | None:
        value = self.get(name)
        return date.fromisoformat(value[:10]) if value else None

    def done_keys(self) -> set[str]:
        return parse_keys(self.get("engagement_done_keys"))

    def csat_scores(self) -> list[int]:
        return [int(s) for s in (self.get("csat_scores") or "").split(";") if s.strip().isdigit()]

    def ids(self) -> dict[str, str]:
        return {"companies": self.id, **({"contacts": self.contact_id} if self.contact_id else {})}

    def update(self, svc: Services, props: dict[str, Any]) -> None:
        self.company = hubspot.update_company(svc.clients.hubspot, self.id, props)
        merged = {**self.company.properties, **{k: (None if v is None else str(v)) for k, v in props.items()}}
        self.company = Record(self.company.id, "companies", merged)


class NoContact(LookupError):
    """The client's company has no contact to write to: for staff to fix in the CRM."""


def parse_keys(text: str | None) -> set[str]:
    return {k for k in (text or "").split(";") if k}


def load_record(svc: Services, client_domain: str) -> ClientRecord:
    hub = svc.clients.hubspot
    company = hubspot.find_company(hub, client_domain)
    if company is None:
        raise LookupError(f"no HubSpot company with domain {client_domain!r}")
    contact = hubspot.primary_contact(hub, company.id)
    p = contact.properties if contact else {}
    if not p.get("email"):  # never a guessed address: staff add the contact in HubSpot, the next sweep goes on
        raise NoContact(f"{client_domain}: the HubSpot company {company.id} has no contact with an email; add the "
                        "client's contact person to it so the follow-ups can reach them")
    name = company.properties.get("name") or client_domain
    client = ClientView(company_name=name, domain=client_domain, email=p["email"],
                        first_name=p.get("firstname") or f"{name} team")  # "Dear Acme team", never "Dear there"
    return ClientRecord(company=company, client=client, contact_id=contact.id if contact else None,
                      manager=svc.person(Role.ACCOUNT_MANAGER, company.properties.get("account_manager_email")),
                      specialist=svc.person(Role.ONBOARDING_SPECIALIST, company.properties.get("specialist_email")))


def rules_for(svc: Services, cadence: str | None) -> EngagementRules:
    """The company's rules, with the client's own check-in cadence when it has one."""
    rules: EngagementRules = svc.engagement_rules
    if cadence in ("weekly", "biweekly") and cadence != rules.check_ins.cadence:
        rules = rules.model_copy(update={"check_ins": rules.check_ins.model_copy(update={"cadence": cadence})})
    return rules


def plan_basis(rec: ClientRecord) -> str | None:
    """What the timeline is computed from: kick-off|start|weeks|cadence (None before kick-off)."""
    kickoff, start, weeks = rec.day("kickoff_date"), rec.day("service_start_date"), rec.get("project_weeks")
    if not (kickoff and start and weeks):
        return None
    return f"{kickoff}|{start}|{int(float(weeks))}|{rec.get('engagement_cadence') or ''}"


def timeline_from_basis(svc: Services, basis: str) -> list[Action]:
    kickoff, start, weeks, cadence = basis.split("|")
    return plan_timeline(date.fromisoformat(kickoff), date.fromisoformat(start), int(weeks),
                         rules_for(svc, cadence or None), svc.profile.tz)


def timeline_for(svc: Services, rec: ClientRecord) -> list[Action]:
    """The client's plan, and the offers made on an event (they stay due until the client answers)."""
    basis = plan_basis(rec)
    if basis is None:
        raise ValueError(f"{rec.domain}: no kick-off date, service start date and project weeks on the company yet")
    timeline = timeline_from_basis(svc, basis)
    planned = {a.key for a in timeline}
    for slot, offer in retention_offers(rec).items():
        if f"{ActionKind.RETENTION_OFFER.value}:{slot}" not in planned and offer.get("offered"):
            timeline.append(on_event(ActionKind.RETENTION_OFFER, slot, date.fromisoformat(offer["offered"]),
                                     svc.engagement_rules, svc.profile.tz))
    if (billing := billing_plan(svc, rec)) is not None:  # invoice:<n>, the package's invoices after the deposit
        package, start, term_end = billing
        timeline += invoice_actions(package.billing, start, term_end, svc.engagement_rules, svc.profile.tz)
    return sorted(timeline, key=lambda a: (a.at, a.kind, a.key))


def billing_plan(svc: Services, rec: ClientRecord) -> tuple[ServicePackage, date, date] | None:
    """The client's package, service start and term end (what its invoices are dated from), or None before
    phase 3 put them on the company (or for a package no longer in the catalogue)."""
    start, end, key = rec.day("service_start_date"), contract_term_end(svc, rec), rec.get("service_package")
    if not (start and end and key):
        return None
    try:
        package = svc.rules.package(key)
    except KeyError:
        return None
    return package, start, end


def contract_term_end(svc: Services, rec: ClientRecord) -> date | None:
    """The day the client's contract term ends (``retention.contract_months``, else the project's end), or
    None before phase 3 put the service start and the project's length on the company."""
    start, weeks = rec.day("service_start_date"), rec.get("project_weeks")
    if not (start and weeks):
        return None
    return svc.engagement_rules.retention.term_end(start, start + timedelta(weeks=int(float(weeks))))


def retention_offers(rec: ClientRecord) -> dict[str, dict[str, str]]:
    """What was offered to the client, and their answer: {programme: {offered, form_id, status, answered}}."""
    try:
        offers = json.loads(rec.get("retention_offers") or "{}")
    except ValueError:  # edited by hand in HubSpot: start again rather than fail the client's follow-ups
        return {}
    return offers if isinstance(offers, dict) else {}
