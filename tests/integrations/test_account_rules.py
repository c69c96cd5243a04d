"""Contract tests of what a real account refuses (CONTRACTS §6), one per rule: the sandbox answers with
the vendor's own error body, and the integration turns it into the error the flows act on.

The sandbox here is a fresh account whose apps were each installed without one scope."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from importlib import resources

import httpx
import pytest
from vendor_sandbox import SandboxConfig, SandboxServer
from vendor_sandbox.core.app import TeamMember
from vendor_sandbox.google import scopes as google_scopes

from integrations import google as g
from integrations.errors import MissingScope
from services.clients import sandbox_clients

TEAM = [TeamMember(name="Thandi", email="thandi@co.example"), TeamMember(name="Pieter", email="pieter@co.example")]
WITHHELD = {"hubspot": ["crm.objects.owners.read"], "slack": ["users:read.email"], "google": ["calendar.events"],
            "zoom": ["meeting:write:meeting:admin"]}
AUTH = {"Authorization": "Bearer t"}


@pytest.fixture(scope="module")
def fresh():
    config = SandboxConfig(rate_limits="off", account="fresh", team=TEAM, withheld_scopes=WITHHELD)
    with SandboxServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def clients(fresh):
    return sandbox_clients(fresh.root)


def test_hubspot_a_call_without_its_scope_is_403_missing_scopes(fresh, clients):
    r = httpx.get(f"{fresh.root}/hubspot/crm/v3/owners/", headers=AUTH)
    body = r.json()
    assert r.status_code == 403 and body["category"] == "MISSING_SCOPES" and body["status"] == "error"
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.owners.read"]
    assert {"message", "correlationId", "category"} <= body.keys()  # the spec's required fields
    with pytest.raises(MissingScope) as raised:
        clients.hubspot.owners()
    assert raised.value.needed == ("crm.objects.owners.read",)
    granted = clients.hubspot.scopes()  # the access-token-info endpoint
    assert "crm.objects.owners.read" not in granted and "crm.objects.contacts.write" in granted
    assert httpx.get(f"{fresh.root}/hubspot/crm/v3/properties/companies", headers=AUTH).status_code == 200


def test_slack_a_method_without_its_scope_is_missing_scope_with_needed_and_provided(fresh, clients):
    r = httpx.post(f"{fresh.root}/slack/api/users.lookupByEmail", data={"email": "pieter@co.example"}, headers=AUTH)
    body = r.json()
    assert r.status_code == 200 and body["ok"] is False and body["error"] == "missing_scope"
    assert body["needed"] == "users:read.email" and "users:read.email" not in body["provided"].split(",")
    assert r.headers["x-accepted-oauth-scopes"] == "users:read.email"
    with pytest.raises(MissingScope) as raised:
        clients.slack.user_id_by_email("pieter@co.example")
    assert raised.value.needed == ("users:read.email",)
    assert clients.slack.scopes() == set(body["provided"].split(","))  # the x-oauth-scopes header


def test_google_a_method_without_its_scope_is_403_insufficient_permissions(fresh, clients):
    now = datetime.now(UTC)
    r = httpx.get(f"{fresh.root}/google/calendar/v3/calendars/primary/events", headers=AUTH)
    err = r.json()["error"]
    assert r.status_code == 403 and err["status"] == "PERMISSION_DENIED"
    assert err["errors"][0]["reason"] == "insufficientPermissions"
    with pytest.raises(MissingScope):
        clients.calendar.list_events("primary", now, now + timedelta(days=1))
    granted = clients.calendar.granted_scopes()  # the tokeninfo endpoint
    assert g.SCOPES[0] in granted and "https://www.googleapis.com/auth/calendar.events" not in granted


def test_zoom_an_endpoint_without_its_scope_is_code_4711(fresh, clients):
    token = httpx.post(f"{fresh.root}/zoom/oauth/token", auth=("id", "secret"),
                       data={"grant_type": "account_credentials", "account_id": "acct"}).json()
    assert "meeting:write:meeting:admin" not in token["scope"].split()  # the token lists its scopes
    r = httpx.post(f"{fresh.root}/zoom/v2/users/pieter@co.example/meetings",
                   headers={"Authorization": f"Bearer {token['access_token']}"}, json={"topic": "t", "type": 2})
    assert r.status_code == 400 and r.json()["code"] == 4711
    assert r.json()["message"].startswith("Invalid access token, does not contain scopes:[meeting:write:meeting:admin")
    with pytest.raises(MissingScope) as raised:
        clients.zoom.create_meeting("pieter@co.example", "t", datetime(2031, 1, 1, 9, tzinfo=UTC), 30)
    assert "meeting:write:meeting:admin" in raised.value.needed
    assert "meeting:write:meeting:admin" not in clients.zoom.scopes()


def test_a_scope_the_administrator_adds_is_granted_from_then_on(fresh):
    r = httpx.post(f"{fresh.root}/_sandbox/admin/scopes", json={"vendor": "slack", "grant": ["users:read.email"]})
    assert "users:read.email" in r.json()["granted"]
    ok = httpx.post(f"{fresh.root}/slack/api/users.lookupByEmail", data={"email": "pieter@co.example"}, headers=AUTH)
    assert ok.json()["ok"] is True
    httpx.post(f"{fresh.root}/_sandbox/admin/scopes", json={"vendor": "slack", "withhold": ["users:read.email"]})


def test_a_colleagues_calendar_not_shared_with_the_delegated_user_is_404(fresh):
    httpx.post(f"{fresh.root}/_sandbox/admin/scopes", json={"vendor": "google", "grant": ["calendar.events"]})
    try:
        url = f"{fresh.root}/google/calendar/v3/calendars/pieter@co.example/events"
        r = httpx.get(url, headers=AUTH)
        assert r.status_code == 404 and r.json()["error"]["errors"][0]["reason"] == "notFound"
        own = httpx.get(f"{fresh.root}/google/calendar/v3/calendars/thandi@co.example/events", headers=AUTH)
        assert own.status_code == 200  # the delegated user's own calendar
        shared = httpx.post(f"{fresh.root}/_sandbox/google/admin/calendars/pieter@co.example/share")
        assert shared.json() == {"calendar": "pieter@co.example", "sharedWith": "thandi@co.example"}
        assert httpx.get(url, headers=AUTH).status_code == 200
    finally:
        httpx.post(f"{fresh.root}/_sandbox/admin/scopes", json={"vendor": "google", "withhold": ["calendar.events"]})


def test_drive_will_not_share_silently_with_an_address_that_has_no_google_account(fresh, clients):
    drive = clients.drive
    folder = drive.find_or_create_folder(f"client-{uuid.uuid4().hex[:8]}")
    client = f"lerato@kgosi-{uuid.uuid4().hex[:6]}.example"
    r = httpx.post(f"{fresh.root}/google/drive/v3/files/{folder.id}/permissions?sendNotificationEmail=false",
                   headers=AUTH, json={"type": "user", "role": "reader", "emailAddress": client})
    err = r.json()["error"]
    assert r.status_code == 400 and err["errors"][0]["reason"] == "invalidSharingRequest"
    assert "no Google account associated with this email address" in err["message"]
    # a colleague (the company's Workspace) is shared with silently; the client gets Drive's invitation
    assert drive.share(folder.id, "pieter@co.example") and drive.share(folder.id, client)
    sent = httpx.get(f"{fresh.root}/_sandbox/state", params={"vendor": "google", "kind": "share_notification"}).json()
    to = [n["to"] for n in sent["google"].get("share_notification", [])]
    assert client in to and "pieter@co.example" not in to
    assert drive.share(folder.id, client) is False  # shared once: nothing more


def test_the_sandbox_google_scopes_are_the_discovery_documents(fresh):
    """Each emulated method accepts exactly the scopes Google's discovery document lists for it."""
    listed: dict[str, set[str]] = {}
    for api in ("drive.v3", "forms.v1", "gmail.v1", "calendar.v3"):
        path = resources.files("googleapiclient") / "discovery_cache" / "documents" / f"{api}.json"

        def walk(resource: dict) -> None:
            for m in resource.get("methods", {}).values():
                listed[m["id"]] = set(m.get("scopes", []))
            for sub in resource.get("resources", {}).values():
                walk(sub)

        walk(json.loads(path.read_text()))
    for method, accepted in google_scopes.METHOD_SCOPES.items():
        assert {google_scopes.url(s) for s in accepted} == listed[method], method
    assert set(google_scopes.ROUTES.values()) <= set(google_scopes.METHOD_SCOPES)
    assert {google_scopes.url(s) for s in google_scopes.OFFERED} == set(g.SCOPES)  # what the guide asks for


