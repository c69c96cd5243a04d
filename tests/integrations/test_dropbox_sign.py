"""Dropbox Sign: the official SDK ``dropbox-sign`` against the sandbox, in the sections of every vendor's
contract tests: the wire and the published spec, the operations, the vendor's rules, errors and limits.

The spec is Dropbox Sign's own OpenAPI description (hellosign/hellosign-openapi ``openapi-sdk.yaml``),
trimmed to the operations used: ``fixtures/dropbox_sign_openapi.json`` (source and licence in
``fixtures/README.md``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from integrations import dropbox_sign as ds
from integrations.errors import InvalidInput, NotFound, RateLimited
from tasks import esign

SPEC = Path(__file__).parent / "fixtures" / "dropbox_sign_openapi.json"
CLIENT, MANAGER = ("Zanele Mthembu", "zanele@acme.example"), ("Lindiwe Dlamini", "lindiwe@brightpath.example")


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC.read_text())


def validate(body: Any, path: str, method: str = "get", status: str = "200") -> None:
    """``body`` against the response schema the spec gives ``method path`` for ``status`` (200 or 4XX)."""
    schema = spec()["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    registry = Registry().with_resource("urn:ds", Resource.from_contents(spec(), default_specification=DRAFT4))
    OAS30Validator({"$ref": "urn:ds#" + schema["$ref"][1:]}, registry=registry).validate(body)


@pytest.fixture(scope="module")
def client(sandbox) -> ds.DropboxSign:
    return ds.connect("sandbox-api-key", base_url=sandbox.urls["dropbox_sign"], test_mode=True)


@pytest.fixture
def api(sandbox) -> httpx.Client:
    """Raw HTTP to the emulated API, as Dropbox Sign's curl examples call it (the key as Basic user)."""
    with httpx.Client(base_url=sandbox.urls["dropbox_sign"], auth=("sandbox-api-key", ""), timeout=30) as c:
        yield c


def send(client: ds.DropboxSign, key: str | None = None, **kw: Any) -> ds.SignatureRequest:
    return client.send(key=key or ds.request_key("acme.example", str(datetime.now(UTC).timestamp())),
                       title="Service agreement — Acme", subject="Please sign", message="Dear Zanele",
                       file_name="agreement.html", content=b"<h1>Service agreement</h1><p>Terms.</p>",
                       signers=[CLIENT, MANAGER], metadata={"client_domain": "acme.example"}, **kw)


def act(sandbox, request_id: str, action: str, email: str | None = None, **body: Any) -> httpx.Response:
    return httpx.post(f"{sandbox.root}/_sandbox/dropbox_sign/{request_id}/{action}",
                      json={"email": email, **body}, timeout=30)


# --- the wire and the published spec


def test_sdk_paths_are_the_specs(client):
    """Every operation the module calls is in the published spec, with the method the SDK uses."""
    used = {("post", "/signature_request/send"), ("get", "/signature_request/{signature_request_id}"),
            ("get", "/signature_request/list"), ("post", "/signature_request/remind/{signature_request_id}"),
            ("post", "/signature_request/cancel/{signature_request_id}"),
            ("get", "/signature_request/files/{signature_request_id}")}
    assert {(m, p) for p, ops in spec()["paths"].items() for m in ops if m != "parameters"} == used
    assert spec()["servers"][0]["url"] == ds.LIVE_HOST
    assert spec()["components"]["securitySchemes"]["api_key"]["scheme"] == "basic"


