"""HubSpot side effects: the client's company, contact, deal, notes, owner, billing, and the engagement
record the follow-ups keep on the company."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime

from integrations.errors import NotFound
from integrations.hubspot import DEAL_TO, INVOICE_BILLED_PROPERTY, INVOICE_PROPERTIES, HubSpotCRM, Pipeline, Record
from sop.client import Industry, NewClient
from tasks.base import in_parallel, side_effect

# Custom properties the SOP keeps on the company (the CRM stays the system of record).
COMPANY_PROPERTIES: dict[str, tuple[str, str, str]] = {
    # name: (label, type, fieldType)
    "source_of_lead": ("Source of lead", "string", "text"),
    "client_id": ("Client ID", "string", "text"),
    "onboarding_budget": ("Onboarding budget", "number", "number"),
    "requested_services": ("Requested services", "string", "text"),
    "preferred_communication": ("Preferred communication", "string", "text"),
    "timeline_weeks": ("Expected timeline (weeks)", "number", "number"),
    "intake_form_id": ("Intake form ID", "string", "text"),
    "intake_business_description": ("Intake: business", "string", "textarea"),
    "intake_goals": ("Intake: goals", "string", "textarea"),
    "intake_communication_style": ("Intake: communication style", "string", "text"),
    "intake_requirements": ("Intake: requirements", "string", "textarea"),
    "intake_budget": ("Intake: budget", "string", "text"),
    "intake_industry": ("Intake: industry", "string", "text"),
    "intake_timeline": ("Intake: timeline", "string", "text"),
    "qualification": ("Qualification outcome", "string", "text"),
    "drive_folder_id": ("Drive folder ID", "string", "text"),
    "service_package": ("Service package", "string", "text"),
    "asana_project_gid": ("Asana project", "string", "text"),
    "slack_channel_id": ("Slack channel", "string", "text"),
    "won_date": ("Contract signed (deal won)", "date", "date"),
    "esign_request_id": ("Contract signature request (Dropbox Sign)", "string", "text"),
    "contract_signed_via": ("Contract signed via", "string", "text"),
    "kickoff_date": ("Kick-off date", "date", "date"),
    "service_start_date": ("Service start date", "date", "date"),
    "project_weeks": ("Project length (weeks)", "number", "number"),
    "engagement_cadence": ("Check-in cadence", "string", "text"),
    "onboarding_status": ("Onboarding status", "string", "text"),
    "account_manager_email": ("Account manager", "string", "text"),
    "specialist_email": ("Onboarding specialist", "string", "text"),
    # engagement after kick-off (flows/engagement/)
    "next_action_key": ("Next engagement action", "string", "text"),
    "next_action_date": ("Next engagement action date", "date", "date"),
    "engagement_done_keys": ("Engagement actions done", "string", "textarea"),
    "engagement_plan_basis": ("Engagement plan basis", "string", "text"),
    "engagement_last_sweep": ("Engagement last sweep", "date", "date"),
    "onboarding_survey_form_id": ("Onboarding survey form", "string", "text"),
    "onboarding_survey_sent_date": ("Onboarding survey sent", "date", "date"),
    "onboarding_survey_status": ("Onboarding survey status", "string", "text"),
    "onboarding_csat": ("Onboarding CSAT (1-5)", "number", "number"),
    "survey_form_id": ("Halfway survey form", "string", "text"),
    "survey_sent_date": ("Halfway survey sent", "date", "date"),
    "survey_status": ("Halfway survey status", "string", "text"),
    "csat_scores": ("CSAT scores (1-5)", "string", "text"),
    "csat_latest": ("Latest CSAT (1-5)", "number", "number"),
    "feedback_areas_to_improve": ("Feedback: areas to improve", "string", "textarea"),
    "onboarding_completed_date": ("Onboarding completed", "date", "date"),
    "testimonial_form_id": ("Testimonial form", "string", "text"),
    "testimonial_sent_date": ("Testimonial requested", "date", "date"),
    "testimonial_status": ("Testimonial status", "string", "text"),
    "testimonial_text": ("Testimonial", "string", "textarea"),
    "churned_date": ("Churned on", "date", "date"),
    "churn_reason": ("Why the client left", "string", "textarea"),
    "adjustments_status": ("Halfway adjustments", "string", "text"),
    "retention_90d_status": ("90-day retention", "string", "text"),
    "retention_offers": ("Retention offers (what was offered, accepted, declined)", "string", "textarea"),
    "renewal_status": ("Renewal", "string", "text"),
    # client health, SOP-B 4.2 (flows/engagement/health.py)
    "health_status": ("Client health", "string", "text"),
    "health_reasons": ("Client health: why", "string", "textarea"),
    "health_checked_date": ("Client health checked", "date", "date"),
    "health_history": ("Client health history (date:status;...)", "string", "textarea"),
    "health_overdue": ("Client health: deliverables overdue", "number", "number"),
    "health_missed_check_ins": ("Client health: check-ins missed", "number", "number"),
}
DEAL_KEY = "onboarding_key"
DEAL_PROPERTIES: dict[str, tuple[str, str, str]] = {DEAL_KEY: ("Onboarding key", "string", "text")}
ENGAGEMENT_READ = ("name", "domain", "createdate", "hubspot_owner_id", "qualification", *COMPANY_PROPERTIES)
INACTIVE = ("churned", "declined", "cancelled")  # out of the engagement sweep


@side_effect()
def prepare_properties(crm: HubSpotCRM) -> None:
    """The SOP's custom company and deal properties exist (created once per account)."""
    crm.ensure_properties("companies", COMPANY_PROPERTIES)
    crm.ensure_properties("deals", DEAL_PROPERTIES)
    crm.ensure_properties("invoices", INVOICE_PROPERTIES)


