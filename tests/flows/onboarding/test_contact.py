"""Phase 1 — initial contact and qualification (SOP-A 1, 2; SOP-B 1.1-1.3) against the sandbox."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.people import INTAKE_ANSWERS
from flows.onboarding.initial_contact import initial_contact
from services.settings import Settings
from sop.profile import Role
from tasks import hubspot
from tests.flows.conftest import NOTES, lead_for, new_client

TZ = ZoneInfo("Africa/Johannesburg")


@pytest.fixture(scope="module")
def intake_spec():
    return {"questions": Settings().surveys.intake.question_specs()}


def test_phase_1_qualified_client(svc, staff, client_actor, view, intake_spec):
    client = new_client(source_of_lead="event")
    staff({"discovery-call-notes": NOTES})
    client_actor(client)

    outcome, lead = initial_contact(client)

    assert outcome is None
    v = view(client)
    # B1.1: company, contact and deal, associated; the deal in the onboarding pipeline
    company, (contact,), deal = v.company(), v.contacts(), v.deal()
    assert (company["id"], contact["id"], deal["id"]) == (lead.company_id, lead.contact_id, lead.deal_id)
    assert company["properties"]["source_of_lead"] == "event"
    assert company["properties"]["name"] == client.company_name
    assert contact["properties"]["firstname"] == "Zanele" and contact["properties"]["lastname"] == "Mthembu"
    assert v.associated("contacts", contact["id"], "companies") == {company["id"]}
    assert v.associated("deals", deal["id"], "contacts") == {contact["id"]}
    assert v.associated("deals", deal["id"], "companies") == {company["id"]}
    assert deal["properties"]["pipeline"] == v.pipeline()["id"]
    # B1.3: qualified -> the deal moved to 'Qualified'
    assert v.stage_label(deal) == "Qualified"
    assert company["properties"]["qualification"].startswith("qualified")

    # A1.3: the specialist owns the records and is named on the company
    specialist = lead.specialist_email
    assert specialist in {str(p.email) for p in svc.profile.people(Role.ONBOARDING_SPECIALIST)}
    assert company["properties"]["specialist_email"] == specialist
    for record in (company, contact, deal):
        assert v.owner_email(record["properties"]["hubspot_owner_id"]) == specialist

    # A1.1: the personalised welcome email
    mails = v.emails(to=str(client.email))
    welcome = [m for m in mails if m.message_id == f"<welcome@{client.domain}>"]
    assert len(welcome) == 1 and client.first_name in welcome[0].subject
    assert client.company_name.split()[0] in welcome[0].text

    # A1.2: Zoom meeting and Calendar event on the specialist's calendar, in working hours, with the link
    (meeting,) = v.meetings()
    assert meeting["host_email"] == specialist and meeting["topic"].startswith("Discovery call")
    (event,) = v.events()
    assert event["_calendar"] == specialist
    assert {a["email"] for a in event["attendees"]} == {str(client.email), specialist}
    assert event["location"] == meeting["join_url"] and meeting["join_url"] in event["description"]
    start = datetime.fromisoformat(event["start"]["dateTime"]).astimezone(TZ)
    end = datetime.fromisoformat(event["end"]["dateTime"]).astimezone(TZ)
    assert start.weekday() < 5 and start.hour >= 9 and (end.hour, end.minute) <= (17, 0)
    assert (end - start).total_seconds() == svc.rules.meetings.discovery_minutes * 60
    assert datetime.fromisoformat(meeting["start_time"]) == start
    invite = [m for m in mails if m.message_id == f"<discovery-invite@{client.domain}>"]
    assert len(invite) == 1 and meeting["join_url"] in invite[0].html

    # A2.1 / B1.2: the intake form of config/surveys.yaml; answers on the company
    (form,) = v.forms()
    assert [i["title"] for i in form["items"]] == [q["title"] for q in intake_spec["questions"]]
    assert company["properties"]["intake_form_id"] == form["formId"]
    assert len(v.form_responses()) == 1
    request = [m for m in mails if m.message_id == f"<intake-request-0@{client.domain}>"]
    assert len(request) == 1 and form["responderUri"] in request[0].html
    for q in intake_spec["questions"]:
        assert company["properties"][q["key"]] == INTAKE_ANSWERS[q["title"]], q["key"]

    # A2.3: the discovery notes -> a note on contact, company and deal + a Doc in 'Meeting notes'
    note = v.note("discovery-notes")
    assert NOTES["expectations"] in note["properties"]["hs_note_body"]
    assert NOTES["deadlines"] in note["properties"]["hs_note_body"]
    assert v.associated("notes", note["id"], "contacts") == {contact["id"]}
    assert v.associated("notes", note["id"], "companies") == {company["id"]}
    assert v.associated("notes", note["id"], "deals") == {deal["id"]}
    doc = v.file("discovery-notes")
    assert doc["mimeType"] == "application/vnd.google-apps.document"
    assert doc["parents"] == [v.file("Meeting notes")["id"]]
    assert v.file("root")["id"] == company["properties"]["drive_folder_id"] == lead.folder_ids["root"]


def _open_deals(vendors, pipeline_id, stage_id, owner_id, n):
    for i in range(n):
        vendors.hubspot.create("deals", {"dealname": f"load {i}", "pipeline": pipeline_id, "dealstage": stage_id,
                                         "hubspot_owner_id": owner_id})


def test_specialist_is_the_least_loaded_and_kept_on_a_rerun(svc, vendors):
    """SOP-A 1.3: the specialist with the fewest open onboardings; a re-run keeps whoever was chosen."""
    hub = svc.clients.hubspot
    stages = svc.rules.pipeline.stages
    pipeline = hubspot.prepare_pipeline(hub, svc.rules.pipeline.label, [(s.label, s.probability, s.closed) for s in stages])
    lead_stage = next(s.id for s in pipeline.stages if s.label == "Lead captured")
    specialists = [str(p.email) for p in svc.profile.people(Role.ONBOARDING_SPECIALIST)]
    assert len(specialists) == 2
    owners = hubspot.owner_ids(hub, specialists)
    first, second = specialists

    # make the first-listed specialist clearly busier than the second
    load = hubspot.open_onboardings_by_owner(hub, pipeline)
    gap = load.get(owners[first], 0) - load.get(owners[second], 0)
    _open_deals(vendors, pipeline.id, lead_stage, owners[first], max(0, 2 - gap))
    load = hubspot.open_onboardings_by_owner(hub, pipeline)
    assert load[owners[first]] > load.get(owners[second], 0)

    client = new_client()
    lead = lead_for(client, svc)
    assert lead.specialist_email == second
    assert lead.owner_id == owners[second]

    # now the chosen specialist is the busier one; a re-run still keeps them ...
    load = hubspot.open_onboardings_by_owner(hub, pipeline)
    gap = load[owners[second]] - load[owners[first]]
    _open_deals(vendors, pipeline.id, lead_stage, owners[second], max(0, 2 - gap))
    again = lead_for(client, svc)
    assert again.specialist_email == second
    assert (again.company_id, again.contact_id, again.deal_id) == (lead.company_id, lead.contact_id, lead.deal_id)
    # ... while a new client goes to the now least-loaded one
    other = lead_for(new_client(), svc)
    assert other.specialist_email == first
