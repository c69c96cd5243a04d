"""HubSpot: the integration module (and so hubspot-api-client 12.0.0) against the sandbox.

HubSpot's own spec files are not shipped (proprietary, CONTRACTS.md header), so responses are checked
by deserialising them into the SDK's generated models with ``client_side_validation=True`` (which
enforces the spec's required fields and enums) and by asserting the documented shapes in CONTRACTS §1.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.objects import ApiClient as ObjectsApiClient
from hubspot.crm.objects import ApiException
from hubspot.crm.objects.rest import RESTResponse

from integrations import hubspot as hs
from integrations import retry
from integrations.errors import Conflict, InvalidInput, NotFound, RateLimited, Transient

TOKEN = "sandbox-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def uid() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def url(sandbox) -> str:
    return sandbox.urls["hubspot"]


@pytest.fixture(scope="module")
def crm(url) -> hs.HubSpotCRM:
    return hs.connect(TOKEN, base_url=url)


@pytest.fixture(scope="module")
def strict(url) -> HubSpot:
    """The raw SDK with client-side validation: a response missing a required field raises."""
    return HubSpot(access_token=TOKEN, host=url, client_side_validation=True)


# --- connect


def test_connect_points_both_sdk_bases_at_the_sandbox(url):
    crm = hs.connect(TOKEN, base_url=url + "/")  # a trailing slash is dropped
    assert isinstance(crm, hs.HubSpotCRM)
    assert crm.owner_by_email("admin@sandbox.example") is not None  # the generated APIs read `host`
    assert crm._hs.api_request({"method": "GET", "path": "/crm/v3/owners/"}).status_code == 200  # `base_url`


# --- operations


def test_record_shape_properties_are_strings(url):
    r = httpx.post(f"{url}/crm/v3/objects/deals", headers=AUTH, json={"properties": {
        "dealname": f"Deal {uid()}", "amount": 1500, "closedate": "2030-01-31T00:00:00Z",
        "dealstage": "qualifiedtobuy"}})
    assert r.status_code == 201
    d = r.json()
    assert set(d) >= {"id", "properties", "createdAt", "updatedAt", "archived"} and d["archived"] is False
    p = d["properties"]
    assert p["amount"] == "1500" and p["hs_object_id"] == d["id"] and p["pipeline"] == "default"
    assert p["closedate"] == "2030-01-31T00:00:00.000Z"
    assert all(isinstance(v, str) for v in p.values() if v is not None)
    assert p["createdate"] and p["hs_lastmodifieddate"]


def test_associations_notes_and_labels(crm, strict):
    owner = crm.owner_by_email("admin@sandbox.example")
    domain = f"{uid()}.example.org"
    company = crm.upsert_company(domain, {"name": "Assoc Co"})  # first: HubSpot associates the contact with it
    contact = crm.upsert_contact(f"assoc-{uid()}@{domain}", {"firstname": "Grace"})
    deal = crm.create("deals", {"dealname": "Assoc deal"}, associations=[(company.id, 341)])
    crm.associate("contacts", contact.id, "companies", company.id)
    crm.associate("contacts", contact.id, "companies", company.id)  # PUT again: no duplicate
    crm.associate("deals", deal.id, "contacts", contact.id)
    assert crm.associated_ids("contacts", contact.id, "companies") == [company.id]
    assert crm.associated_ids("companies", company.id, "contacts") == [contact.id]
    assert crm.associated_ids("companies", company.id, "deals") == [deal.id]

    when = datetime(2030, 5, 1, 9, 30, tzinfo=UTC)
    note = crm.create_note("<p>Kick-off booked</p>", when, owner_id=owner.id, contact_id=contact.id,
                           company_id=company.id, deal_id=deal.id)
    got = crm.get("notes", note.id, ["hs_note_body", "hs_timestamp", "hubspot_owner_id"])
    assert got.properties == {"hs_note_body": "<p>Kick-off booked</p>", "hs_timestamp": "2030-05-01T09:30:00.000Z",
                              "hubspot_owner_id": owner.id}
    for t, i in (("contacts", contact.id), ("companies", company.id), ("deals", deal.id)):
        assert crm.associated_ids("notes", note.id, t) == [i]
    key = f"welcome-{uid()}"
    keyed = crm.create_note("Welcome sent", when, contact_id=contact.id, note_key=key)
    assert crm.create_note("Welcome sent", when, contact_id=contact.id, note_key=key).id == keyed.id
    assert len(crm.associated_ids("contacts", contact.id, "notes")) == 2

    # v4 shapes through the SDK models
    v4 = strict.crm.associations.v4
    labelled = v4.basic_api.create("contacts", contact.id, "companies", company.id,
                                   [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}])
    assert labelled.labels == ["Primary"] and labelled.from_object_type_id == "0-1"
    default = v4.basic_api.create_default("deals", deal.id, "contacts", contact.id)
    assert default.status == "COMPLETE" and default.results[0].association_spec.association_type_id == 3
    listed = v4.basic_api.get_page("contacts", contact.id, "companies")
    assert {t.type_id for t in listed.results[0].association_types} == {279, 1}
    labels = v4.schema.definitions_api.get_all("contacts", "companies")
    assert {(x.type_id, x.label) for x in labels.results} == {(279, None), (1, "Primary")}
    assert {x.type_id for x in v4.schema.definitions_api.get_all("deals", "line_items").results} == {19}
    v3 = strict.crm.contacts.basic_api.get_by_id(contact.id, associations=["companies"])
    assert {a.type for a in v3.associations["companies"].results} == {"contact_to_company",
                                                                       "contact_to_company_unlabeled"}


def test_owners(crm, strict):
    owners = crm.owners()
    assert "admin@sandbox.example" in {o.email for o in owners}
    admin = crm.owner_by_email("admin@sandbox.example")
    assert admin.first_name == "Sandbox" and admin.last_name == "Admin" and admin.id.isdigit()
    assert crm.owner_by_email("nobody@sandbox.example") is None
    page = strict.crm.owners.owners_api.get_page(email="admin@sandbox.example")
    assert page.results[0].type == "PERSON" and page.results[0].user_id == admin.user_id


def test_pipelines(crm, strict):
    stages = crm.pipeline_stages("default")
    by_id = {s.id: s for s in stages}
    assert by_id["closedwon"].probability == 1.0 and by_id["closedwon"].is_closed
    assert by_id["closedlost"].probability == 0.0 and by_id["closedlost"].is_closed
    assert by_id["appointmentscheduled"].probability == 0.2 and not by_id["appointmentscheduled"].is_closed
    label = f"Onboarding {uid()}"
    plan = [("Kick-off", 0.1), ("Setup", 0.5), ("Live", 1.0, True), ("Stalled", 0.0, True)]
    p1 = crm.ensure_pipeline(label, plan)
    p2 = crm.ensure_pipeline(label, plan)
    assert p1.id == p2.id and [s.label for s in p1.stages] == ["Kick-off", "Setup", "Live", "Stalled"]
    assert [s.id for s in crm.pipeline_stages(p1.id)] == [s.id for s in p1.stages]
    deal = crm.create("deals", {"dealname": "in new pipeline", "pipeline": p1.id, "dealstage": p1.stages[1].id})
    assert crm.get("deals", deal.id, ["dealstage"]).properties["dealstage"] == p1.stages[1].id
    with pytest.raises(NotFound):
        crm.pipeline_stages("no-such-pipeline")
    pipelines = strict.crm.pipelines.pipelines_api.get_all("deals").results
    assert any(p.id == "default" and p.label == "Sales Pipeline" for p in pipelines)


def test_responses_deserialise_into_sdk_models(strict):
    email = f"strict-{uid()}@client.example"
    contacts = strict.crm.contacts
    created = contacts.basic_api.create({"properties": {"email": email, "firstname": "Strict"}})
    assert created.id.isdigit() and created.properties["email"] == email and created.created_at is not None
    upsert = contacts.batch_api.upsert({"inputs": [
        {"idProperty": "email", "id": email, "properties": {"lastname": "Model"}},
        {"idProperty": "email", "id": f"new-{email}", "properties": {"lastname": "New"}},
    ]})
    assert upsert.status == "COMPLETE" and [r.new for r in upsert.results] == [False, True]
    partial = contacts.batch_api.upsert({"inputs": [
        {"idProperty": "email", "id": f"ok-{email}", "properties": {}},
        {"idProperty": "email", "id": "broken", "properties": {}},
    ]})  # 207: one result, one error (StandardError requires status/category/message/context/errors/links)
    assert len(partial.results) == 1 and partial.num_errors == 1 and partial.errors[0].category == "VALIDATION_ERROR"
    read = contacts.batch_api.read({"inputs": [{"id": created.id}, {"id": "99999999998"}], "properties": ["email"]})
    assert [r.id for r in read.results] == [created.id] and read.errors[0].context == {"ids": ["99999999998"]}
    updated = contacts.batch_api.update({"inputs": [{"id": created.id, "properties": {"jobtitle": "QA"}}]})
    assert updated.results[0].properties["jobtitle"] == "QA"
    contacts.batch_api.archive({"inputs": [{"id": created.id}]})
    with pytest.raises(Exception) as err:
        contacts.basic_api.get_by_id(created.id)
    assert err.value.status == 404 and json.loads(err.value.body)["category"] == "OBJECT_NOT_FOUND"
    prop = strict.crm.properties.core_api.get_by_name("deals", "dealstage")
    assert prop.type == "enumeration" and prop.modification_metadata.read_only_definition is True


# --- idempotency


def test_upsert_contact_creates_then_updates(crm):
    email = f"ada-{uid()}@client.example"
    first = crm.upsert_contact(email, {"firstname": "Ada", "lastname": "Lovelace", "lifecyclestage": "customer"})
    assert first.created is True and first.id.isdigit()
    again = crm.upsert_contact(email, {"jobtitle": "CTO"})
    assert again.created is False and again.id == first.id
    got = crm.get("contacts", email, ["firstname", "jobtitle", "email", "lifecyclestage"], id_property="email")
    assert got.id == first.id
    assert got.properties == {"firstname": "Ada", "jobtitle": "CTO", "email": email, "lifecyclestage": "customer"}


def test_upsert_company_by_domain_is_idempotent(crm):
    domain = f"{uid()}.example.com"
    first = crm.upsert_company(domain, {"name": "Client Ltd", "industry": "COMPUTER_SOFTWARE"})
    second = crm.upsert_company(domain, {"name": "Client Limited"})
    assert first.created and not second.created and first.id == second.id
    assert crm.find_one("companies", "domain", domain.upper(), ["name"]).properties["name"] == "Client Limited"
    assert crm.find_one("companies", "domain", f"none-{domain}") is None


def test_deal_create_or_update_by_key_and_stage_move(crm):
    crm.ensure_property("deals", "onboarding_key", "Onboarding key", group="dealinformation")
    key = f"onb-{uid()}"
    deal = crm.create_or_update("deals", "onboarding_key", key, {"dealname": "Onboarding", "amount": 900,
                                                                 "dealstage": "appointmentscheduled"})
    same = crm.create_or_update("deals", "onboarding_key", key, {"amount": 1200})
    assert deal.created and not same.created and same.id == deal.id
    moved = crm.update("deals", deal.id, {"dealstage": "closedwon", "pipeline": "default"})
    assert moved.properties["dealstage"] == "closedwon"
    got = crm.get("deals", deal.id, ["amount", "dealstage", "onboarding_key"])
    assert got.properties == {"amount": "1200", "dealstage": "closedwon", "onboarding_key": key}
    assert [d.id for d in crm.search("deals", [("onboarding_key", "EQ", key)])] == [deal.id]


def test_line_items_on_a_deal(crm):
    deal = crm.create("deals", {"dealname": f"Items {uid()}"})
    item = crm.add_line_item(deal.id, "Onboarding package", 2, 450.5)
    again = crm.add_line_item(deal.id, "Onboarding package", 3, 450.5)
    other = crm.add_line_item(deal.id, "Training day", 1, 800)
    assert again.id == item.id and other.id != item.id
    got = crm.get("line_items", item.id, ["quantity", "price", "amount", "name"])
    assert got.properties == {"quantity": "3", "price": "450.5", "amount": "1351.5", "name": "Onboarding package"}
    assert sorted(crm.associated_ids("deals", deal.id, "line_items")) == sorted([item.id, other.id])


def test_ensure_property(crm, url, strict):
    name = f"kickoff_{uid()}"
    first = crm.ensure_property("contacts", name, "Kick-off date", "date", "date", "contactinformation")
    again = crm.ensure_property("contacts", name, "Kick-off date", "date", "date", "contactinformation")
    assert first == again == hs.PropertyDef(name, "Kick-off date", "date", "date", "contactinformation")
    c = crm.create("contacts", {"email": f"prop-{uid()}@client.example", name: "2030-02-03"})
    assert crm.get("contacts", c.id, [name]).properties[name] == "2030-02-03"
    raw = httpx.post(f"{url}/crm/v3/properties/contacts", headers=AUTH, json={
        "name": name, "label": "x", "type": "string", "fieldType": "text", "groupName": "contactinformation"})
    assert raw.status_code == 409
    with pytest.raises(InvalidInput):
        crm.ensure_property("contacts", f"bad_{uid()}", "Bad", "text", "text")  # "text" is a fieldType, not a type
    with pytest.raises(InvalidInput):
        crm.ensure_property("contacts", f"bad_{uid()}", "Bad", "number", "select")
    names = {p.name for p in strict.crm.properties.core_api.get_all("contacts").results}
    assert {"email", "firstname", "hs_object_id", name} <= names


# --- errors


def api_error(status: int, body: dict, headers: dict | None = None) -> ApiException:
    """The SDK's exception for an HTTP answer, built as the SDK builds it."""
    answer = urllib3.HTTPResponse(body=json.dumps(body).encode(), status=status, headers=headers or {})
    return ApiException(http_resp=RESTResponse(answer))