def missing_properties(crm: HubSpotCRM) -> dict[str, list[str]]:
    """The SOP's custom properties the account lacks, by object type (a read: `onboard doctor`, `setup`)."""
    wanted = {"companies": COMPANY_PROPERTIES, "deals": DEAL_PROPERTIES, "invoices": INVOICE_PROPERTIES}
    return {kind: [n for n in specs if n not in have] for kind, specs in wanted.items()
            for have in (crm.property_names(kind),)}


@side_effect()
def prepare_pipeline(crm: HubSpotCRM, pipeline_label: str, stages: list[tuple[str, float, bool]]) -> Pipeline:
    """The onboarding deal pipeline exists (created once per account)."""
    return crm.ensure_pipeline(pipeline_label, stages)


# The client's industry as one of the options of HubSpot's default `industry` property (an enumeration:
# HubSpot refuses another value with INVALID_OPTION); "other" has no counterpart and is left unset.
HUBSPOT_INDUSTRY = {
    Industry.PROFESSIONAL_SERVICES: "MANAGEMENT_CONSULTING", Industry.RETAIL: "RETAIL",
    Industry.HOSPITALITY: "HOSPITALITY", Industry.HEALTHCARE: "HOSPITAL_HEALTH_CARE",
    Industry.EDUCATION: "EDUCATION_MANAGEMENT", Industry.MANUFACTURING: "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
    Industry.TECHNOLOGY: "INFORMATION_TECHNOLOGY_AND_SERVICES", Industry.NON_PROFIT: "NON_PROFIT_ORGANIZATION_MANAGEMENT",
    Industry.FINANCE: "FINANCIAL_SERVICES", Industry.GAMBLING: "GAMBLING_CASINOS",
}


@side_effect()
def upsert_company(crm: HubSpotCRM, client: NewClient) -> Record:
    """The client's company, found by its website domain (never duplicated)."""
    return crm.upsert_company(client.domain, {
        "name": client.company_name,
        "domain": client.domain,
        "website": str(client.website),
        "phone": client.phone,
        "industry": HUBSPOT_INDUSTRY.get(client.industry, ""),  # "" leaves it unset
        "source_of_lead": client.source_of_lead.value,
        "onboarding_budget": client.budget,
        "requested_services": ";".join(s.value for s in client.requested_services),
        "preferred_communication": client.preferred_communication.value,
        "timeline_weeks": client.timeline_weeks,
    })


@side_effect()
def upsert_contact(crm: HubSpotCRM, client: NewClient) -> Record:
    """The contact person, found by email (never duplicated)."""
    return crm.upsert_contact(str(client.email), {
        "email": str(client.email),
        "firstname": client.first_name,
        "lastname": client.last_name,
        "jobtitle": client.contact_title,
        "phone": client.phone,
        "company": client.company_name,
        "website": str(client.website),
        "lifecyclestage": "lead",
    })