def test_responses_match_the_spec(client, api, sandbox):
    req = send(client)
    got = api.get(f"/signature_request/{req.id}")
    assert got.status_code == 200
    assert all(h in got.headers for h in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-Ratelimit-Reset"))
    validate(got.json(), "/signature_request/{signature_request_id}")
    validate(api.get("/signature_request/list", params={"query": req.key}).json(), "/signature_request/list")
    reminded = api.post(f"/signature_request/remind/{req.id}", json={"email_address": CLIENT[1]})
    validate(reminded.json(), "/signature_request/remind/{signature_request_id}", "post")
    for bad, path, method in ((api.get("/signature_request/nope"), "/signature_request/{signature_request_id}", "get"),
                              (httpx.get(f"{sandbox.urls['dropbox_sign']}/signature_request/list"),
                               "/signature_request/list", "get"),
                              (api.post("/signature_request/send", json={"title": "x"}), "/signature_request/send",
                               "post")):
        assert bad.status_code in (400, 401, 404)
        validate(bad.json(), path, method, "4XX")
    cancelled = api.post(f"/signature_request/cancel/{req.id}")
    assert cancelled.status_code == 200 and cancelled.content == b""
    gone = api.get(f"/signature_request/{req.id}")
    assert gone.status_code == 410 and gone.json()["error"]["error_name"] == "deleted"


def test_the_send_request_is_the_specs_shape(client, sandbox):
    """What the module sends validates against ``SignatureRequestSendRequest`` (the file aside)."""
    req = send(client)
    assert [(s.name, s.email, s.order) for s in req.signatures] == [(*CLIENT, 0), (*MANAGER, 1)]
    assert req.test_mode and req.metadata == {"client_domain": "acme.example", ds.KEY_FIELD: req.key}
    body = ds.SignatureRequestSendRequest(
        title="t", signers=[ds.SubSignatureRequestSigner(name="n", email_address="a@b.example", order=0)],
        metadata={ds.KEY_FIELD: "k"}, test_mode=True, allow_decline=True,
        signing_options=ds.SubSigningOptions(default_type="type", type=True)).to_dict()
    registry = Registry().with_resource("urn:ds", Resource.from_contents(spec(), default_specification=DRAFT4))
    OAS30Validator({"$ref": "urn:ds#/components/schemas/SignatureRequestSendRequest"}, registry=registry).validate(body)


# --- operations and the vendor's rules


def test_signers_sign_in_order_then_the_signed_pdf_has_the_audit_trail(client, sandbox):
    req = send(client)
    assert req.next_signer().email == CLIENT[1] and req.state == "awaiting"
    out_of_turn = act(sandbox, req.id, "sign", MANAGER[1])
    assert out_of_turn.status_code == 409 and "signs first" in out_of_turn.json()["error"]["error_msg"]
    act(sandbox, req.id, "sign", CLIENT[1]).raise_for_status()
    assert client.get(req.id).next_signer().email == MANAGER[1]
    act(sandbox, req.id, "sign", MANAGER[1]).raise_for_status()
    done = client.get(req.id)
    assert done.state == "complete" and done.completed_at() is not None
    assert [s.status for s in done.signatures] == ["signed", "signed"]
    pdf = client.signed_pdf(req.id)
    assert pdf.startswith(b"%PDF-1.4") and b"Audit trail" in pdf and b"Service agreement" in pdf
    assert b"SIGNED  signed by Zanele Mthembu" in pdf
    assert client.cancel(req.id) is False  # a completed request cannot be cancelled


def test_decline(client, sandbox):
    req = send(client)
    act(sandbox, req.id, "decline", CLIENT[1], reason="Rather on paper").raise_for_status()
    got = client.status(req.id)
    assert got.state == "declined" and got.settled and got.declined_by().decline_reason == "Rather on paper"
    assert act(sandbox, req.id, "sign", MANAGER[1]).status_code == 409  # nothing more to sign
    assert esign.settled(client, req.id).state == "declined"


def test_remind_once_an_hour(client):
    req = send(client)
    assert client.remind(req.id, CLIENT[1]).signatures[0].last_reminded_at is not None
    with pytest.raises(InvalidInput, match="within 1 hour"):
        client.remind(req.id, CLIENT[1])
    with pytest.raises(InvalidInput, match="not a signer awaiting"):
        client.remind(req.id, "stranger@example.com")
    assert esign.remind_signer.fn(client, req.id, 2) is None  # refused within the hour: "already reminded"


def test_expires_at_is_refused_outside_1_to_90_days_and_expires(client, api, sandbox):
    with pytest.raises(InvalidInput, match="between 1 and 90 days"):
        send(client, expires_at=datetime.now(UTC) + timedelta(hours=2))
    req = send(client, expires_at=datetime.now(UTC) + timedelta(days=2))
    assert req.expires_at.minute == 0  # rounded down to the hour
    httpx.post(f"{sandbox.root}/_sandbox/clock", json={"days": 3}).raise_for_status()
    try:
        assert client.status(req.id).state == "expired"
    finally:
        httpx.post(f"{sandbox.root}/_sandbox/clock", json={"days": -3}).raise_for_status()


def test_find_or_send_sends_once(client, sandbox):
    """The task finds the recorded request, else the one listed under its key, before it sends."""
    key = ds.request_key("find.example", "contract-1")
    args = {"title": "Service agreement — Find", "subject": "s", "message": "m", "file_name": "a.html", "content": b"<p>x</p>",
                "signers": [CLIENT, MANAGER], "metadata": {"client_domain": "find.example"}}
    first = esign.send_for_signature.fn(client, key=key, recorded_id=None, **args)
    again = esign.send_for_signature.fn(client, key=key, recorded_id=None, **args)  # crashed before recording
    recorded = esign.send_for_signature.fn(client, key=key, recorded_id=first.id, **args)
    assert first.id == again.id == recorded.id
    assert client.find(key).id == first.id and client.find(ds.request_key("find.example", "contract-2")) is None
    client.cancel(first.id)
    other = esign.send_for_signature.fn(client, key=ds.request_key("find.example", "contract-2"),
                                        recorded_id=first.id, **args)  # a new attempt: its own request
    assert other.id != first.id


# --- errors and limits


def test_errors_map_to_ours(client, sandbox):
    with pytest.raises(NotFound) as gone:
        client.get("0" * 40)
    assert gone.value.status == 404
    nobody = ds.connect("", base_url=sandbox.urls["dropbox_sign"])
    with pytest.raises(InvalidInput, match="unauthorized"):
        nobody.get("0" * 40)
    with pytest.raises(InvalidInput, match="Unsupported file type"):
        client.send(key="k", title="t", subject="s", message="m", file_name="a.exe", content=b"x", signers=[CLIENT])


def test_rate_limit_429_with_headers(vendor_limits, api, client, monkeypatch):
    """High tier (send, files): 25 / minute per account; the 26th is Dropbox Sign's 429 ``exceeded_rate``."""
    req = send(client)
    answers = [api.get(f"/signature_request/files/{req.id}") for _ in range(25)]
    refused = answers[-1] if answers[-1].status_code == 429 else api.get(f"/signature_request/files/{req.id}")
    assert refused.status_code == 429 and refused.json()["error"]["error_name"] == "exceeded_rate"
    assert refused.headers["X-RateLimit-Limit"] == "25" and refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["X-Ratelimit-Reset"]) > datetime.now(UTC).timestamp()
    mapped = ds.translate(ds.ApiException(status=429, reason="Too Many Requests"))
    assert isinstance(mapped, RateLimited)
    assert api.get(f"/signature_request/{req.id}").status_code == 200  # the standard tier is its own bucket
