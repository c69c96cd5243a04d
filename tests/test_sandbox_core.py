"""The sandbox's shared machinery: inspection, reset, runtime config, the printed URLs."""

import html
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from integrations.clients import sandbox_clients
from integrations.sandbox.app import SandboxConfig
from integrations.sandbox.faults import FaultConfig, FaultInjector
from integrations.sandbox.limits import RateLimiter, Rule
from integrations.sandbox.server import VENDOR_LINES, SandboxServer

AUTH = {"Authorization": "Bearer sandbox-token"}


def test_state_reset_and_config(sandbox):
    assert set(sandbox.state()) == {"hubspot", "asana", "google", "slack", "zoom"}
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


def test_reset_forgets_everything_and_reseeds(private):
    c = sandbox_clients(private.urls)
    contact = c.hubspot.create("contacts", {"email": "reset@client.example"})
    channel = c.slack.ensure_channel(f"reset-{uuid.uuid4().hex[:6]}")
    before = private.state()
    assert before["hubspot"]["object:contacts"] and any(ch["id"] == channel.id for ch in before["slack"]["channel"])
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
    again = sandbox_clients(private.urls)
    assert again.hubspot.upsert_contact("reset@client.example", {"firstname": "R"}).created
    assert again.slack.ensure_channel(channel.name).name == channel.name
    assert again.asana.me().email == "admin@sandbox.example"


def test_state_file_survives_a_restart(tmp_path):
    db = tmp_path / "sandbox.db"
    with SandboxServer(SandboxConfig(state=db, rate_limits="off")) as first:
        made = sandbox_clients(first.urls).hubspot.create("contacts", {"email": "kept@client.example"})
    with SandboxServer(SandboxConfig(state=db, rate_limits="off")) as second:
        got = sandbox_clients(second.urls).hubspot.get("contacts", made.id, ["email"])
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


def test_latency_and_the_call_log(private):
    c = sandbox_clients(private.urls)
    httpx.post(private.root + "/_sandbox/stats/reset").raise_for_status()
    assert private.configure(latency=0.15)["latency"] == 0.15
    started = time.monotonic()
    contact = c.hubspot.create("contacts", {"email": "latency@client.example"})
    c.hubspot.get("contacts", contact.id)
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


def test_page_shows_what_each_vendor_holds(sandbox, clients):
    tag = uuid.uuid4().hex[:8]
    c = clients
    company = c.hubspot.upsert_company(f"{tag}.example.com", {"name": f"Acme {tag}"})
    c.hubspot.create("deals", {"dealname": f"Deal {tag}", "amount": 1200})
    contact = c.hubspot.upsert_contact(f"ada-{tag}@client.example", {"firstname": "Ada"})
    c.hubspot.create_note(f"Kick-off note {tag}", datetime.now(UTC), contact_id=contact.id, company_id=company.id)

    team = c.asana.team_gid("Client Services")
    project = c.asana.find_or_create_project(f"Onboarding {tag}", team)
    c.asana.find_or_create_task(project.gid, f"Collect documents {tag}")

    folder = c.drive.find_or_create_folder(f"Client {tag}", None, {"client": tag})
    long_text = " ".join(f"word{i}" for i in range(400))
    c.drive.upload_document(f"Welcome pack {tag}", folder.id,
                            f"<h1>Welcome</h1><p>{long_text}</p><p>Last line {tag}</p>", {"doc": tag})
    c.gmail.send(f"ada-{tag}@client.example", f"Welcome {tag}", f"<p>Hello Ada {tag}</p>",
                 f"Hello Ada,\nyour onboarding starts {tag}.")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    c.calendar.upsert_event("primary", f"kickoff{tag}", f"Kick-off {tag}", "Agenda", start,
                            start + timedelta(hours=1), "UTC", [f"ada-{tag}@client.example"], meet=False)
    channel = c.slack.ensure_channel(f"acme-{tag}")
    c.slack.post(channel.id, f"Welcome to the channel {tag}")
    c.zoom.create_meeting("me", f"Zoom kick-off {tag}", start, 30, agenda=f"Meet the team {tag}")

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
def test_no_client_logs_or_raises_its_credentials(private, caplog, monkeypatch):
    """Every integration, at DEBUG and through errors and retries, keeps its credentials to itself."""
    import logging

    from google.oauth2.credentials import Credentials

    from integrations import asana, google, hubspot, retry, slack, zoom
    from integrations.errors import IntegrationError

    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.0)
    secret = "s3cr3t-" + uuid.uuid4().hex
    urls = private.urls
    caplog.set_level(logging.DEBUG)
    hs = hubspot.connect(secret + "-hubspot", base_url=urls["hubspot"])
    asn = asana.connect(secret + "-asana", base_url=urls["asana"], sleep=lambda s: None)
    g = google.connect(Credentials(token=secret + "-google"), root_url=google.root_from_sandbox_urls(urls))
    sl = slack.connect(secret + "-slack", base_url=urls["slack"])
    zm = zoom.connect("acct", "client-id", secret + "-zoom", base_url=urls["zoom"], oauth_url=urls["zoom-oauth"])
    hs.create("contacts", {"email": "quiet@client.example"})
    asn.me()
    g.drive.find_or_create_folder("Quiet", None, {"quiet": "1"})
    sl.ensure_channel("quiet-channel")
    zm.create_meeting("me", "Quiet", datetime.now(UTC) + timedelta(days=1), 30)
    httpx.post(private.root + "/_sandbox/zoom/tokens/revoke").raise_for_status()  # forces a token refresh
    list(zm.list_meetings("me"))

    raised: list[str] = []
    calls = [lambda: hs.get("contacts", "99999999999"), lambda: asn.get_task("9999999999999999"),
             lambda: g.drive.get("no-such-file"), lambda: sl.channel_info("C000NOPE"),
             lambda: zm.get_meeting(1)]
    for fn in calls:
        with pytest.raises(IntegrationError) as err:
            fn()
        raised.append(repr(err.value) + str(err.value.__cause__ or ""))
    private.configure(faults={v: FaultConfig(server_error=1.0).model_dump()
                              for v in ("hubspot", "asana", "google", "slack", "zoom")})
    for fn in calls:
        with pytest.raises(IntegrationError) as err:
            fn()
        raised.append(repr(err.value) + str(err.value.__cause__ or ""))
    private.configure(faults={v: FaultConfig().model_dump() for v in ("hubspot", "asana", "google", "slack", "zoom")})

    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # the SDKs' debug logging was on
    assert "access token rejected" in caplog.text  # the Zoom refresh path ran
    assert secret not in caplog.text
    assert all(secret not in r for r in raised)
    issued = private.state()["zoom"]["token"]
    assert issued and all(t["token"][:12] not in caplog.text for t in issued)


def test_a_transaction_lands_whole_or_not_at_all(tmp_path):
    from integrations.sandbox.store import Store

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