def test_gmail_sends_from_the_mailbox_with_reply_to_when_the_sender_is_not_a_send_as_alias(fresh, clients):
    root = fresh.root
    to = f"client-{uuid.uuid4().hex[:6]}@client.example"
    # raw: a From that is not the mailbox nor a verified alias is replaced by the mailbox
    mail = EmailMessage()
    mail["To"], mail["From"], mail["Subject"] = to, "pieter@co.example", "Hello"
    mail.set_content("hi")
    r = httpx.post(f"{root}/google/gmail/v1/users/me/messages/send", headers=AUTH,
                   json={"raw": base64.urlsafe_b64encode(mail.as_bytes()).decode()})
    meta = httpx.get(f"{root}/google/gmail/v1/users/me/messages/{r.json()['id']}?format=metadata", headers=AUTH).json()
    assert {h["name"]: h["value"] for h in meta["payload"]["headers"]}["From"] == "thandi@co.example"
    aliases = httpx.get(f"{root}/google/gmail/v1/users/me/settings/sendAs", headers=AUTH).json()["sendAs"]
    assert [a["sendAsEmail"] for a in aliases] == ["thandi@co.example"]  # a fresh mailbox: itself only

    sent = clients.gmail.send(to, "Welcome", "<p>Welcome</p>", sender="pieter@co.example", message_id=f"w@{to}")
    headers = clients.gmail.get_message(sent.id)["headers"]
    assert headers["From"] == "thandi@co.example" and headers["Reply-To"] == "pieter@co.example"


