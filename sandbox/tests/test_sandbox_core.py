"""The sandbox's shared machinery: inspection, reset, runtime config, the printed URLs (official SDKs, httpx)."""

import base64
import html
import logging
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import asana
import httpx
import pytest
import requests
from asana.rest import ApiException as AsanaApiException
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaInMemoryUpload
from hubspot.crm.contacts import SimplePublicObjectInputForCreate
from hubspot.crm.contacts.exceptions import ApiException as HubSpotApiException
from slack_sdk.errors import SlackApiError
from vendor_sandbox import VENDOR_LINES, FaultConfig, SandboxConfig, SandboxServer
from vendor_sandbox.core.faults import FaultInjector
from vendor_sandbox.core.limits import RateLimiter, Rule

AUTH = {"Authorization": "Bearer sandbox-token"}
FOLDER = "application/vnd.google-apps.folder"
DOC = "application/vnd.google-apps.document"
NOTE_TO = {"contacts": 202, "companies": 190}  # HubSpot's note -> record association type ids


def _contact(client, email: str, **properties: str):
    """A new HubSpot contact, as the SDK returns it."""
    body = SimplePublicObjectInputForCreate(properties={"email": email, **properties})
    return client.hubspot.crm.contacts.basic_api.create(body)


def test_state_reset_and_config(sandbox):
    assert set(sandbox.state()) == {"hubspot", "asana", "google", "slack", "zoom", "keap", "dropbox_sign", "dropbox"}
    cfg = sandbox.configure(rate_limits="vendor", time_scale=0.5)
    assert cfg["rate_limits"] == "vendor" and cfg["time_scale"] == 0.5
    sandbox.configure(rate_limits="off", time_scale=1.0)
    page = httpx.get(sandbox.root + "/")
    assert page.status_code == 200 and "<h2>hubspot</h2>" in page.text


def test_every_vendor_line_has_a_url(sandbox):
    urls = sandbox.urls
    assert list(urls) == list(VENDOR_LINES)
    assert all(u.startswith(sandbox.root) for u in urls.values())


@pytest.fixture
def private():
    """A sandbox of its own (this test resets or restarts it), rate limits off."""
    with SandboxServer(SandboxConfig(rate_limits="off")) as server:
        yield server


def test_reset_forgets_everything_and_reseeds(private, sdks):
    c = sdks(private.root)
    contact = _contact(c, "reset@client.example")
    name = f"reset-{uuid.uuid4().hex[:6]}"
    channel = c.slack.conversations_create(name=name)["channel"]
    before = private.state()
    assert before["hubspot"]["object:contacts"] and any(ch["id"] == channel["id"] for ch in before["slack"]["channel"])
    owners = {o["email"] for o in before["hubspot"]["owner"]}

    private.reset()
    after = private.state()
    assert "object:contacts" not in after["hubspot"]
    assert {ch["name"] for ch in after["slack"]["channel"]} == {"general"}
    assert {o["email"] for o in after["hubspot"]["owner"]} == owners  # the seeded account is back
    assert after["asana"]["user"] and after["zoom"]["user"] and "token" not in after["zoom"]
    r = httpx.get(f"{private.urls['hubspot']}/crm/v3/objects/contacts/{contact.id}", headers=AUTH)
    assert r.status_code == 404
    # fresh clients work against the reseeded vendors
    again = sdks(private.root)
    upsert = {"inputs": [{"idProperty": "email", "id": "reset@client.example", "properties": {"firstname": "R"}}]}
    assert again.hubspot.crm.objects.batch_api.upsert("contacts", upsert).results[0].new
    assert again.slack.conversations_create(name=name)["channel"]["name"] == name
    assert asana.UsersApi(again.asana).get_user("me", {})["email"] == "admin@sandbox.example"


def test_state_file_survives_a_restart(tmp_path, sdks):
    db = tmp_path / "sandbox.db"
    with SandboxServer(SandboxConfig(state=db, rate_limits="off")) as first:
        made = _contact(sdks(first.root), "kept@client.example")
    with SandboxServer(SandboxConfig(state=db, rate_limits="off")) as second:
        got = sdks(second.root).hubspot.crm.contacts.basic_api.get_by_id(made.id, properties=["email"])
        assert got.properties["email"] == "kept@client.example"
        assert len(second.state()["hubspot"]["owner"]) == 1  # seeding again did not duplicate


