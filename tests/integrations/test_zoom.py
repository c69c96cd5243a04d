"""Zoom contract: ZoomMeetings (on zoomus) against the sandbox, bodies checked against Zoom's spec.

The published spec (openapi.v2.json, 2018) is stale where CONTRACTS.md §5 says otherwise: meeting
``id`` is an int64 today ("Meeting IDs can be more than 10 digits"), a string in 2018, and a user's
``pmi`` is a number today. Those fields, and only those, are patched below (``ID_INT`` etc.).
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import httpx
import jsonschema
import pytest
import requests

from integrations import retry, zoom
from integrations.errors import Conflict, InvalidInput, NotFound, RateLimited, Transient

from .specs import validate_swagger

OWNER = "admin@sandbox.example"  # the first team member: account owner, "me"
RATE_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."

# Stale 2018 spec: meeting ids were strings; today they are int64 (CONTRACTS.md §5).
_ID_INT = {"type": "integer", "format": "int64"}
_MEETING_HEAD = {"type": "object",
                 "properties": {"uuid": {"type": "string"}, "id": _ID_INT, "host_id": {"type": "string"}}}
_MEETING = [_MEETING_HEAD, {"$ref": "#/definitions/MeetingInfo"}]
MEETING_PATCH = {
    "paths./users/{userId}/meetings.post.responses.201.schema.allOf": _MEETING,
    "paths./meetings/{meetingId}.get.responses.200.schema.allOf": _MEETING,
}
LIST_PATCH = {
    "definitions.MeetingList.allOf": [
        {"$ref": "#/definitions/Pagination"},
        {"properties": {"meetings": {"type": "array", "items": {"allOf": _MEETING}}}},
    ]
}
# Stale 2018 spec: "pmi" was a string; Zoom answers a number (e.g. 5241853776) today.
USER_PATCH = {"definitions.User.properties.pmi": {"type": "integer", "format": "int64"}}


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:8]}"


def at(hours: int) -> datetime:
    """A whole-second aware start time in the future, in a non-UTC zone on purpose."""
    base = datetime(2031, 3, 4, 9, 30, tzinfo=timezone(timedelta(hours=2)))
    return base + timedelta(hours=hours)


def connect(sandbox, account: str = "contract-acct") -> zoom.ZoomMeetings:
    return zoom.connect(account, "contract-client", "sandbox-token",
                        base_url=sandbox.urls["zoom"], oauth_url=sandbox.urls["zoom-oauth"])


def access_token(sandbox, account: str = "raw-acct") -> str:
    r = httpx.post(sandbox.urls["zoom-oauth"], params={"grant_type": "account_credentials", "account_id": account},
                   auth=("raw-client", "raw-secret"))
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@pytest.fixture(scope="module")
def zm(sandbox) -> zoom.ZoomMeetings:
    return connect(sandbox)


@pytest.fixture
def raw(sandbox):
    """httpx straight at the sandbox with a fresh token, to look at status, headers and bodies."""
    with httpx.Client(base_url=sandbox.urls["zoom"], headers={"Authorization": f"Bearer {access_token(sandbox)}"}) as c:
        yield c


@pytest.fixture
def colleague(sandbox) -> str:
    """A new member of the Zoom account (so meeting lists are this test's own); returns the email."""
    email = f"{uuid.uuid4().hex[:10]}@sandbox.example"
    r = httpx.post(f"{sandbox.root}/_sandbox/zoom/users", json={"name": "Casey Colleague", "email": email})
    assert r.status_code == 201
    return email


@pytest.fixture
def quick_retries(monkeypatch):
    """retry.call without sleeping, so retried failures are fast to show."""
    monkeypatch.setattr(retry, "call", functools.partial(retry.call, sleep=lambda s: None))


def counting(monkeypatch, component, name: str) -> list[int]:
    """Count the SDK calls ``component.name`` receives."""
    calls: list[int] = []
    original = getattr(component, name)

    def spy(**kwargs):
        calls.append(1)
        return original(**kwargs)

    monkeypatch.setattr(component, name, spy)
    return calls


# --- connect


def test_token_endpoint_form_and_query_and_errors(sandbox):
    url = sandbox.urls["zoom-oauth"]
    form = httpx.post(url, data={"grant_type": "account_credentials", "account_id": "a1"}, auth=("cid", "sec"))
    query = httpx.post(url, params={"grant_type": "account_credentials", "account_id": "a1"}, auth=("cid", "sec"))
    for r in (form, query):
        assert r.status_code == 200
        body = r.json()
        assert body["token_type"] == "bearer" and body["expires_in"] == 3599 and body["access_token"]
    assert form.json()["access_token"] != query.json()["access_token"]

    no_basic = httpx.post(url, params={"grant_type": "account_credentials", "account_id": "a1"})
    assert no_basic.status_code == 401 and no_basic.json() == {
        "reason": "Invalid client_id or client_secret", "error": "invalid_client"}
    bad_grant = httpx.post(url, params={"grant_type": "client_credentials", "account_id": "a1"}, auth=("c", "s"))
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "unsupported_grant_type"
    no_account = httpx.post(url, params={"grant_type": "account_credentials"}, auth=("c", "s"))
    assert no_account.status_code == 400 and set(no_account.json()) == {"reason", "error"}


def test_api_refuses_missing_or_unknown_token(sandbox):
    for headers in ({}, {"Authorization": "Bearer not-a-zoom-token"}):
        r = httpx.get(sandbox.urls["zoom"] + "/users/me", headers=headers)
        assert r.status_code == 401
        assert r.json() == {"code": 124, "message": "Invalid access token."}


def test_token_refresh_on_expiry_and_revocation(sandbox):
    z = connect(sandbox, "refresh-acct")
    m = z.create_meeting("me", unique("Refresh"), at(5), 30)
    first = z._client.config["token"]

    httpx.post(f"{sandbox.root}/_sandbox/clock", json={"seconds": 3601}).raise_for_status()
    try:
        assert z.get_meeting(m.id).id == m.id  # 401 code 124 -> new token -> retried
    finally:
        httpx.post(f"{sandbox.root}/_sandbox/clock", json={"seconds": -3601}).raise_for_status()
    second = z._client.config["token"]
    assert second != first

    assert httpx.post(f"{sandbox.root}/_sandbox/zoom/tokens/revoke").json()["revoked"] >= 1
    assert z.get_meeting(m.id).id == m.id
    assert z._client.config["token"] != second

    z._token_deadline = 0.0  # as if the hour were nearly over: refreshed before the call
    third = z._client.config["token"]
    z.get_meeting(m.id)
    assert z._client.config["token"] != third
    assert all(t["token"].endswith("…") for t in sandbox.state()["zoom"]["token"])  # inspection hides tokens


def test_connection_error_is_transient():
    with pytest.raises(Transient):  # nothing listens on port 9: the constructor's token fetch fails
        zoom.connect("a", "b", "c", base_url="http://127.0.0.1:9/v2", oauth_url="http://127.0.0.1:9/oauth/token")


# --- operations


def test_create_get_update_delete(zm, raw):
    topic = unique("Kickoff")
    start = at(1)
    m = zm.create_meeting("me", topic, start, 45, timezone="Europe/Paris", agenda="Welcome")
    assert isinstance(m.id, int) and 10_000_000_000 <= m.id < 100_000_000_000  # 11 digits
    assert m.topic == topic and m.duration == 45 and m.timezone == "Europe/Paris" and m.agenda == "Welcome"
    assert m.start_time == start and m.start_time.tzinfo is not None
    assert m.start_time.utcoffset() == timedelta(0)
    assert m.join_url.startswith("https://") and str(m.id) in m.join_url
    assert m.start_url and m.password

    body = raw.get(f"/meetings/{m.id}").json()
    assert body["start_time"] == "2031-03-04T08:30:00Z"  # 09:30 at +02:00, sent by zoomus as GMT
    assert body["status"] == "waiting" and body["host_email"] == OWNER
    validate_swagger("zoom", body, "/meetings/{meetingId}", "get", 200, patch=MEETING_PATCH)
    with pytest.raises(jsonschema.ValidationError):  # the patch is needed: 2018 says id is a string
        validate_swagger("zoom", body, "/meetings/{meetingId}", "get", 200)

    later = at(26)
    zm.update_meeting(m.id, topic=topic + " (moved)", start=later, duration=30, agenda="New agenda")
    got = zm.get_meeting(m.id)
    assert (got.topic, got.start_time, got.duration, got.agenda) == (topic + " (moved)", later, 30, "New agenda")
    assert got.password == m.password and got.join_url == m.join_url

    assert zm.delete_meeting(m.id) is True
    with pytest.raises(NotFound):
        zm.get_meeting(m.id)
    assert zm.delete_meeting(m.id) is False  # already gone is fine


def test_raw_create_shape_and_zoomus_quirks(raw):
    # zoomus sends user_id in the body and "...Z" times; both are accepted.
    r = raw.post("/users/me/meetings", json={"user_id": "me", "topic": unique("Raw"), "type": 2,
                                               "start_time": "2031-05-06T10:00:00", "timezone": "America/New_York",
                                               "duration": 30, "password": "ab@-_*12"})
    assert r.status_code == 201
    body = r.json()
    assert body["start_time"] == "2031-05-06T14:00:00Z"  # local time in timezone, answered in UTC
    assert body["password"] == "ab@-_*12" and body["status"] == "waiting"
    assert r.headers["Content-Location"].endswith(f"/meetings/{body['id']}")
    validate_swagger("zoom", body, "/users/{userId}/meetings", "post", 201, patch=MEETING_PATCH)

    upd = raw.patch(f"/meetings/{body['id']}", json={"id": body["id"], "agenda": "x"})  # zoomus adds "id"
    assert upd.status_code == 204 and upd.content == b""
    gone = raw.delete(f"/meetings/{body['id']}", params={"id": body["id"]})
    assert gone.status_code == 204
    again = raw.get(f"/meetings/{body['id']}", params={"id": body["id"]})
    assert again.status_code == 404
    assert again.json() == {"code": 3001, "message": f"Meeting {body['id']} is not found or has expired."}


def test_users(zm, raw, colleague):
    me = raw.get("/users/me").json()
    assert me["email"] == OWNER and me["role_name"] == "Owner"
    validate_swagger("zoom", me, "/users/{userId}", "get", 200, patch=USER_PATCH)
    assert zm.user_id_by_email(OWNER) == me["id"]
    assert zm.user_id_by_email(colleague.upper()) != me["id"]  # email match ignores case
    assert len(me["id"]) == 22
    with pytest.raises(NotFound):
        zm.user_id_by_email("stranger@nowhere.example")
    missing = raw.get("/users/stranger@nowhere.example")
    assert missing.status_code == 404 and missing.json()["code"] == 1001

    users = raw.get("/users", params={"page_size": 300}).json()
    assert colleague in [u["email"] for u in users["users"]]
    validate_swagger("zoom", users, "/users", "get", 200, patch=USER_PATCH)


# --- idempotency


def test_find_or_create_adopts_existing(zm, sandbox, colleague):
    topic = unique("Onboarding call")
    first = zm.find_or_create_meeting(colleague, topic, at(3), 30, timezone="Europe/Berlin")
    # Same instant expressed in another zone: still the same meeting.
    again = zm.find_or_create_meeting(colleague, topic, at(3).astimezone(UTC), 30, timezone="Europe/Berlin")
    assert again.id == first.id and again.start_url == first.start_url and again.password == first.password
    other_time = zm.find_or_create_meeting(colleague, topic, at(4), 30)
    assert other_time.id != first.id
    mine = [m for m in zm.list_meetings(colleague) if m.topic == topic]
    assert sorted(m.id for m in mine) == sorted([first.id, other_time.id])


# --- errors


def error_answer(status: int, body: dict, headers: dict | None = None,
                 what: str = "get meeting 1") -> requests.HTTPError:
    """An error answer as ``ZoomMeetings._call`` raises it for ``translate`` (zoomus itself never raises)."""
    answer = requests.Response()
    answer.status_code, answer._content = status, json.dumps(body).encode()
    answer.headers.update(headers or {})
    return requests.HTTPError(what, response=answer)


def test_translate_maps_status_and_body_to_our_errors():
    gone = zoom.translate(error_answer(404, {"code": 3001, "message": "Meeting 1 is not found or has expired."}))
    assert isinstance(gone, NotFound) and gone.status == 404
    assert str(gone) == "zoom: get meeting 1: Meeting 1 is not found or has expired. (HTTP 404, code 3001)"
    assert isinstance(zoom.translate(error_answer(409, {"code": 1005, "message": "User already exists."})), Conflict)
    limited = zoom.translate(error_answer(429, {"code": 429, "message": RATE_MESSAGE}, {"Retry-After": "1"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 1.0
    tomorrow = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")  # a daily limit's form
    daily = zoom.translate(error_answer(429, {"code": 429, "message": "daily"}, {"Retry-After": tomorrow}))
    assert isinstance(daily, RateLimited) and 7000 < daily.retry_after <= 7200
    down = zoom.translate(error_answer(502, {"code": 502, "message": "Bad gateway"}))
    assert isinstance(down, Transient) and down.status == 502
    bad = zoom.translate(error_answer(400, {"code": 300, "message": "Validation Failed.",
                                            "errors": [{"field": "topic", "message": "Too long"}]}))
    assert isinstance(bad, InvalidInput) and "topic: Too long" in str(bad)
    oauth = {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}  # the token endpoint's form
    refused = zoom.translate(error_answer(401, oauth, what="token request refused"))
    assert isinstance(refused, InvalidInput) and refused.status == 401 and "invalid_client" in str(refused)
    assert isinstance(zoom.translate(requests.ConnectionError("refused")), Transient)
    other = KeyError("not the vendor's")
    assert zoom.translate(other) is other


@pytest.mark.parametrize(
    ("field", "value"),
    [("topic", "x" * 201), ("type", 5), ("start_time", "2031-05-06 10:00"), ("start_time", "06/05/2031"),
     ("password", "has space"), ("password", "elevenchars"), ("agenda", "a" * 2001), ("timezone", "Mars/Olympus")],
)
def test_validation_errors(raw, field, value):
    r = raw.post("/users/me/meetings", json={"topic": "Valid topic", "type": 2, field: value})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == 300 and body["message"]
    if field != "password":
        assert body["errors"][0]["field"] == field


def test_integration_error_mapping(zm):
    with pytest.raises(InvalidInput) as bad:
        zm.create_meeting("me", "x" * 201, at(2), 30)
    assert bad.value.status == 400 and "topic" in str(bad.value)
    with pytest.raises(NotFound):
        zm.create_meeting("nobody@nowhere.example", unique("Orphan"), at(2), 30)
    with pytest.raises(NotFound):
        zm.get_meeting(89_999_999_999)
    with pytest.raises(ValueError):
        zm.create_meeting("me", unique("Naive"), datetime(2031, 1, 1, 9, 0), 30)
    with pytest.raises(ValueError):
        zm.update_meeting(1)


# --- retries and rate limits


def test_rate_limit_headers_and_429(vendor_limits, raw):
    vendor_limits.configure(rate_limits="vendor", time_scale=1.0)  # the real per-second window
    ok = raw.get("/users/me")
    assert ok.headers["X-RateLimit-Category"] == "Light" and ok.headers["X-RateLimit-Limit"] == "4"
    refused = None
    for _ in range(40):
        r = raw.get("/users/me")
        if r.status_code == 429:
            refused = r
            break
    assert refused is not None, "Light is 4 per second"
    assert refused.json() == {"code": 429, "message": RATE_MESSAGE}
    h = refused.headers
    assert (h["X-RateLimit-Category"], h["X-RateLimit-Type"], h["X-RateLimit-Limit"], h["X-RateLimit-Remaining"]) == (
        "Light", "QPS", "4", "0")
    assert int(h["Retry-After"]) >= 1
    medium = raw.get("/users/me/meetings")
    assert medium.headers["X-RateLimit-Category"] == "Medium" and medium.headers["X-RateLimit-Limit"] == "2"


def test_burst_beyond_limit_waits_and_succeeds(vendor_limits, zm):
    vendor_limits.configure(rate_limits="vendor", time_scale=1.0)  # the real per-second window
    m = zm.create_meeting("me", unique("Burst"), at(6), 30)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=12) as pool:
        got = list(pool.map(lambda _: zm.get_meeting(m.id), range(12)))
    assert [g.id for g in got] == [m.id] * 12
    assert time.monotonic() - started >= 0.9  # at least one Retry-After (1 s) was honoured


def test_rate_limited_maps_to_rate_limited(monkeypatch, faults, zm):
    monkeypatch.setattr(retry, "call", functools.partial(retry.call, attempts=1))
    faults("zoom", rate_limit=1.0)
    with pytest.raises(RateLimited) as exc:
        zm.get_meeting(1)
    assert exc.value.retry_after == 1.0


def test_server_errors(monkeypatch, faults, zm, raw, quick_retries):
    m = zm.create_meeting("me", unique("Faulty"), at(7), 30)
    gets = counting(monkeypatch, zm._client.meeting, "get")
    creates = counting(monkeypatch, zm._client.meeting, "create")
    faults("zoom", server_error=1.0)

    r = raw.get(f"/meetings/{m.id}")
    assert r.status_code == 500 and r.json()["code"] == 500
    with pytest.raises(Transient) as exc:
        zm.get_meeting(m.id)
    assert exc.value.status == 500 and len(gets) == retry.MAX_ATTEMPTS  # idempotent: retried
    with pytest.raises(Transient):
        zm.create_meeting("me", unique("Not retried"), at(8), 30)
    assert len(creates) == 1  # a plain create is not retried on 5xx

    faults("zoom", unavailable=1.0)
    with pytest.raises(Transient) as exc:
        zm.get_meeting(m.id)
    assert exc.value.status == 503


# --- pagination


def test_list_meetings_paginates(zm, raw, colleague):
    topics = [unique(f"Session {i}") for i in range(5)]
    created = [zm.create_meeting(colleague, t, at(10 + i), 15) for i, t in enumerate(topics)]
    listed = list(zm.list_meetings(colleague, page_size=2))  # 3 pages
    assert [m.id for m in listed] == [m.id for m in created]  # ordered by start time
    assert listed[0].start_url is None and listed[0].join_url == created[0].join_url

    page1 = raw.get(f"/users/{colleague}/meetings", params={"type": "scheduled", "page_size": 2}).json()
    assert (page1["total_records"], page1["page_count"], page1["page_size"]) == (5, 3, 2)
    assert len(page1["meetings"]) == 2 and page1["next_page_token"]
    validate_swagger("zoom", page1, "/users/{userId}/meetings", "get", 200, patch=LIST_PATCH)
    page3 = raw.get(f"/users/{colleague}/meetings",
                    params={"page_size": 2, "next_page_token": page1["next_page_token"]})
    assert page3.json()["meetings"][0]["id"] == created[2].id
    capped = raw.get(f"/users/{colleague}/meetings", params={"page_size": 1000}).json()
    assert capped["page_size"] == 300 and capped["next_page_token"] == ""
    bad = raw.get(f"/users/{colleague}/meetings", params={"next_page_token": "garbage"})
    assert bad.status_code == 400 and bad.json()["code"] == 300
    upcoming = raw.get(f"/users/{colleague}/meetings", params={"type": "upcoming"}).json()
    assert upcoming["total_records"] == 5