@side_effect()
def associate(crm: HubSpotCRM, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
    crm.associate(from_type, from_id, to_type, to_id)


@side_effect(done_key=lambda p: p["client"].domain)
def upsert_deal(crm: HubSpotCRM, client: NewClient, pipeline_id: str, stage_id: str, contact_id: str,
                company_id: str) -> Record:
    """The onboarding deal, keyed by the client's domain and created already associated with the
    contact and company; a re-run finds it and leaves its stage alone."""
    return crm.find_or_create("deals", DEAL_KEY, client.domain, {
        "dealname": f"{client.company_name} — onboarding",
        "pipeline": pipeline_id,
        "dealstage": stage_id,
        "amount": client.budget,
    }, [(contact_id, DEAL_TO["contacts"]), (company_id, DEAL_TO["companies"])],
        fetch=["dealstage", "hubspot_owner_id", "amount"])


@side_effect()
def set_owner(crm: HubSpotCRM, owner_id: str, records: Mapping[str, str],
              company_properties: Mapping[str, object] | None = None) -> None:
    """Make the specialist the HubSpot owner of the client's records ({object_type: id}), all at once;
    the company's update also writes ``company_properties`` (one call, not two)."""

    def own(object_type: str) -> None:
        extra = dict(company_properties or {}) if object_type == "companies" else {}
        crm.update(object_type, records[object_type], {"hubspot_owner_id": owner_id, **extra})

    in_parallel([lambda t=t: own(t) for t in records])


@side_effect()
def update_company(crm: HubSpotCRM, company_id: str, properties: Mapping[str, object]) -> Record:
    """Write properties on the company record (intake answers, ids, plan dates, status)."""
    return crm.update("companies", company_id, dict(properties))


@side_effect()
def update_contact(crm: HubSpotCRM, contact_id: str, properties: Mapping[str, object]) -> Record:
    return crm.update("contacts", contact_id, dict(properties))


@side_effect(done_key=lambda p: f"{p['deal_id']}:{p['stage_id']}")
def move_deal(crm: HubSpotCRM, deal_id: str, pipeline_id: str, stage_id: str) -> Record:
    """Move the deal to a stage of the onboarding pipeline; once per run and stage, so a resumed or
    retried run going through its earlier steps again never moves the deal back."""
    return crm.update("deals", deal_id, {"pipeline": pipeline_id, "dealstage": stage_id})


@side_effect(done_key=lambda p: p["key"])
def add_note(crm: HubSpotCRM, body: str, at: datetime, owner_id: str | None, ids: Mapping[str, str],
             key: str) -> Record:
    """A note on the contact, company and deal timelines, created once per ``key``."""
    return crm.create_note(body, at, owner_id=owner_id, contact_id=ids.get("contacts"),
                           company_id=ids.get("companies"), deal_id=ids.get("deals"), note_key=key)


@side_effect(done_key=lambda p: f"{p['deal_id']}:{p['name']}")
def add_billing_line_item(crm: HubSpotCRM, deal_id: str, name: str, quantity: int, price: float) -> Record:
    """The billing account as deal line items (the configured billing system)."""
    return crm.add_line_item(deal_id, name, quantity, price)


@side_effect(done_key=lambda p: f"{p['deal_id']}:discount:{p['percent']}")
def discount_billing(crm: HubSpotCRM, deal_id: str, percent: int) -> int:
    """A retention discount on the billing record: the deal's line items at ``percent`` off (SOP-A 5.4)."""
    return crm.discount_line_items(deal_id, percent)


@side_effect(done_key=lambda p: p["key"])
def create_invoice_draft(crm: HubSpotCRM, key: str, currency: str, contact_id: str, company_id: str, deal_id: str,
                         lines: list[dict[str, object]], invoice_date: date, due_date: date, billed_through: str) -> Record:
    """An invoice of the billing schedule, in draft for Finance to approve, with its own copies of the deal's
    line items and the share of the contract billed through it; keyed, so a re-run finds it instead of
    making a second."""
    return crm.create_invoice_draft(key, currency, contact_id, lines,
                                    {"hs_invoice_date": invoice_date.isoformat(), "hs_due_date": due_date.isoformat(),
                                     INVOICE_BILLED_PROPERTY: billed_through},
                                    company_id=company_id, deal_id=deal_id)


@side_effect(done_key=lambda p: p["invoice_id"])
def issue_invoice(crm: HubSpotCRM, invoice_id: str) -> Record:
    """Finance approved: the draft invoice is issued (``open``); one already issued is left as it is."""
    return crm.issue_invoice(invoice_id)


@side_effect("A2.2")
def ensure_engagement_properties(crm: HubSpotCRM, names: list[str]) -> None:
    """The company properties the engagement keeps (accounts onboarded before they existed get them now)."""
    crm.ensure_properties("companies", {name: COMPANY_PROPERTIES[name] for name in names})


# --- reads: plain functions, not task runs (they change nothing: nothing to remember or retry as a step)


def owner_ids(crm: HubSpotCRM, emails: list[str]) -> dict[str, str]:
    """HubSpot owner id of each team member who is a HubSpot user ({email: owner id}): one listing of
    the account's owners (a page holds a small business's 100), not a lookup per email."""
    by_email = {o.email.lower(): o.id for o in crm.owners()}
    return {email: by_email[email.lower()] for email in emails if email.lower() in by_email}


def open_onboardings_by_owner(crm: HubSpotCRM, pipeline: Pipeline) -> dict[str, int]:
    """Open deals in the onboarding pipeline per owner id (how loaded each specialist is)."""
    open_stages = [s.id for s in pipeline.stages if not s.is_closed]
    deals = crm.search("deals", [("pipeline", "EQ", pipeline.id), ("dealstage", "IN", open_stages)],
                       ["hubspot_owner_id"])
    return dict(Counter(d.properties.get("hubspot_owner_id") or "" for d in deals))


def find_client_ids(crm: HubSpotCRM, prefix: str) -> list[str]:
    """Client ids already given out that start with ``prefix`` (to pick the next unique one)."""
    return [r.properties.get("client_id") or "" for r in
            crm.search("companies", [("client_id", "HAS_PROPERTY")], ["client_id"])
            if (r.properties.get("client_id") or "").startswith(prefix + "-")]


def company_with(crm: HubSpotCRM, prop: str, value: str) -> str | None:
    """The id of a company whose ``prop`` is ``value`` (e.g. the client holding a Slack channel), or None."""
    found = next(iter(crm.search("companies", [(prop, "EQ", value)], ["name"])), None)
    return found.id if found else None


def read_company(crm: HubSpotCRM, company_id: str) -> dict[str, str | None]:
    """The company's SOP properties (what earlier runs already recorded)."""
    return dict(crm.get("companies", company_id, list(COMPANY_PROPERTIES)).properties)


def deal_line_items(crm: HubSpotCRM, deal_id: str) -> list[Record]:
    """The deal's line items as they are now (a retention discount included)."""
    return crm.line_items("deals", deal_id)


def find_invoice(crm: HubSpotCRM, key: str) -> Record | None:
    """The invoice keyed ``key`` (with its status and amount), or None."""
    return crm.find_invoice(key)


def find_deal(crm: HubSpotCRM, domain: str) -> Record | None:
    """The client's onboarding deal (keyed by its domain), or None."""
    return crm.find_one("deals", DEAL_KEY, domain, ["dealstage", "pipeline", "hubspot_owner_id"])


def find_company(crm: HubSpotCRM, domain: str) -> Record | None:
    """The client's company by website domain, with every engagement property."""
    return next(iter(crm.search("companies", [("domain", "EQ", domain)], list(ENGAGEMENT_READ),
                                sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}])), None)