def test_translate_maps_status_and_body_to_our_errors():
    gone = hs.translate(api_error(404, {"status": "error", "category": "OBJECT_NOT_FOUND", "message": "Not found."}))
    assert isinstance(gone, NotFound) and gone.status == 404
    dup = hs.translate(api_error(409, {"category": "CONFLICT", "message": "Contact already exists. Existing ID: 42"}))
    assert isinstance(dup, Conflict) and dup.existing_id == "42"
    limited = hs.translate(api_error(429, {"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
                                           "message": "You have reached your ten_secondly_rolling limit."},
                                     {"Retry-After": "2"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 2.0 and "TEN_SECONDLY_ROLLING" in str(limited)
    down = hs.translate(api_error(502, {"message": "Bad gateway"}))
    assert isinstance(down, Transient) and down.status == 502
    bad = hs.translate(api_error(400, {"category": "VALIDATION_ERROR", "message": "Property values were not valid"}))
    assert isinstance(bad, InvalidInput) and bad.status == 400
    assert isinstance(hs.translate(urllib3.exceptions.ProtocolError("connection reset")), Transient)
    other = KeyError("not the vendor's")
    assert hs.translate(other) is other


def test_duplicate_contact_is_a_conflict_naming_the_existing_id(crm, url):
    email = f"dup-{uid()}@client.example"
    created = crm.create("contacts", {"email": email})
    with pytest.raises(Conflict) as err:
        crm.create("contacts", {"email": email.upper()})  # HubSpot emails are case-insensitive
    assert err.value.existing_id == created.id
    raw = httpx.post(f"{url}/crm/v3/objects/contacts", json={"properties": {"email": email}}, headers=AUTH)
    body = raw.json()
    assert raw.status_code == 409 and body["category"] == "CONFLICT" and body["status"] == "error"
    assert body["message"] == f"Contact already exists. Existing ID: {created.id}"
    assert uuid.UUID(body["correlationId"])


def test_not_found_and_archive(crm, url):
    with pytest.raises(NotFound):
        crm.get("contacts", "99999999999")
    with pytest.raises(NotFound):
        crm.get("contacts", f"nobody-{uid()}@client.example", id_property="email")
    raw = httpx.get(f"{url}/crm/v3/objects/contacts/99999999999", headers=AUTH).json()
    assert raw["category"] == "OBJECT_NOT_FOUND"
    assert raw["message"] == "Object not found.  objectId are usually numeric."
    assert raw["context"] == {"id": ["99999999999"]}
    c = crm.create("contacts", {"email": f"gone-{uid()}@client.example"})
    crm.archive("contacts", c.id)
    crm.archive("contacts", c.id)  # twice is fine (204)
    with pytest.raises(NotFound):
        crm.get("contacts", c.id)


def test_the_account_is_read_from_the_account_info_api(crm, url):
    """Portal id and UI domain come from the account, never a default [CONTRACTS §6]: every field the
    published schema requires is there, and the record links use them."""
    raw = httpx.get(f"{url}/account-info/v3/details", headers=AUTH).json()
    assert {"portalId", "accountType", "timeZone", "companyCurrency", "additionalCurrencies", "utcOffset",
            "utcOffsetMilliseconds", "uiDomain", "dataHostingLocation"} <= set(raw)
    account = crm.account()
    assert account.portal_id == str(raw["portalId"]) != "0" and account.ui_domain == raw["uiDomain"]
    assert account.record_url("0-2", "42") == f"https://{raw['uiDomain']}/contacts/{raw['portalId']}/record/0-2/42"
    assert httpx.get(f"{url}/account-info/v3/details").status_code == 401
    with pytest.raises(NotFound):  # a failure of the generic request is translated like the SDK's own
        hs.connect(TOKEN, base_url=url + "/nowhere").account()


def test_industry_is_hubspots_enumeration_and_every_sop_industry_maps_onto_it(crm, url):
    """HubSpot's default `industry` is an enumeration: the SOP's own words are refused with INVALID_OPTION
    [CONTRACTS §1]; the mapping the run writes names only options the account really has."""
    from sop.client import Industry
    from tasks.hubspot import HUBSPOT_INDUSTRY

    raw = httpx.post(f"{url}/crm/v3/objects/companies", headers=AUTH,
                     json={"properties": {"name": "Retailer", "industry": "retail"}})
    assert raw.status_code == 400 and raw.json()["category"] == "VALIDATION_ERROR"
    assert '"error":"INVALID_OPTION"' in raw.json()["message"] and "RETAIL" in raw.json()["message"]
    options = {o["value"] for o in httpx.get(f"{url}/crm/v3/properties/companies/industry",
                                             headers=AUTH).json()["options"]}
    assert {"RETAIL", "COMPUTER_SOFTWARE", "HOSPITAL_HEALTH_CARE"} <= options and len(options) > 140
    assert set(HUBSPOT_INDUSTRY) == set(Industry) - {Industry.OTHER}
    assert set(HUBSPOT_INDUSTRY.values()) <= options
    domain = f"{uid()}.example.com"
    company = crm.upsert_company(domain, {"name": "Retailer", "industry": HUBSPOT_INDUSTRY[Industry.RETAIL]})
    assert crm.get("companies", company.id, ["industry"]).properties["industry"] == "RETAIL"


def test_invalid_input(crm, url):
    with pytest.raises(InvalidInput, match="does not exist"):
        crm.create("contacts", {"email": f"x-{uid()}@client.example", "favourite_colour": "blue"})
    with pytest.raises(InvalidInput, match="INVALID_EMAIL"):
        crm.upsert_contact("not-an-email", {"firstname": "X"})
    with pytest.raises(InvalidInput, match="operator"):
        list(crm.search("contacts", [("email", "LIKE", "x")]))
    with pytest.raises(InvalidInput, match="allowed options"):
        crm.create("deals", {"dealname": "bad stage", "dealstage": "no-such-stage"})
    with pytest.raises(InvalidInput, match="hs_timestamp"):
        crm.create("notes", {"hs_note_body": "no timestamp"})
    raw = httpx.post(f"{url}/crm/v3/objects/contacts/search", headers=AUTH, json={"limit": 201})
    assert raw.status_code == 400 and raw.json()["category"] == "VALIDATION_ERROR"
    unauth = httpx.get(f"{url}/crm/v3/objects/contacts")
    assert unauth.status_code == 401 and unauth.json()["category"] == "INVALID_AUTHENTICATION"


def test_connection_errors_are_transient(monkeypatch):
    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.0)
    dead = hs.connect(TOKEN, base_url="http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(Transient):
        dead.get("contacts", "1")


# --- retries and rate limits


def test_burst_beyond_the_rate_limit_waits_and_succeeds(crm, sandbox, vendor_limits):
    sandbox.configure(time_scale=0.2)  # 100 requests per 2 s: a burst surely crosses it
    contact = crm.create("contacts", {"email": f"burst-{uid()}@client.example"})
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: crm.get("contacts", contact.id).id, range(150)))
    assert got == [contact.id] * 150
    assert time.monotonic() - start >= 0.9  # at least one Retry-After wait happened


def test_raw_429_has_hubspot_body_and_headers(url, sandbox, vendor_limits):
    sandbox.configure(time_scale=0.2)
    with httpx.Client(headers=AUTH) as http:
        ok = http.get(f"{url}/crm/v3/owners/")
        assert ok.headers["X-HubSpot-RateLimit-Max"] == "100"
        assert ok.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "2000"  # 10 s x 0.2
        refused = next(r for r in (http.get(f"{url}/crm/v3/owners/") for _ in range(200)) if r.status_code == 429)
        body = refused.json()
        assert body["status"] == "error" and body["errorType"] == "RATE_LIMIT"
        assert body["policyName"] == "TEN_SECONDLY_ROLLING" and uuid.UUID(body["correlationId"])
        assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0" and int(refused.headers["Retry-After"]) >= 1
        # search has its own per-second bucket and no rate-limit headers
        search = [http.post(f"{url}/crm/v3/objects/companies/search", json={"limit": 1}) for _ in range(8)]
        assert search[0].status_code == 200 and "X-HubSpot-RateLimit-Max" not in search[0].headers
        limited = [r for r in search if r.status_code == 429]
        assert limited and limited[0].json()["policyName"] == "SECONDLY"


def test_server_errors_map_to_transient_and_creates_are_not_retried(crm, faults, monkeypatch):
    contact = crm.create("contacts", {"email": f"fault-{uid()}@client.example"})
    calls = []
    real = ObjectsApiClient.call_api
    monkeypatch.setattr(ObjectsApiClient, "call_api", lambda self, *a, **k: calls.append(a[1]) or real(self, *a, **k))
    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.0)  # no waiting between attempts in the test
    faults("hubspot", server_error=1.0)
    with pytest.raises(Transient) as err:
        crm.get("contacts", contact.id)
    assert err.value.status == 500 and calls == ["GET"] * retry.MAX_ATTEMPTS  # idempotent: retried
    calls.clear()
    with pytest.raises(Transient):
        crm.create("contacts", {"email": f"fault2-{uid()}@client.example"})
    assert calls == ["POST"]  # a plain create is never re-sent after a 5xx
    faults("hubspot", unavailable=1.0)
    with pytest.raises(Transient) as err:
        crm.update("contacts", contact.id, {"firstname": "X"})
    assert err.value.status == 503


