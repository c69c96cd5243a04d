"""Keap contract suite: ``integrations.keap`` over real HTTP against the sandbox, the sandbox's answers
validated against Keap's published v1 OpenAPI document. Sections as in the other vendors' suites:
connect, operations, idempotency, errors, retries and rate limits, pagination."""

from __future__ import annotations

import functools
import uuid

import httpx
import pytest

from integrations import keap as keap_module
from integrations import retry
from integrations.errors import IntegrationError, InvalidInput, NotAuthorized, NotFound, RateLimited, Transient
from integrations.keap import Contact, KeapMarketing, Quota

from .specs import validate_keap


@pytest.fixture
def keap(clients) -> KeapMarketing:
    return clients.keap


@pytest.fixture
def raw(sandbox):
    with httpx.Client(base_url=sandbox.urls["keap"], headers={"X-Keap-API-Key": "sandbox-token"}) as c:
        yield c


@pytest.fixture
def quick_retries(monkeypatch):
    """retry.call without sleeping, so retried failures are fast to show."""
    monkeypatch.setattr(retry, "call", functools.partial(retry.call, sleep=lambda s: None))


def email() -> str:
    return f"lead-{uuid.uuid4().hex[:8]}@client.example"


def unsubscribe(sandbox, address: str, status: str = "Manual") -> None:
    httpx.post(f"{sandbox.root}/_sandbox/keap/admin/unsubscribe/{address}", json={"status": status}).raise_for_status()


# --- connect


def test_connect_needs_exactly_one_credential():
    with pytest.raises(ValueError, match="exactly one"):
        keap_module.connect()
    with pytest.raises(ValueError, match="exactly one"):
        keap_module.connect("key", access_token="token")


def test_key_and_oauth_token_are_sent_as_keap_documents(sandbox):
    for client in (keap_module.connect("KeapAK-x", base_url=sandbox.urls["keap"]),
                   keap_module.connect(access_token="oauth-token", base_url=sandbox.urls["keap"])):
        assert isinstance(client.check(), Quota)


# --- operations (answers checked against the published document)


def test_answers_match_keaps_published_schemas(raw):
    address = email()
    body = {"duplicate_option": "Email", "email_addresses": [{"email": address, "field": "EMAIL1"}],
            "given_name": "Ada", "opt_in_reason": "asked"}
    validate_keap(raw.put("/contacts", json=body).json(), "/rest/v1/contacts", "put")
    validate_keap(raw.post("/contacts", json={"email_addresses": [{"email": email(), "field": "EMAIL1"}]}).json(),
                  "/rest/v1/contacts", "post", 201)
    listed = raw.get("/contacts", params={"email": address}).json()
    validate_keap(listed, "/rest/v1/contacts", "get")
    tag = raw.post("/tags", json={"name": f"contract {uuid.uuid4().hex[:6]}"}).json()
    validate_keap(tag, "/rest/v1/tags", "post")
    validate_keap(raw.get("/tags", params={"name": tag["name"]}).json(), "/rest/v1/tags", "get")
    contact_id = listed["contacts"][0]["id"]
    applied = raw.post(f"/tags/{tag['id']}/contacts", json={"ids": [contact_id]}).json()
    validate_keap(applied, "/rest/v1/tags/{tagId}/contacts", "post")
    validate_keap(raw.get(f"/contacts/{contact_id}/tags").json(), "/rest/v1/contacts/{contactId}/tags", "get")


def test_find_or_create_contact_opts_a_new_lead_in(keap):
    address = email()
    assert keap.find_contact(address) is None
    contact = keap.find_or_create_contact(address, "Zanele", "Mthembu", opt_in_reason="Enquired")
    assert contact.created and contact.email == address and (contact.given_name, contact.family_name) == (
        "Zanele", "Mthembu")
    assert contact.email_status == "SingleOptIn" and contact.opted_in and keap.is_marketable(contact)
    without = keap.find_or_create_contact(email(), "No", "Consent")
    assert without.email_status == "NonMarketable" and not keap.is_marketable(without)


# --- idempotency


def test_find_or_create_contact_is_idempotent(keap, sandbox):
    address = email()
    first = keap.find_or_create_contact(address, "Ada", "Lovelace", opt_in_reason="Enquired")
    again = keap.find_or_create_contact(address, "Ada", "Lovelace", opt_in_reason="Enquired")
    assert again == first and not again.created
    assert len(sandbox.state()["keap"]["contact"] and [c for c in sandbox.state()["keap"]["contact"]
                                                        if c["email_addresses"][0]["email"] == address]) == 1


def test_unsubscribed_contact_is_never_opted_in_again(keap, sandbox):
    address = email()
    keap.find_or_create_contact(address, "Ada", "", opt_in_reason="Enquired")
    unsubscribe(sandbox, address)  # Opt-Out: Manual, which an opt_in_reason could lift: the client does not send one
    again = keap.find_or_create_contact(address, "Ada", "", opt_in_reason="Enquired")
    assert again.email_status == "Manual" and not keap.is_marketable(again)


def test_ensure_tag_finds_before_it_creates_and_caches(keap, sandbox, raw):
    name = f"SOP: Lead {uuid.uuid4().hex[:6]}"
    existing = raw.post("/tags", json={"name": name}).json()
    assert keap.ensure_tag(name).id == existing["id"]
    fresh = KeapMarketing(httpx.Client(base_url=sandbox.urls["keap"], headers={"X-Keap-API-Key": "k"}))
    other = f"SOP: Qualified {uuid.uuid4().hex[:6]}"
    made = fresh.ensure_tag(other)
    assert fresh.ensure_tag(other) is made  # cached: no second look-up
    assert [t["id"] for t in raw.get("/tags", params={"name": other}).json()["tags"]] == [made.id]