# ---------- rate limits and faults
def test_time_scale_shrinks_the_window():
    now = [0.0]
    limiter = RateLimiter(time_scale=0.1, clock=lambda: now[0])
    rule = Rule(limit=2, window=10.0)
    assert limiter.check("k", rule).allowed and limiter.check("k", rule).allowed
    refused = limiter.check("k", rule)
    assert not refused.allowed and refused.window == 1.0 and refused.retry_after_header == "1"
    now[0] = 1.01  # one scaled window later
    assert limiter.check("k", rule).allowed
    off = RateLimiter(enabled=False)
    assert all(off.check("k", Rule(1, 10)).allowed for _ in range(5))


def test_faults_are_seeded_and_independent_per_vendor():
    cfg = FaultConfig(rate_limit=0.2, server_error=0.2, unavailable=0.2, slow=0.2, slow_seconds=3)

    def draws(seed, vendor, n=200):
        inj = FaultInjector(seed, {"hubspot": cfg, "slack": cfg})
        return [f.kind if f else None for f in (inj.draw(vendor) for _ in range(n))]

    first = draws(7, "hubspot")
    assert first == draws(7, "hubspot")  # repeatable
    assert first != draws(8, "hubspot") and first != draws(7, "slack")  # by seed, by vendor
    assert {"rate_limit", "server_error", "unavailable", "slow", None} == set(first)
    # one vendor's traffic does not shift another's stream
    inj = FaultInjector(7, {"hubspot": cfg, "slack": cfg})
    mixed = []
    for _ in range(200):
        inj.draw("slack")
        f = inj.draw("hubspot")
        mixed.append(f.kind if f else None)
    assert mixed == first
    assert FaultInjector(7, {}).draw("hubspot") is None  # unconfigured vendors are never faulted