# --- pagination


def test_search_pages_filters_and_sorts(crm, strict):
    tag = f"co-{uid()}"
    batch = strict.crm.objects.batch_api
    for chunk in range(3):  # 150 contacts, created with the SDK's batch create (max 100 per call)
        res = batch.create("contacts", {"inputs": [
            {"properties": {"email": f"p{chunk * 50 + i}-{tag}@client.example", "company": tag,
                            "firstname": f"n{chunk * 50 + i:03d}", **({"phone": "+44 20 1234"} if i % 2 else {})}}
            for i in range(50)]})
        assert len(res.results) == 50
    everyone = list(crm.search("contacts", [("company", "EQ", tag)], ["firstname"]))
    assert len(everyone) == 150 and len({r.id for r in everyone}) == 150  # two pages of 100, no repeats
    desc = list(crm.search("contacts", [("company", "EQ", tag)], ["firstname"],
                           sorts=[{"propertyName": "firstname", "direction": "DESCENDING"}]))
    assert [r.properties["firstname"] for r in desc[:2]] == ["n149", "n148"]
    with_phone = list(crm.search("contacts", [("company", "EQ", tag), ("phone", "HAS_PROPERTY")]))
    assert len(with_phone) == 75
    picked = list(crm.search("contacts", [("company", "EQ", tag), ("firstname", "IN", ["n001", "n002", "zzz"])]))
    assert len(picked) == 2
    between = list(crm.search("contacts", [("company", "EQ", tag), ("firstname", "BETWEEN", "n010", "n019")]))
    assert len(between) == 10
    token = list(crm.search("contacts", [("email", "CONTAINS_TOKEN", f"p7-{tag}*")]))
    assert len(token) == 1
    # the raw page: total/results/paging.next.after, validated by the SDK model
    page = strict.crm.contacts.search_api.do_search({"filterGroups": [{"filters": [
        {"propertyName": "company", "operator": "EQ", "value": tag}]}], "limit": 100})
    assert page.total == 150 and len(page.results) == 100 and page.paging.next.after == "100"