def test_a_resent_email_is_found_by_its_reference_when_gmail_replaced_its_message_id():
    config = SandboxConfig(rate_limits="off", team=TEAM, gmail_message_ids="replaced")
    with SandboxServer(config) as server:
        gmail = sandbox_clients(server.root).gmail
        to = "lerato@kgosi.example"
        first = gmail.send(to, "Your proposal", "<p>Attached</p>", message_id="proposal-v1@kgosi.example")
        headers = gmail.get_message(first.id)["headers"]
        assert headers["Message-ID"] != "<proposal-v1@kgosi.example>"  # Gmail chose its own
        again = gmail.send(to, "Your proposal", "<p>Attached</p>", message_id="proposal-v1@kgosi.example")
        assert again.skipped and again.id == first.id
        assert len(gmail.list_sent(f"to:{to}")) == 1
        other = gmail.send(to, "Your proposal", "<p>Attached</p>", message_id="proposal-v2@kgosi.example")
        assert not other.skipped  # another key is another email


def test_hubspot_free_allows_one_deal_pipeline_and_the_doctor_says_how_to_map_onto_it():
    from flows.preflight import hubspot_checks
    from services import Services
    from services.settings import Settings

    config = SandboxConfig(rate_limits="off", account="fresh", team=TEAM, hubspot_tier="free")
    with SandboxServer(config) as server:
        limits = httpx.get(f"{server.root}/hubspot/crm/v3/limits/pipelines", headers=AUTH).json()
        deals = limits["hubspotDefinedObjectTypes"][0]
        assert (deals["objectTypeId"], deals["usage"], deals["limit"]) == ("0-3", 1, 1)
        r = httpx.post(f"{server.root}/hubspot/crm/v3/pipelines/deals", headers=AUTH, json={
            "label": "Client Onboarding", "displayOrder": 1,
            "stages": [{"label": "Lead", "displayOrder": 0, "metadata": {"probability": "0.1"}}]})
        assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"
        svc = Services(Settings(sandbox_url=server.root), sandbox_clients(server.root), clock=None)
        assert svc.clients.hubspot.deal_pipeline_room() == (1, 1)
        (line,) = [c for c in hubspot_checks(svc) if c.what.startswith("deal pipeline")]
        assert not line.ok and not line.run_creates  # a run could not make it: the run stops at its start
        assert "config/onboarding.yaml" in line.fix and "Starter" in line.fix


def test_a_domain_that_blocks_sharing_outside_it_is_a_403_the_run_explains():
    from integrations.errors import IntegrationError

    config = SandboxConfig(rate_limits="off", team=TEAM, drive_shares_outside=False)
    with SandboxServer(config) as server:
        drive = sandbox_clients(server.root).drive
        folder = drive.find_or_create_folder("Client folder")
        r = httpx.post(f"{server.root}/google/drive/v3/files/{folder.id}/permissions", headers=AUTH,
                       json={"type": "user", "role": "reader", "emailAddress": "lerato@kgosi.example"})
        assert r.status_code == 403 and r.json()["error"]["errors"][0]["reason"] == "shareOutNotPermitted"
        assert drive.share(folder.id, "pieter@co.example")  # inside the domain: allowed
        with pytest.raises(IntegrationError, match="Sharing outside of the domain.*Retry the run"):
            drive.share(folder.id, "lerato@kgosi.example")


def test_hubspot_makes_a_company_for_a_new_contacts_domain_unless_one_has_it(fresh, clients):
    crm = clients.hubspot
    tag = uuid.uuid4().hex[:6]
    alone = crm.upsert_contact(f"sipho@alone-{tag}.example", {"firstname": "Sipho"})
    (auto,) = crm.associated_ids("contacts", alone.id, "companies")
    assert crm.get("companies", auto).properties["domain"] == f"alone-{tag}.example"  # made by HubSpot

    ours = crm.upsert_company(f"ours-{tag}.example", {"name": "Ours"})  # the run's order: the company first
    contact = crm.upsert_contact(f"naledi@ours-{tag}.example", {"firstname": "Naledi"})
    assert crm.associated_ids("contacts", contact.id, "companies") == [ours.id]  # no second company
    free = crm.upsert_contact(f"someone.{tag}@gmail.com", {"firstname": "Free"})
    assert crm.associated_ids("contacts", free.id, "companies") == []  # no company for a free mail domain