def companies_due(crm: HubSpotCRM, as_of: date) -> list[Record]:
    """Active clients whose next engagement action is due on or before ``as_of`` (a HubSpot search on
    ``next_action_date``, not a scan of every company)."""
    return list(crm.search("companies", [("next_action_date", "LTE", as_of.isoformat()),
                                         ("onboarding_status", "NOT_IN", list(INACTIVE))],
                           list(ENGAGEMENT_READ), sorts=[{"propertyName": "next_action_date", "direction": "ASCENDING"}]))


def companies_with(crm: HubSpotCRM, prop: str) -> list[Record]:
    """Every company that has ``prop`` set (e.g. ``kickoff_date``: every client past kick-off)."""
    return list(crm.search("companies", [(prop, "HAS_PROPERTY")], list(ENGAGEMENT_READ)))


def primary_contact(crm: HubSpotCRM, company_id: str) -> Record | None:
    """The oldest contact associated with the company (the client's contact person)."""
    ids = sorted(crm.associated_ids("companies", company_id, "contacts"), key=lambda i: int(i) if i.isdigit() else 0)
    for contact_id in ids:
        try:
            return crm.get("contacts", contact_id, ["email", "firstname", "lastname"])
        except NotFound:  # deleted in HubSpot since: the next one
            continue
    return None
