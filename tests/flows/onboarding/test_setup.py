"""Phase 3 — service setup and welcome (SOP-A 3; SOP-B 3) against the sandbox."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from types import SimpleNamespace

import httpx
import pytest
import yaml

from flows.onboarding.service_setup import claim_channel, create_accounts, service_setup
from services import use_services
from services.settings import REPO
from sop.client_ids import client_id_prefix
from sop.plan import expand_plan
from sop.profile import Role
from tests.flows.conftest import KICKOFF, View, agreement_for, lead_for, new_client, running_staff

TAG = uuid.uuid4().hex[:6]
# unicode, punctuation and well over 80 characters; its client-id prefix is ZUBG
LONG_NAME = (f"Zürich Ünternehmens-Beratung & Co. «Grün» {TAG} — Société Générale d'Études, "
             "Réalisations et Développements Internationaux (Pty) Ltd!!!")
SLACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@pytest.fixture(scope="module")
def phase3(make_services, flow_sandbox):
    svc = make_services()
    client = new_client(company_name=LONG_NAME)
    assert len(LONG_NAME) > 80 and client_id_prefix(LONG_NAME) == "ZUBG"
    lead = lead_for(client, svc, folders=True)
    agreement = agreement_for(client, "launch", 60_000)
    with running_staff({"kick-off-outcome": KICKOFF}) as team:
        with use_services(svc):
            setup = service_setup(client, lead, agreement)
    assert [k.rsplit("-", 1)[0] for k, _ in team.answered] == ["kick-off-outcome"]
    return SimpleNamespace(svc=svc, client=client, lead=lead, agreement=agreement, setup=setup,
                           v=View(flow_sandbox.state(), client))


def test_client_id_crm_profile_and_billing(phase3):
    v, setup = phase3.v, phase3.setup
    assert re.fullmatch(r"ZUBG-\d{4}", setup.client_id)
    company, (contact,) = v.company(), v.contacts()
    assert company["properties"]["client_id"] == setup.client_id
    assert company["properties"]["lifecyclestage"] == "customer"
    assert contact["properties"]["lifecyclestage"] == "customer"
    assert company["properties"]["service_package"] == "launch"
    (item,) = v.line_items()
    assert item["properties"]["name"] == "Launch Package"
    assert float(item["properties"]["price"]) == 60_000 and float(item["properties"]["quantity"]) == 1


def test_client_ids_are_unique_for_the_same_prefix(phase3, make_services, view):
    """A second client whose name gives the same prefix gets the next number; a re-run keeps it."""
    svc = make_services()
    other = new_client(company_name=f"Zeta Umbrella Bureau Group {uuid.uuid4().hex[:6]}")
    assert client_id_prefix(other.company_name) == "ZUBG"
    lead = lead_for(other, svc)
    first_id = create_accounts(other, svc, lead, agreement_for(other))
    assert re.fullmatch(r"ZUBG-\d{4}", first_id) and first_id != phase3.setup.client_id
    assert int(first_id[-4:]) == int(phase3.setup.client_id[-4:]) + 1
    assert create_accounts(other, svc, lead, agreement_for(other)) == first_id
    assert view(other).company()["properties"]["client_id"] == first_id
    assert len(view(other).line_items()) == 1  # the re-run updated the line item, did not add one


def test_asana_project_plan_assigned_by_role(phase3):
    svc, v, setup, lead = phase3.svc, phase3.v, phase3.setup, phase3.lead
    (project,) = v.projects()
    assert project["gid"] == setup.asana_project_gid
    assert setup.client_id in project["name"] and project["start_on"] == setup.service_start.isoformat()
    template = yaml.safe_load((REPO / "templates" / "project_plan.yaml").read_text())
    planned = expand_plan(template, svc.rules.package("launch"), setup.service_start)
    tasks = {t["name"]: t for t in v.tasks(project["gid"])}
    assert sorted(tasks) == sorted(p.name for p in planned)
    assert {d for d in svc.rules.package("launch").deliverables} <= set(tasks)
    sections = {s["gid"]: s["name"] for s in v.asana["section"] if s["project"] == project["gid"]}
    for p in planned:
        task = tasks[p.name]
        expected = lead.specialist_email if p.role is Role.ONBOARDING_SPECIALIST else str(svc.person(p.role).email)
        assert v.asana_email(task["assignee"]) == expected, p.name
        assert task["due_on"] == p.due_on.isoformat(), p.name
        assert sections[task["memberships"][0]["section"]] == p.section, p.name


def test_slack_channel_for_a_difficult_name(phase3):
    svc, v, setup, client, lead = phase3.svc, phase3.v, phase3.setup, phase3.client, phase3.lead
    (channel,) = v.channels()
    assert channel["id"] == setup.slack_channel_id
    name = channel["name"]
    assert SLACK_NAME.match(name) and len(name) <= 80 and "--" not in name
    assert name.startswith("zurich-unternehmens-beratung") and TAG in name
    assert [c["id"] for c in v.slack["channel"] if c["name"] == name] == [channel["id"]]
    # the team is in it, the topic and purpose are set
    team = [str(svc.person(r).email) for r in (Role.ACCOUNT_MANAGER, Role.CLIENT_RELATIONS_MANAGER, Role.OPERATIONS)]
    members = {v.slack_user_email(u) for u in channel["_members"]}
    assert set(team + [lead.specialist_email]) <= members
    assert setup.client_id in channel["topic"]["value"] and client.company_name in channel["topic"]["value"]
    assert channel["purpose"]["value"]
    # the welcome post links the CRM record, the Asana project and the Drive folder
    posts = [m for m in v.messages(channel["id"]) if m.get("bot_id") and not m.get("subtype")]
    (post,) = [m for m in posts if "Welcome" in m["text"]]
    (project,) = v.projects()
    # the account's own portal id and UI domain, read from HubSpot's account-info API (an EU account here)
    root = str(svc.settings.sandbox_url).rstrip("/")
    portal = httpx.get(f"{root}/hubspot/account-info/v3/details", headers={"Authorization": "Bearer t"}).json()
    assert f"https://{portal['uiDomain']}/contacts/{portal['portalId']}/record/0-2/{lead.company_id}" in post["text"]
    assert (project.get("permalink_url") or project["gid"]) in post["text"]
    assert f"https://drive.google.com/drive/folders/{lead.folder_ids['root']}" in post["text"]
    # no recurring invite of its own: the check-ins are one series the engagement books, each ahead
    assert [e["summary"] for e in v.events() if e.get("recurrence")] == []


def test_team_intro_welcome_pack_and_portal(phase3, vendors):
    svc, v, setup, client, lead = phase3.svc, phase3.v, phase3.setup, phase3.client, phase3.lead
    mails = {m.message_id: m for m in v.emails(to=str(client.email))}
    manager = svc.person(Role.ACCOUNT_MANAGER)
    intro = mails[f"<team-intro@{client.domain}>"]
    assert intro.sender == str(manager.email)
    assert {str(manager.email), lead.specialist_email} <= set(intro.cc.replace(",", " ").split())
    assert manager.name in intro.html
    letter = v.file("welcome-letter")
    assert letter["id"] == setup.welcome_letter_id and letter["parents"] == [lead.folder_ids["root"]]
    letter_text = vendors.drive.export_text(letter["id"])
    assert setup.client_id in letter_text and setup.service_start.isoformat() in letter_text
    pack = mails[f"<welcome-pack@{client.domain}>"]
    assert letter["webViewLink"] in pack.html and setup.client_id in pack.html
    assert f"drive/folders/{lead.folder_ids['root']}" in pack.html
    # portal access: the client's folder is shared with the client
    shared = {p.get("emailAddress"): p["role"] for p in v.permissions(lead.folder_ids["root"])}
    assert shared.get(str(client.email)) == "writer"


def test_kickoff_meeting_agenda_outcome_and_hand_off(phase3, vendors):
    svc, v, setup, client, lead = phase3.svc, phase3.v, phase3.setup, phase3.client, phase3.lead
    manager = str(svc.person(Role.ACCOUNT_MANAGER).email)
    (meeting,) = [m for m in v.meetings() if m["topic"].startswith("Kick-off")]
    assert meeting["id"] == setup.kickoff_meeting_id and meeting["host_email"] == manager
    (event,) = [e for e in v.events() if e["summary"].startswith("Kick-off")]
    assert event["_calendar"] == manager and event["location"] == meeting["join_url"]
    start = datetime.fromisoformat(event["start"]["dateTime"])
    assert start == datetime.fromisoformat(meeting["start_time"]) == setup.kickoff_at
    assert {str(client.email), manager, lead.specialist_email} <= {a["email"] for a in event["attendees"]}
    agenda = v.file("kickoff-agenda")
    assert agenda["parents"] == [lead.folder_ids["Meeting notes"]]
    assert agenda["webViewLink"] in event["description"]
    assert meeting["join_url"] in vendors.drive.export_text(agenda["id"])
    invite = next(m for m in v.emails(to=str(client.email)) if m.message_id == f"<kickoff-invite@{client.domain}>")
    assert meeting["join_url"] in invite.html and agenda["webViewLink"] in invite.html
    # the kick-off outcome: a note on the records and a Doc
    note = v.note("kickoff-outcome")
    assert KICKOFF["objectives"] in note["properties"]["hs_note_body"]
    assert v.associated("notes", note["id"], "companies") == {lead.company_id}
    assert KICKOFF["next_steps"] in vendors.drive.export_text(v.file("kickoff-outcome")["id"])
    # hand-off to engagement
    props = v.company()["properties"]
    assert props["kickoff_date"] == setup.kickoff_at.astimezone(svc.profile.tz).date().isoformat()
    assert props["service_start_date"] == setup.service_start.isoformat()
    assert int(float(props["project_weeks"])) == svc.rules.package("launch").weeks
    assert props["account_manager_email"] == manager
    assert setup.service_start > setup.kickoff_at.astimezone(svc.profile.tz).date()


def test_two_clients_with_the_same_name_get_different_channels(svc):
    name = f"Same Name Trading {uuid.uuid4().hex[:6]}"
    first_client = new_client(company_name=name, website=f"https://{uuid.uuid4().hex[:8]}.example")
    company = svc.clients.hubspot.create("companies", {"name": name, "domain": first_client.domain})
    first = claim_channel(svc, first_client, "SNT-0001", company.id)
    # the first client's run crashed before recording its channel: its re-run adopts that channel
    assert claim_channel(svc, first_client, "SNT-0001", company.id).id == first.id
    # once the channel is recorded on the first client, a second client of the same name gets its own
    svc.clients.hubspot.update("companies", company.id, {"slack_channel_id": first.id})
    other = svc.clients.hubspot.create("companies", {"name": name, "domain": f"{uuid.uuid4().hex[:8]}.example"})
    second = claim_channel(svc, new_client(company_name=name), "SNT-0002", other.id)
    assert first.id != second.id and second.name.endswith("-snt-0002")