# --- invoices [doc: developers.hubspot.com/docs/api-reference/crm-invoices-v3/guide]


def _refused(call) -> dict:
    """HubSpot's error body of a refused SDK call (each SDK API package has its own ApiException)."""
    with pytest.raises(Exception) as caught:
        call()
    assert caught.value.status == 400, caught.value
    return json.loads(caught.value.body)


def test_invoice_drafted_keyed_associated_issued_once(crm, strict):
    contact = crm.upsert_contact(f"billing-{uid()}@inv.example", {"firstname": "Bo"})
    company = crm.upsert_company(f"inv-{uid()}.example", {"name": "Inv Co"})
    deal = crm.create("deals", {"dealname": f"Invoices {uid()}"})
    deal_item = crm.add_line_item(deal.id, "Launch Package", 1, 60000)
    crm.discount_line_items(deal.id, 10)
    key = f"inv-{uid()}:invoice:0"
    lines = [{"name": "Launch Package — deposit (30%)", "quantity": 1, "price": 18000, "hs_discount_percentage": 10}]
    draft = crm.create_invoice_draft(key, "ZAR", contact.id, lines, {"hs_due_date": "2026-07-01"}, company.id, deal.id)
    assert draft.properties["hs_invoice_status"] == "draft" and draft.properties["hs_currency"] == "ZAR"
    assert draft.properties["hs_amount_billed"] == "16200"  # 18,000 less the 10% discount
    assert crm.find_invoice(key).id == draft.id
    again = crm.create_invoice_draft(key, "ZAR", contact.id, lines, None, company.id, deal.id)  # a re-run
    assert again.id == draft.id and len(crm.associated_ids("invoices", draft.id, "line_items")) == 1
    (copy,) = crm.line_items("invoices", draft.id)
    assert copy.id != deal_item.id  # the invoice's own line item: the deal keeps its one
    assert [i.id for i in crm.line_items("deals", deal.id)] == [deal_item.id]
    assert crm.associated_ids("invoices", draft.id, "contacts") == [contact.id]
    assert crm.associated_ids("invoices", draft.id, "companies") == [company.id]
    assert crm.associated_ids("deals", deal.id, "invoices") == [draft.id]
    issued = crm.issue_invoice(draft.id)
    assert issued.properties["hs_invoice_status"] == "open"
    assert crm.issue_invoice(draft.id).properties["hs_invoice_status"] == "open"  # twice: nothing more
    # an issued invoice is not reconfigured by a re-run
    assert crm.create_invoice_draft(key, "ZAR", contact.id, lines).properties["hs_invoice_status"] == "open"
    assert len([r for r in crm.search("invoices", [(hs.INVOICE_KEY_PROPERTY, "EQ", key)])]) == 1
    raw = strict.crm.commerce.invoices.basic_api.get_by_id(draft.id, properties=["hs_invoice_status"])
    assert raw.properties["hs_invoice_status"] == "open"  # the SDK's dedicated invoices API, same endpoint


