"""The Keap emulation: its routes against Keap's published v1 OpenAPI document, the gateway (key,
throttle, daily quota and their headers), contacts and opt-in, tags and their application, pages."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
from vendor_sandbox import SandboxConfig, SandboxServer
from vendor_sandbox.keap.backend import CONTACT_FIELDS

SPEC = json.loads((Path(__file__).parent / "specs" / "keap-v1-openapi.trimmed.json").read_text())
KEY = {"X-Keap-API-Key": "KeapAK-sandbox-test"}
QUOTA_HEADERS = ("limit", "time-unit", "interval", "available", "used", "expiry-time")
THROTTLE_HEADERS = ("limit", "time-unit", "interval", "available", "used")


@pytest.fixture
def keap(sandbox) -> httpx.Client:
    with httpx.Client(base_url=sandbox.urls["keap"], headers=KEY, timeout=30) as client:
        yield client


def email() -> str:
    return f"lead-{uuid.uuid4().hex[:8]}@client.example"


def new_contact(keap: httpx.Client, address: str, **extra) -> dict:
    r = keap.post("/contacts", json={"email_addresses": [{"email": address, "field": "EMAIL1"}], **extra})
    assert r.status_code == 201, r.text
    return r.json()


def listed(keap: httpx.Client, address: str) -> list[dict]:
    return keap.get("/contacts", params={"email": address}).json()["contacts"]


# --- the published contract


def test_every_route_is_an_operation_of_the_published_document(sandbox):
    """Each Keap route the sandbox serves is a path and method of Keap's v1 OpenAPI document, and
    every operation of the trimmed document is served."""
    keap_vendor = sandbox.app.state.vendors["keap"]
    served = {(m, r.path.removeprefix("/crm")) for r in keap_vendor.router().routes for m in r.methods}
    published = {(m.upper(), path.replace("{contactId}", "{contact_id}").replace("{tagId}", "{tag_id}"))
                 for path, ops in SPEC["paths"].items() for m in ops}
    assert served == published


def test_request_fields_are_the_documents(keap):
    """What the sandbox accepts of a contact and a tag are fields of CreateOrPatchContact / CreateTag."""
    schemas = SPEC["components"]["schemas"]
    contact_fields = set(schemas["RestContactBase"]["properties"]) | set(
        schemas["CreateOrPatchContact"]["allOf"][1]["properties"])
    assert set(CONTACT_FIELDS) <= contact_fields
    assert {"name", "description"} <= set(schemas["CreateTag"]["properties"])
    assert schemas["SetOfIds"]["required"] == ["ids"]


# --- the gateway


def test_no_key_is_401_in_the_gateways_shape(sandbox):
    r = httpx.get(sandbox.urls["keap"] + "/tags")
    assert r.status_code == 401
    assert r.json() == {"code": "401", "message": "Invalid Access Token", "status": "Unauthorized", "details": None}


def test_every_answer_carries_quota_and_throttle_headers(keap, sandbox):
    sandbox.configure(rate_limits="vendor", time_scale=1.0)
    try:
        first, second = keap.get("/tags"), keap.get("/tags")
    finally:
        sandbox.configure(rate_limits="off")
    for name in QUOTA_HEADERS:
        assert f"x-keap-product-quota-{name}" in first.headers
    for name in THROTTLE_HEADERS:
        assert f"x-keap-product-throttle-{name}" in first.headers
    assert first.headers["x-keap-product-quota-limit"] == "30000"  # a Service Account Key's day
    assert first.headers["x-keap-product-throttle-limit"] == "240"  # and minute
    assert first.headers["x-keap-product-quota-time-unit"] == "day"
    assert first.headers["x-keap-product-throttle-time-unit"] == "minute"
    assert int(second.headers["x-keap-product-throttle-available"]) == int(
        first.headers["x-keap-product-throttle-available"]) - 1


def test_oauth_tokens_have_the_larger_limits(sandbox):
    sandbox.configure(rate_limits="vendor")
    try:
        r = httpx.get(sandbox.urls["keap"] + "/tags", headers={"Authorization": "Bearer oauth-access-token"})
    finally:
        sandbox.configure(rate_limits="off")
    assert r.status_code == 200
    assert r.headers["x-keap-product-quota-limit"] == "150000"
    assert r.headers["x-keap-product-throttle-limit"] == "1500"


def test_a_burst_is_throttled_with_429_and_no_retry_after(keap, sandbox):
    sandbox.configure(rate_limits="vendor", time_scale=1.0)
    try:
        answers = [keap.get("/tags", params={"limit": 1}) for _ in range(260)]
    finally:
        sandbox.configure(rate_limits="off")
    refused = [r for r in answers if r.status_code == 429]
    assert refused, "neither the 10 / s spike arrest nor the 240 / minute throttle refused 260 calls"
    assert refused[0].json() == {"code": "429", "message": "Quota Exceeded", "status": "Request Throttled",
                                 "details": None}
    assert "retry-after" not in refused[0].headers  # Keap documents none


def test_the_daily_quota_runs_out(keap, sandbox):
    sandbox.configure(rate_limits="vendor")
    httpx.post(sandbox.root + "/_sandbox/keap/admin/quota", json={"daily": 2}).raise_for_status()
    try:
        ok = [keap.get("/tags").status_code for _ in range(2)]
        refused = keap.get("/tags")
    finally:
        httpx.post(sandbox.root + "/_sandbox/keap/admin/quota", json={"daily": 30000}).raise_for_status()
        sandbox.configure(rate_limits="off")
    assert ok == [200, 200]
    assert refused.status_code == 429
    assert refused.headers["x-keap-product-quota-available"] == "0"
    assert refused.headers["x-keap-product-quota-limit"] == "2"


# --- contacts and opt-in


def test_post_allows_duplicate_emails_put_with_duplicate_option_does_not(keap):
    address = email()
    new_contact(keap, address)
    new_contact(keap, address)  # Keap's POST checks nothing
    assert len(listed(keap, address)) == 2
    other = email()
    body = {"duplicate_option": "Email", "email_addresses": [{"email": other, "field": "EMAIL1"}], "given_name": "Ada"}
    first, again = keap.put("/contacts", json=body), keap.put("/contacts", json={**body, "given_name": "Ada B"})
    assert first.status_code == again.status_code == 200 and first.json()["id"] == again.json()["id"]
    (only,) = listed(keap, other)
    assert only["given_name"] == "Ada B"  # updated with the values provided


def test_put_needs_a_duplicate_option(keap):
    r = keap.put("/contacts", json={"email_addresses": [{"email": email(), "field": "EMAIL1"}]})
    assert r.status_code == 400 and "duplicate_option" in r.json()["message"]


def test_a_contact_needs_an_email_or_phone_and_a_valid_field(keap):
    r = keap.post("/contacts", json={"given_name": "Nobody"})
    assert r.status_code == 400 and set(r.json()) == {"message"}
    r = keap.post("/contacts", json={"email_addresses": [{"email": email(), "field": "WORK"}]})
    assert r.status_code == 400


def test_opt_in_reason_makes_the_contact_marketable_and_unsubscribe_is_kept(keap, sandbox):
    with_reason, without = email(), email()
    new_contact(keap, with_reason, opt_in_reason="Asked for our newsletter")
    new_contact(keap, without)
    assert listed(keap, with_reason)[0]["email_status"] == "SingleOptIn"
    assert listed(keap, without)[0]["email_status"] == "NonMarketable"
    # the client clicks "unsubscribe" in their mail client: List Unsubscribe, which no opt-in lifts
    r = httpx.post(f"{sandbox.root}/_sandbox/keap/admin/unsubscribe/{with_reason}", json={"status": "ListUnsubscribe"})
    assert r.json()["email_status"] == "ListUnsubscribe" and r.json()["email_opted_in"] is False
    keap.put("/contacts", json={"duplicate_option": "Email", "opt_in_reason": "again",
                                "email_addresses": [{"email": with_reason, "field": "EMAIL1"}]})
    assert listed(keap, with_reason)[0]["email_status"] == "ListUnsubscribe"


def test_full_contact_answers_have_no_email_status(keap):
    created = new_contact(keap, email())
    assert "email_status" not in created and created["tag_ids"] == []


# --- tags


def test_a_fresh_account_has_no_tags():
    with SandboxServer(SandboxConfig(rate_limits="off")) as fresh:
        r = httpx.get(fresh.urls["keap"] + "/tags", headers=KEY)
        assert r.json()["tags"] == [] and r.json()["count"] == 0


def test_tags_are_applied_once_and_listed_per_contact(keap):
    contact = new_contact(keap, email())
    tag = keap.post("/tags", json={"name": f"SOP: Lead {uuid.uuid4().hex[:6]}"}).json()
    assert set(tag) >= {"id", "name"}
    first = keap.post(f"/tags/{tag['id']}/contacts", json={"ids": [contact["id"]]}).json()
    again = keap.post(f"/tags/{tag['id']}/contacts", json={"ids": [contact["id"], 987654]}).json()
    assert first == {str(contact["id"]): "SUCCESS"}
    assert again == {str(contact["id"]): "DUPLICATE", "987654": "CONTACT_NOT_FOUND"}
    applied = keap.get(f"/contacts/{contact['id']}/tags").json()
    assert [t["tag"]["id"] for t in applied["tags"]] == [tag["id"]] and applied["count"] == 1
    assert keap.post("/tags/999999/contacts", json={"ids": [contact["id"]]}).json() == {
        str(contact["id"]): "TAG_ID_NOT_FOUND"}


def test_unknown_contact_is_404_with_a_message(keap):
    r = keap.get("/contacts/99999999/tags")
    assert r.status_code == 404 and set(r.json()) == {"message"}


def test_tag_lists_page_with_limit_offset_and_next(keap):
    name = f"paged {uuid.uuid4().hex[:6]}"
    for _ in range(3):  # Keap allows two tags of one name: three here
        keap.post("/tags", json={"name": name})
    first = keap.get("/tags", params={"name": name, "limit": 2}).json()
    assert len(first["tags"]) == 2 and first["count"] == 3 and "offset=2" in first["next"]
    second = httpx.get(first["next"], headers=KEY).json()
    assert len(second["tags"]) == 1 and "next" not in second and "previous" in second
    assert keap.get("/tags", params={"limit": 0}).status_code == 400