def test_injected_faults_over_http(private):
    hub = private.urls["hubspot"] + "/crm/v3/owners/"
    zoom = private.urls["zoom"] + "/users/me"
    token = httpx.post(private.urls["zoom-oauth"], params={"grant_type": "account_credentials", "account_id": "a"},
                       auth=("c", "s")).json()["access_token"]

    def statuses(n=30):
        return [httpx.get(hub, headers=AUTH).status_code for _ in range(n)]

    private.configure(faults={"hubspot": FaultConfig(server_error=0.3, unavailable=0.3).model_dump()})
    run1 = statuses()
    private.configure(faults={"hubspot": FaultConfig(server_error=0.3, unavailable=0.3).model_dump()})
    assert statuses() == run1 and {200, 500, 503} <= set(run1)  # same seed, same sequence
    # other vendors untouched
    assert httpx.get(zoom, headers={"Authorization": f"Bearer {token}"}).status_code == 200

    private.configure(faults={"hubspot": FaultConfig(rate_limit=1.0).model_dump()})
    r = httpx.get(hub, headers=AUTH)
    assert r.status_code == 429 and r.json()["errorType"] == "RATE_LIMIT" and r.headers["Retry-After"] == "1"

    private.configure(faults={"hubspot": FaultConfig().model_dump(),
                              "zoom": FaultConfig(slow=1.0, slow_seconds=0.4).model_dump()})
    started = time.monotonic()
    r = httpx.get(zoom, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and time.monotonic() - started >= 0.4  # slow, then answered
    with pytest.raises(httpx.TimeoutException):  # a client with a shorter timeout sees a timeout
        httpx.get(zoom, headers={"Authorization": f"Bearer {token}"}, timeout=0.1)
    # the simulated-people and inspection endpoints are never faulted
    assert httpx.get(private.root + "/_sandbox/state").status_code == 200


def test_latency_and_the_call_log(private, sdks):
    contacts = sdks(private.root).hubspot.crm.contacts.basic_api
    httpx.post(private.root + "/_sandbox/stats/reset").raise_for_status()
    assert private.configure(latency=0.15)["latency"] == 0.15
    started = time.monotonic()
    contact = contacts.create(SimplePublicObjectInputForCreate(properties={"email": "latency@client.example"}))
    contacts.get_by_id(contact.id)
    assert time.monotonic() - started >= 0.3  # each of the two calls waited 0.15 s
    private.configure(latency=0.0)
    log = httpx.get(private.root + "/_sandbox/calls").json()
    assert [(e["vendor"], e["method"], e["route"], e["status"]) for e in log] == [
        ("hubspot", "POST", "/crm/v3/objects/{object_type}", 201),
        ("hubspot", "GET", "/crm/v3/objects/{object_type}/{object_id}", 200)]
    assert all(e["end"] - e["start"] >= 0.15 for e in log) and log[0]["end"] <= log[1]["start"]
    httpx.post(private.root + "/_sandbox/stats/reset").raise_for_status()
    assert httpx.get(private.root + "/_sandbox/calls").json() == []


# ---------- the inspection page
def _text(page: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_page_shows_what_each_vendor_holds(sandbox, sdks):
    tag = uuid.uuid4().hex[:8]
    c = sdks(sandbox.root)
    objects = c.hubspot.crm.objects.basic_api
    company = objects.create("companies", {"properties": {"domain": f"{tag}.example.com", "name": f"Acme {tag}"}})
    objects.create("deals", {"properties": {"dealname": f"Deal {tag}", "amount": "1200"}})
    contact = _contact(c, f"ada-{tag}@client.example", firstname="Ada")
    links = [{"to": {"id": record.id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t}]}
             for record, t in ((contact, NOTE_TO["contacts"]), (company, NOTE_TO["companies"]))]
    stamp = str(int(datetime.now(UTC).timestamp() * 1000))
    objects.create("notes", {"properties": {"hs_note_body": f"Kick-off note {tag}", "hs_timestamp": stamp},
                             "associations": links})

    workspace = next(iter(asana.WorkspacesApi(c.asana).get_workspaces({})))["gid"]
    teams = asana.TeamsApi(c.asana).get_teams_for_workspace(workspace, {"opt_fields": "name"})
    team = next(t["gid"] for t in teams if t["name"] == "Client Services")
    project = asana.ProjectsApi(c.asana).create_project(
        {"data": {"name": f"Onboarding {tag}", "team": team, "workspace": workspace}}, {})
    task = {"data": {"name": f"Collect documents {tag}", "projects": [project["gid"]]}}
    asana.TasksApi(c.asana).create_task(task, {})

    files = c.drive.files()
    folder = files.create(body={"name": f"Client {tag}", "mimeType": FOLDER,
                                "appProperties": {"client": tag}}).execute()
    long_text = " ".join(f"word{i}" for i in range(400))
    page_html = f"<h1>Welcome</h1><p>{long_text}</p><p>Last line {tag}</p>"
    files.create(body={"name": f"Welcome pack {tag}", "parents": [folder["id"]], "mimeType": DOC,
                       "appProperties": {"doc": tag}},
                 media_body=MediaInMemoryUpload(page_html.encode(), mimetype="text/html")).execute()
    mail = EmailMessage()
    mail["To"], mail["Subject"] = f"ada-{tag}@client.example", f"Welcome {tag}"
    mail.set_content(f"Hello Ada,\nyour onboarding starts {tag}.")
    mail.add_alternative(f"<p>Hello Ada {tag}</p>", subtype="html")
    raw = base64.urlsafe_b64encode(mail.as_bytes()).decode()
    c.gmail.users().messages().send(userId="me", body={"raw": raw}).execute()
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    c.calendar.events().insert(calendarId="primary", sendUpdates="all", body={
        "id": f"kickoff{tag}", "summary": f"Kick-off {tag}", "description": "Agenda",
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
        "attendees": [{"email": f"ada-{tag}@client.example"}]}).execute()
    channel = c.slack.conversations_create(name=f"acme-{tag}")["channel"]
    c.slack.chat_postMessage(channel=channel["id"], text=f"Welcome to the channel {tag}")
    meeting = c.zoom.meeting.create(user_id="me", topic=f"Zoom kick-off {tag}", type=2, start_time=start, duration=30,
                                    agenda=f"Meet the team {tag}")
    assert meeting.status_code == 201, meeting.text

    page = httpx.get(sandbox.root + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = _text(page.text)
    for shown in (
        f"Acme {tag}", f"Deal {tag}", f"ada-{tag}@client.example", f"Kick-off note {tag}",  # CRM records
        f"Collect documents {tag}", f"Onboarding {tag}",  # Asana tasks and projects
        f"Welcome pack {tag}", "word399", f"Last line {tag}",  # a Drive document with all its text
        f"Welcome {tag}", f"your onboarding starts {tag}.",  # an email with its body
        f"Kick-off {tag}",  # a calendar event
        f"#acme-{tag}", f"Welcome to the channel {tag}",  # Slack channel and message
        f"Zoom kick-off {tag}", f"Meet the team {tag}",  # a meeting
    ):
        assert shown in text, shown
    assert ">null<" not in page.text  # unset values are blank, not JSON
    assert "sandbox-token" not in page.text


# ---------- secrets
def test_no_credential_reaches_a_log_or_an_error(private, sdks, caplog):
    """The official SDKs at DEBUG, through errors and 5xx: the sandbox never echoes a credential, so none
    reaches a log line or an exception; the Zoom tokens it issued stay out of the logs too."""
    secret = "s3cr3t-" + uuid.uuid4().hex
    caplog.set_level(logging.DEBUG)
    c = sdks(private.root, secret)
    _contact(c, "quiet@client.example")
    asana.UsersApi(c.asana).get_user("me", {})
    c.drive.files().create(body={"name": "Quiet", "mimeType": FOLDER, "appProperties": {"quiet": "1"}}).execute()
    c.slack.conversations_create(name=f"quiet-{uuid.uuid4().hex[:6]}")
    start = datetime.now(UTC) + timedelta(days=1)
    assert c.zoom.meeting.create(user_id="me", topic="Quiet", type=2, start_time=start, duration=30).status_code == 201
    httpx.post(private.root + "/_sandbox/zoom/tokens/revoke").raise_for_status()
    assert c.zoom.meeting.list(user_id="me").status_code == 401  # the revoked token is refused ...
    c.zoom.refresh_token()
    assert c.zoom.meeting.list(user_id="me").status_code == 200  # ... and a fresh one is issued

    def zoom_get() -> None:
        c.zoom.meeting.get(id=1).raise_for_status()  # zoomus hands back the response; raise like the others

    calls = [(lambda: c.hubspot.crm.contacts.basic_api.get_by_id("99999999999"), HubSpotApiException),
             (lambda: asana.TasksApi(c.asana).get_task("9999999999999999", {}), AsanaApiException),
             (lambda: c.drive.files().get(fileId="no-such-file").execute(), HttpError),
             (lambda: c.slack.conversations_info(channel="C000NOPE"), SlackApiError),
             (zoom_get, requests.HTTPError)]
    raised: list[str] = []
    for faults in (FaultConfig(), FaultConfig(server_error=1.0)):  # the vendors' 4xx, then their 500s
        private.configure(faults={v: faults.model_dump() for v in ("hubspot", "asana", "google", "slack", "zoom")})
        for fn, error in calls:
            with pytest.raises(error) as err:
                fn()
            raised.append(repr(err.value) + str(err.value))
    private.configure(faults={v: FaultConfig().model_dump() for v in ("hubspot", "asana", "google", "slack", "zoom")})

    assert len(raised) == 10 and "500" in raised[-1]
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # the SDKs' debug logging was on
    assert secret not in caplog.text
    assert all(secret not in r for r in raised)
    issued = private.state()["zoom"]["token"]
    assert issued and all(t["token"][:12] not in caplog.text for t in issued)


def test_a_transaction_lands_whole_or_not_at_all(tmp_path):
    from vendor_sandbox.core.store import Store

    store = Store(tmp_path / "state.db")
    with store.transaction():
        store.put("hubspot", "object:deals", "1", {"id": "1"})
        with store.transaction():  # joins the outer one
            store.put("hubspot", "assoc", "1-2", {"from": "1"})
    with pytest.raises(RuntimeError), store.transaction():
        store.put("hubspot", "object:deals", "2", {"id": "2"})
        raise RuntimeError("the process dies between the record and its associations")
    assert [o["id"] for o in store.list("hubspot", "object:deals")] == ["1"]
    assert len(store.list("hubspot", "assoc")) == 1