def test_a_tag_is_applied_once(keap, sandbox):
    contact = keap.find_or_create_contact(email(), "Ada", "", opt_in_reason="Enquired")
    tag = keap.ensure_tag(f"SOP: Onboarded {uuid.uuid4().hex[:6]}")
    assert keap.apply_tag(tag.id, contact.id) is True
    assert keap.apply_tag(tag.id, contact.id) is False  # Keap's DUPLICATE: nothing applied
    assert [t.tag_id for t in keap.contact_tags(contact.id)] == [tag.id]
    applied = [a for a in sandbox.state()["keap"]["applied"] if a["contact_id"] == contact.id]
    assert len(applied) == 1


# --- errors


def test_translate_maps_keaps_answers_to_our_errors():
    def answer(status: int, body: dict, headers: dict | None = None) -> Exception:
        request = httpx.Request("GET", "https://api.infusionsoft.com/crm/rest/v1/tags")
        response = httpx.Response(status, json=body, headers=headers or {}, request=request)
        return keap_module.translate(httpx.HTTPStatusError("x", request=request, response=response))

    throttle = {"x-keap-product-quota-limit": "30000", "x-keap-product-quota-available": "2999",
                "x-keap-product-throttle-limit": "240", "x-keap-product-throttle-available": "0"}
    gateway_429 = {"code": "429", "message": "Quota Exceeded", "status": "Request Throttled", "details": None}
    limited = answer(429, gateway_429, throttle)
    assert isinstance(limited, RateLimited) and limited.retry_after is None
    spent = answer(429, gateway_429, {**throttle, "x-keap-product-quota-available": "0"})
    assert type(spent) is IntegrationError and "daily quota of 30,000" in str(spent)
    assert isinstance(answer(401, {"code": "401", "message": "Invalid Access Token"}), NotAuthorized)
    assert isinstance(answer(403, {"message": "no"}), NotAuthorized)
    assert isinstance(answer(404, {"message": "Contact with id 9 not found"}), NotFound)
    assert str(answer(400, {"message": "Tag name is required"})) == "keap: Tag name is required"
    assert isinstance(answer(400, {"message": "x"}), InvalidInput)
    assert isinstance(answer(503, {"message": "Service Unavailable"}), Transient)
    assert isinstance(keap_module.translate(httpx.ConnectError("refused")), Transient)
    assert keap_module.translate(KeyError("x")).__class__ is KeyError


def test_error_bodies_from_the_sandbox_are_translated(keap, sandbox):
    with pytest.raises(NotFound, match="Contact with id 99999999 not found"):
        keap.contact_tags(99999999)
    with pytest.raises(InvalidInput, match="Tag name is required"):
        keap._call("POST", "/tags", idempotent=False, json={"name": " "})
    no_key = KeapMarketing(httpx.Client(base_url=sandbox.urls["keap"]))
    with pytest.raises(NotAuthorized, match="Invalid Access Token"):
        no_key.check()
    tag = keap.ensure_tag(f"x {uuid.uuid4().hex[:6]}")
    with pytest.raises(NotFound, match="contact not found"):
        keap.apply_tag(tag.id, 99999999)


# --- retries and rate limits


def test_a_429_is_retried(faults, keap, quick_retries):
    faults("keap", rate_limit=0.5)
    contacts = [keap.find_or_create_contact(email(), "Ada", "", opt_in_reason="x") for _ in range(5)]
    assert all(isinstance(c, Contact) for c in contacts)


def test_a_429_carries_the_throttle_headers_and_translates(faults, keap, quick_retries, monkeypatch):
    faults("keap", rate_limit=1.0)
    monkeypatch.setattr(retry, "call", functools.partial(retry.call, sleep=lambda s: None, attempts=2))
    with pytest.raises(RateLimited, match="Request Throttled: Quota Exceeded"):
        keap.check()
    assert keap.last_quota.minute_available == 0 and keap.last_quota.minute_limit == 240


def test_the_daily_quota_stops_without_retrying(vendor_limits, sandbox, keap):
    httpx.post(f"{sandbox.root}/_sandbox/keap/admin/quota", json={"daily": 1}).raise_for_status()
    try:
        keap.check()
        with pytest.raises(IntegrationError, match="daily quota of 1 calls is used up") as info:
            keap.check()
    finally:
        httpx.post(f"{sandbox.root}/_sandbox/keap/admin/quota", json={"daily": 30000}).raise_for_status()
    assert not isinstance(info.value, RateLimited)
    assert keap.last_quota.daily_available == 0


def test_quota_is_read_from_every_answer(vendor_limits, keap):
    quota = keap.check()
    assert quota.daily_limit == 30000 and 0 <= quota.daily_available < 30000 and quota.minute_limit == 240
    assert "calls left today" in quota.line()


def test_a_5xx_on_a_read_is_retried(faults, keap, quick_retries):
    faults("keap", server_error=0.5)
    assert keap.find_contact(email()) is None


# --- pagination


def test_contact_tags_and_tag_lookups_page(keap, monkeypatch):
    monkeypatch.setattr(keap_module, "PAGE", 2)
    contact = keap.find_or_create_contact(email(), "Ada", "", opt_in_reason="x")
    names = [f"paged {uuid.uuid4().hex[:6]}" for _ in range(5)]
    for name in names:
        keap.apply_tag(keap.ensure_tag(name).id, contact.id)
    assert [t.name for t in keap.contact_tags(contact.id)] == names