def test_invoice_refusals_in_hubspots_shape(crm, strict):
    api = strict.crm.objects.basic_api
    body = _refused(lambda: api.create("invoices", {"properties": {"hs_invoice_date": "2026-06-01"}}))
    assert body["category"] == "VALIDATION_ERROR" and "hs_currency" in body["message"] and body["correlationId"]
    body = _refused(lambda: api.create("invoices", {"properties": {"hs_currency": "USD"}}))
    assert "not a currency of this account" in body["message"]  # the account's currency is ZAR
    draft = api.create("invoices", {"properties": {"hs_currency": "ZAR"}})
    assert draft.properties["hs_invoice_status"] == "draft"
    # open needs one contact and at least one line item [the guide: "Move the invoice to the Open status"]
    body = _refused(lambda: api.update("invoices", draft.id, {"properties": {"hs_invoice_status": "open"}}))
    assert body["category"] == "VALIDATION_ERROR" and "one contact and at least one line item" in body["message"]
    contact = crm.upsert_contact(f"open-{uid()}@inv.example", {"firstname": "Al"})
    crm.associate("invoices", draft.id, "contacts", contact.id)
    body = _refused(lambda: api.update("invoices", draft.id, {"properties": {"hs_invoice_status": "open"}}))
    assert "0 line item(s)" in body["message"]
    # a deal's line item is not shared with an invoice: line items belong to one parent
    deal = crm.create("deals", {"dealname": f"Shared {uid()}"})
    item = crm.add_line_item(deal.id, "Package", 1, 100)
    body = _refused(lambda: strict.crm.associations.v4.basic_api.create_default("invoices", draft.id, "line_items",
                                                                                    item.id))
    assert "one single parent object" in body["message"]
    own = crm.create("line_items", {"name": "Package", "quantity": 1, "price": 100})
    crm.associate("invoices", draft.id, "line_items", own.id)
    assert api.update("invoices", draft.id, {"properties": {"hs_invoice_status": "open"}}).properties[
        "hs_invoice_status"] == "open"
    body = _refused(lambda: api.update("invoices", draft.id, {"properties": {"hs_invoice_status": "paid"}}))
    assert "payments are recorded in HubSpot" in body["message"]
    body = _refused(lambda: api.update("invoices", draft.id, {"properties": {"hs_invoice_status": "sent"}}))
    assert "INVALID_OPTION" in body["message"]  # draft, open, paid, voided


def test_invoices_need_their_scopes(sandbox, url):
    from integrations.errors import MissingScope

    httpx.post(f"{sandbox.root}/_sandbox/admin/scopes", json={"vendor": "hubspot", "withhold": ["crm.objects.invoices.write"]},
               timeout=10).raise_for_status()
    try:
        with pytest.raises(MissingScope) as caught:
            hs.connect(TOKEN, base_url=url).create("invoices", {"hs_currency": "ZAR"})
        assert caught.value.needed == ("crm.objects.invoices.write",)
    finally:
        httpx.post(f"{sandbox.root}/_sandbox/admin/scopes", json={"vendor": "hubspot", "grant": ["crm.objects.invoices.write"]},
                   timeout=10).raise_for_status()
