"""Contract tests: the Google integration (Drive, Forms, Gmail, Calendar) through the official SDK
against the sandbox, with response bodies checked against the bundled discovery documents."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httplib2
import httpx
import pytest
from googleapiclient.errors import HttpError

from integrations import google as g
from integrations import retry
from integrations.errors import Conflict, IntegrationError, InvalidInput, MissingScope, NotFound, RateLimited, Transient

from .google_discovery import DiscoveryValidationError, validate

_n = itertools.count()


def uniq(prefix: str) -> str:
    """A name no other test in the session uses (the sandbox is shared and not reset)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}-{next(_n)}"


@pytest.fixture(scope="module")
def google(sandbox) -> g.GoogleServices:
    return g.connect(g.sandbox_credentials(), root_url=g.root_from_sandbox_urls(sandbox.urls))


@pytest.fixture
def no_backoff(monkeypatch):
    """Retry back-off without waiting; counts the back-offs (one per retried 5xx)."""
    calls: list[int] = []
    monkeypatch.setattr(retry, "backoff", lambda attempt, *a, **k: calls.append(attempt) or 0.0)
    return calls


def raw(api: g._Api, request) -> dict:
    """One raw SDK answer (the body as sent), through the same error mapping."""
    return api._call(lambda: request, idempotent=True)


QUESTIONS = [
    {"title": "Company name", "kind": "text", "required": True},
    {"title": "Goals", "kind": "paragraph"},
    {"title": "Team size", "kind": "choice", "options": ["1-10", "11-50", "51+"], "required": True},
    {"title": "Urgency", "kind": "scale", "options": (1, 5)},
]


def _slot(days: int) -> tuple[datetime, datetime]:
    start = datetime(2031, 3, 3, 10, 0, tzinfo=UTC) + timedelta(days=days)
    return start, start + timedelta(minutes=45)


# --- connect


def test_sdk_urls_and_root(sandbox):
    urls = sandbox.urls
    assert urls["drive"] == sandbox.root + "/google/drive/v3/"
    assert urls["calendar"] == sandbox.root + "/google/calendar/v3/"
    assert urls["gmail"] == urls["forms"] == sandbox.root + "/google/"
    assert g.root_from_sandbox_urls(urls) == sandbox.root + "/google/"


def test_uploads_go_to_the_sandbox_over_http(google, sandbox):
    media = g.MediaInMemoryUpload(b"x", "text/plain")
    method = google.drive._service.files().create(body={"name": "x"}, media_body=media)
    assert method.uri.startswith(sandbox.root + "/google/upload/drive/v3/files?")
    assert "alt=json" in method.uri


def test_a_send_after_the_server_dropped_an_idle_connection_goes_out(sandbox):
    """uvicorn (like most servers) closes a keep-alive connection idle for 5 s; the next request on it
    would hit a broken pipe, and a send is not retried (it may have happened). The pool closes a
    connection idle for longer than ``IDLE_CLOSE`` first, so the send goes out on a fresh one."""
    import time

    gmail = g.connect(g.sandbox_credentials(), root_url=g.root_from_sandbox_urls(sandbox.urls)).gmail
    first = gmail.send("idle@client.example", "before the pause", "<p>one</p>")
    time.sleep(5.5)
    second = gmail.send("idle@client.example", "after the pause", "<p>two</p>")
    assert first.id != second.id


# --- operations


def test_validator_can_fail():
    with pytest.raises(DiscoveryValidationError, match="int64"):
        validate("drive.v3", "File", {"id": "x", "size": "12kB"})
    with pytest.raises(DiscoveryValidationError, match="not in the schema"):
        validate("gmail.v1", "Message", {"id": "x", "invented": True})


def test_get_without_fields_returns_drive_defaults(google):
    folder = google.drive.find_or_create_folder(uniq("plain"))
    body = raw(google.drive, google.drive._service.files().get(fileId=folder.id))
    assert set(body) == {"kind", "id", "name", "mimeType"}


def test_upload_document_converts_and_exports(google):
    folder = google.drive.find_or_create_folder(uniq("docs"))
    props = {"doc": uniq("welcome")}
    doc = google.drive.upload_document("Welcome pack", folder.id,
                                       "<h1>Welcome</h1><p>Fish &amp; chips</p>", props)
    assert doc.mime_type == g.DOC
    assert doc.parents == (folder.id,)
    assert doc.web_view_link == f"https://docs.google.com/document/d/{doc.id}/edit"
    assert google.drive.upload_document("Welcome pack", folder.id, "<p>other</p>", props) == doc
    assert google.drive.export_text(doc.id) == "Welcome\nFish & chips"
    exported = google.drive.export_text(doc.id, "text/html")
    assert "<p>Fish &amp; chips</p>" in exported and exported.startswith("<html>")
    pdf = google.drive.export_pdf(doc.id)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF") and b"(Fish & chips) Tj" in pdf
    raw_text = raw(google.drive, google.drive._service.files().export(fileId=doc.id, mimeType="text/plain"))
    assert raw_text.startswith("\ufeff".encode())  # Drive's export carries a BOM; export_text strips it


def test_query_language(google):
    folder = google.drive.find_or_create_folder(uniq("q"))
    tag = uniq("t")
    google.drive.upload_document("HelloWorld report", folder.id, "x", {"tag": tag}, mime="text/plain")
    svc = google.drive._service.files()

    def names(q):
        return sorted(f["name"] for f in raw(google.drive, svc.list(q=q, fields="files(name)"))["files"])

    inside = f"'{folder.id}' in parents"
    assert names(f"{inside} and name contains 'Hello'") == ["HelloWorld report"]
    assert names(f"{inside} and name contains 'World'") == []  # prefix match only, as Drive does
    assert names(f"{inside} and (name = 'nope' or appProperties has {{ key='tag' and value='{tag}' }})") == [
        "HelloWorld report"]
    assert names(f"{inside} and not mimeType = 'application/vnd.google-apps.document'") == []
    with pytest.raises(InvalidInput, match="invalid"):
        raw(google.drive, svc.list(q="name = unquoted"))


def test_share_move_trash(google):
    a = google.drive.find_or_create_folder(uniq("a"))
    b = google.drive.find_or_create_folder(uniq("b"))
    doc = google.drive.upload_document("Plan", a.id, "plan", {"plan": uniq("p")}, mime="text/plain")
    email = f"{uniq('client')}@client.example"
    assert google.drive.share(doc.id, email) is True
    assert google.drive.share(doc.id, email) is False  # already has it: nothing sent
    perms = raw(google.drive, google.drive._service.permissions().list(fileId=doc.id, fields="*"))
    validate("drive.v3", "PermissionList", perms)
    assert {(p["emailAddress"], p["role"]) for p in perms["permissions"]} >= {(email, "reader")}
    assert any(p["role"] == "owner" for p in perms["permissions"])
    moved = google.drive.move(doc.id, b.id)
    assert moved.parents == (b.id,)
    assert google.drive.list_children(a.id) == []
    trashed = google.drive.trash(doc.id)
    assert trashed.trashed is True
    assert google.drive.list_children(b.id) == []
    listed = raw(google.drive, google.drive._service.files().list(q=f"'{b.id}' in parents", fields="files(id)"))
    assert listed["files"] == [{"id": doc.id}]  # without trashed = false, Drive lists trashed files


def test_create_form_and_collect_responses(google, sandbox):
    form = google.forms.create_form(uniq("Intake"), "Acme intake", QUESTIONS, collect_emails=True)
    assert list(form.question_ids) == [q["title"] for q in QUESTIONS]
    assert form.responder_uri.startswith("https://docs.google.com/forms/d/e/1FAIpQL")
    assert google.forms.get_form(form.id) == form
    body = raw(google.forms, google.forms._service.forms().get(formId=form.id))
    validate("forms.v1", "Form", body)
    assert body["items"][2]["questionItem"]["question"]["choiceQuestion"]["type"] == "RADIO"

    before = datetime.now(UTC) - timedelta(seconds=1)
    url = f"{sandbox.root}/_sandbox/google/forms/{form.id}/responses"
    for i in range(3):
        r = httpx.post(url, json={"answers": {"Company name": f"Acme {i}", "Team size": "11-50",
                                              form.question_ids["Urgency"]: str(i + 2)},
                                  "respondentEmail": f"c{i}@client.example"})
        assert r.status_code == 201, r.text
    google.forms.page_size = 2
    try:
        responses = google.forms.responses(form.id)
    finally:
        google.forms.page_size = None
    assert [r.answers[form.question_ids["Company name"]] for r in responses] == [("Acme 0",), ("Acme 1",), ("Acme 2",)]
    assert responses[0].respondent_email == "c0@client.example"
    assert len(google.forms.responses(form.id, since=before)) == 3
    assert google.forms.responses(form.id, since=datetime.now(UTC) + timedelta(hours=1)) == []
    listed = raw(google.forms, google.forms._service.forms().responses().list(formId=form.id, pageSize=2))
    validate("forms.v1", "ListFormResponsesResponse", listed)
    one = raw(google.forms, google.forms._service.forms().responses().get(
        formId=form.id, responseId=responses[1].id))
    validate("forms.v1", "FormResponse", one)


def test_form_without_email_collection_hides_respondent(google, sandbox):
    form = google.forms.create_form(uniq("Quick"), "Quick", [{"title": "Q", "kind": "text"}])
    r = httpx.post(f"{sandbox.root}/_sandbox/google/forms/{form.id}/responses",
                   json={"answers": {"Q": "a"}, "respondentEmail": "x@client.example"})
    assert r.status_code == 201
    assert google.forms.responses(form.id)[0].respondent_email is None


def test_meet_link_ignored_without_conference_data_version(google):
    start, end = _slot(300)
    ev = raw(google.calendar, google.calendar._service.events().insert(calendarId="primary", body={
        "summary": "x", "start": {"dateTime": start.isoformat()}, "end": {"dateTime": end.isoformat()},
        "conferenceData": {"createRequest": {"requestId": uniq("r")}}}))
    assert "conferenceData" not in ev and "hangoutLink" not in ev


# --- idempotency


def test_folder_find_or_create_is_idempotent(google):
    key = {"client": uniq("acme")}
    first = google.drive.find_or_create_folder("Acme Ltd", app_properties=key)
    again = google.drive.find_or_create_folder("Acme Ltd", app_properties=key)
    assert again == first
    assert first.mime_type == g.FOLDER
    assert first.web_view_link == f"https://drive.google.com/drive/folders/{first.id}"
    assert google.drive.find_by_app_properties(key) == [first]
    body = raw(google.drive, google.drive._service.files().get(fileId=first.id, fields="*"))
    validate("drive.v3", "File", body)
    assert body["appProperties"] == key and body["kind"] == "drive#file"


def test_send_is_idempotent_with_message_id(google):
    mid = f"{uniq('welcome')}@onboard.example"
    to = f"{uniq('c')}@client.example"
    sent = google.gmail.send(to, "Welcome aboard", "<p>Hello <b>there</b></p>", cc=["am@sandbox.example"],
                             message_id=mid)
    assert sent.skipped is False and sent.message_id == f"<{mid}>"
    again = google.gmail.send(to, "Welcome aboard", "<p>Hello <b>there</b></p>", message_id=mid)
    assert again.skipped is True and again.id == sent.id
    assert google.gmail.list_sent(f"to:{to}") == [{"id": sent.id, "threadId": sent.thread_id}]
    meta = google.gmail.get_message(sent.id)
    assert meta["headers"]["Subject"] == "Welcome aboard"
    assert meta["headers"]["Cc"] == "am@sandbox.example"
    assert meta["headers"]["From"] == "admin@sandbox.example"  # Gmail fills From with the mailbox
    assert meta["snippet"] == f"Hello there Ref: {g.reference(f'<{mid}>')}"  # the reference re-runs look for
    svc = google.gmail._service.users().messages()
    full = raw(google.gmail, svc.get(userId="me", id=sent.id))
    validate("gmail.v1", "Message", full)
    assert full["payload"]["mimeType"] == "multipart/alternative"
    html_part = full["payload"]["parts"][1]
    assert base64.urlsafe_b64decode(html_part["body"]["data"]).decode().strip().startswith("<p>Hello <b>there</b></p>")
    raw_msg = raw(google.gmail, svc.get(userId="me", id=sent.id, format="raw"))
    validate("gmail.v1", "Message", raw_msg)
    assert f"Message-ID: <{mid}>".encode() in base64.urlsafe_b64decode(raw_msg["raw"])


def test_a_long_message_id_folded_onto_its_own_line_is_still_found(google):
    """A Message-ID longer than a header line arrives folded (RFC 5322 2.2.3); Gmail's rfc822msgid:
    search unfolds it, so the second send with it sends nothing (it sent twice before the sandbox did)."""
    mid = f"reminder-client-s-answer-to-proposal-v1-{uuid.uuid4().hex[:6]}@testco-2af054b1.example"
    assert len(f"Message-ID: <{mid}>") > 78  # folded by Python's email package, as by most mailers
    to = f"{uniq('c')}@client.example"
    sent = google.gmail.send(to, "Reminder", "<p>Please answer</p>", message_id=mid)
    again = google.gmail.send(to, "Reminder", "<p>Please answer</p>", message_id=mid)
    assert again.skipped is True and again.id == sent.id


def test_upsert_event_inserts_then_patches(google, sandbox):
    eid = g.event_id_for("kickoff", uniq("client"))
    start, end = _slot(0)
    guest = f"{uniq('g')}@client.example"
    first = google.calendar.upsert_event("primary", eid, "Kick-off", "Agenda", start, end, "Europe/London", [guest])
    assert first.id == eid and first.status == "confirmed"
    assert first.meet_link and first.meet_link.startswith("https://meet.google.com/")
    assert first.attendees == {guest: "needsAction"}
    r = httpx.post(f"{sandbox.root}/_sandbox/google/calendars/primary/events/{eid}/respond",
                   json={"email": guest, "responseStatus": "accepted"})
    assert r.status_code == 200
    second = google.calendar.upsert_event("primary", eid, "Kick-off (moved)", "Agenda", *_slot(1), "Europe/London",
                                          [guest])
    assert second.summary == "Kick-off (moved)" and second.start.startswith("2031-03-04")
    assert second.attendees == {guest: "accepted"}  # the answer survives the patch
    assert second.meet_link == first.meet_link
    body = raw(google.calendar, google.calendar._service.events().get(calendarId="primary", eventId=eid))
    validate("calendar.v3", "Event", body)
    assert body["sequence"] == 1 and body["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"


def test_delete_cancel_and_revive(google):
    eid = g.event_id_for("checkin", uniq("client"))
    start, end = _slot(10)
    google.calendar.upsert_event("primary", eid, "Check-in", "", start, end, "UTC", [], send_updates="none")
    assert google.calendar.delete_event("primary", eid) is True
    assert google.calendar.delete_event("primary", eid) is False  # 410 deleted: already gone
    assert google.calendar.get_event("primary", eid).status == "cancelled"
    revived = google.calendar.upsert_event("primary", eid, "Check-in", "", start, end, "UTC", [], send_updates="none")
    assert revived.status == "confirmed"
    assert google.calendar.delete_event("primary", g.event_id_for("never", uniq("x"))) is False


# --- errors


def http_error(status: int, reason: str, message: str, headers: dict | None = None) -> HttpError:
    """The SDK's exception for an HTTP answer in Google's error format."""
    body = {"error": {"code": status, "message": message,
                      "errors": [{"domain": "global", "reason": reason, "message": message}]}}
    return HttpError(httplib2.Response({"status": status, **(headers or {})}), json.dumps(body).encode())


def test_translate_maps_status_and_reason_to_our_errors():
    gone = g.translate(http_error(404, "notFound", "File not found: x."))
    assert isinstance(gone, NotFound) and gone.status == 404 and gone.detail == "File not found: x."
    assert isinstance(g.translate(http_error(410, "deleted", "Resource has been deleted")), NotFound)
    assert isinstance(g.translate(http_error(409, "duplicate", "The requested identifier already exists.")), Conflict)
    limited = g.translate(http_error(429, "rateLimitExceeded", "Rate Limit Exceeded", {"retry-after": "7"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 7.0
    quota = g.translate(http_error(403, "userRateLimitExceeded", "User Rate Limit Exceeded"))
    assert isinstance(quota, RateLimited) and quota.status == 403 and quota.retry_after is None
    down = g.translate(http_error(503, "backendError", "Backend Error"))
    assert isinstance(down, Transient) and down.status == 503
    assert isinstance(g.translate(http_error(400, "invalid", "Invalid Value")), InvalidInput)
    denied = g.translate(http_error(403, "insufficientPermissions", "Insufficient Permission"))
    assert isinstance(denied, MissingScope) and denied.status == 403  # a missing scope is not the input's fault
    assert isinstance(g.translate(TimeoutError("timed out")), Transient)
    assert isinstance(g.translate(httplib2.ServerNotFoundError("no such host")), Transient)
    other = KeyError("not the vendor's")
    assert g.translate(other) is other


def test_request_without_bearer_is_401_google_shaped(sandbox):
    r = httpx.get(sandbox.root + "/google/drive/v3/files")
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == 401 and err["status"] == "UNAUTHENTICATED"
    assert err["errors"][0] == {"message": "Login Required.", "domain": "global", "reason": "required",
                                "location": "Authorization", "locationType": "header"}
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_drive_errors(google):
    with pytest.raises(NotFound, match="File not found: nope"):
        google.drive.get("nope")
    folder = google.drive.find_or_create_folder(uniq("err"))
    with pytest.raises(InvalidInput, match="Invalid email address"):
        google.drive.share(folder.id, "not-an-email")
    with pytest.raises(InvalidInput, match="role"):
        raw(google.drive, google.drive._service.permissions().create(
            fileId=folder.id, body={"type": "user", "role": "boss", "emailAddress": "x@y.example"}))


def test_drive_404_body_is_google_shaped(sandbox):
    r = httpx.get(sandbox.root + "/google/drive/v3/files/missing1", headers={"Authorization": "Bearer t"})
    assert r.status_code == 404
    assert r.json()["error"]["errors"][0] == {"message": "File not found: missing1.", "domain": "global",
                                              "reason": "notFound", "location": "fileId",
                                              "locationType": "parameter"}


def test_forms_errors(google, sandbox):
    svc = google.forms._service.forms()
    with pytest.raises(InvalidInput, match="INVALID_ARGUMENT"):
        raw(google.forms, svc.create(body={"info": {"title": "x"}, "items": [{"title": "q"}]}))
    created = raw(google.forms, svc.create(body={"info": {"title": uniq("F")}}))
    validate("forms.v1", "Form", created)
    reply = raw(google.forms, svc.batchUpdate(formId=created["formId"], body={
        "requests": [{"updateFormInfo": {"info": {"description": "d"}, "updateMask": "description"}}],
        "writeControl": {"requiredRevisionId": created["revisionId"]}}))
    validate("forms.v1", "BatchUpdateFormResponse", reply)
    with pytest.raises(InvalidInput, match="FAILED_PRECONDITION"):  # stale revision
        raw(google.forms, svc.batchUpdate(formId=created["formId"], body={
            "requests": [{"updateFormInfo": {"info": {"title": "t"}, "updateMask": "title"}}],
            "writeControl": {"requiredRevisionId": created["revisionId"]}}))
    with pytest.raises(NotFound):
        google.forms.get_form("missing-form")
    r = httpx.post(f"{sandbox.root}/_sandbox/google/forms/{created['formId']}/responses", json={"answers": {"x": "y"}})
    assert r.status_code == 400


def test_gmail_errors(google):
    svc = google.gmail._service.users().messages()
    with pytest.raises(InvalidInput, match="raw"):
        raw(google.gmail, svc.send(userId="me", body={}))
    with pytest.raises(InvalidInput, match="To"):
        no_to = base64.urlsafe_b64encode(b"Subject: x\r\n\r\nb").decode()
        raw(google.gmail, svc.send(userId="me", body={"raw": no_to}))
    with pytest.raises(NotFound):
        google.gmail.get_message("ffffffffffffffff")


def test_calendar_errors(google):
    svc = google.calendar._service.events()
    start, end = _slot(200)
    body = {"id": g.event_id_for("dup", uniq("d")), "summary": "x",
            "start": {"dateTime": start.isoformat()}, "end": {"dateTime": end.isoformat()}}
    raw(google.calendar, svc.insert(calendarId="primary", body=body))
    with pytest.raises(Conflict, match="already exists"):
        raw(google.calendar, svc.insert(calendarId="primary", body=body))
    with pytest.raises(InvalidInput, match="resource id"):
        raw(google.calendar, svc.insert(calendarId="primary", body={**body, "id": "UPPER_case"}))
    with pytest.raises(InvalidInput, match="time range"):
        raw(google.calendar, svc.insert(calendarId="primary", body={
            "summary": "x", "start": {"dateTime": end.isoformat()}, "end": {"dateTime": start.isoformat()}}))
    with pytest.raises(InvalidInput, match="ordering"):
        raw(google.calendar, svc.list(calendarId="primary", orderBy="startTime"))
    with pytest.raises(NotFound):
        google.calendar.get_event("primary", "nosuchevent0")


# --- retries and rate limits


def test_gmail_burst_waits_and_succeeds(google, vendor_limits, monkeypatch):
    """Six parallel sends against 2 sends/s/user: some get 429, all end up sent."""
    vendor_limits.configure(rate_limits="vendor", time_scale=1.0)  # the real per-second window
    limited: list[float | None] = []
    real_map = g.translate

    def counting(exc):
        mapped = real_map(exc)
        if isinstance(mapped, RateLimited):
            limited.append(mapped.retry_after)
        return mapped

    monkeypatch.setattr(g, "translate", counting)
    to = f"{uniq('burst')}@client.example"
    with ThreadPoolExecutor(6) as pool:  # the integration gives each thread its own http client
        sent = list(pool.map(lambda i: google.gmail.send(to, f"burst {i}", "<p>x</p>"), range(6)))
    assert len({s.id for s in sent}) == 6
    assert len(google.gmail.list_sent(f"to:{to}")) == 6
    assert limited and all(r is not None and r >= 1 for r in limited)  # waited the Retry-After


def test_raw_429_is_google_shaped(sandbox, vendor_limits):
    vendor_limits.configure(rate_limits="vendor", time_scale=1.0)
    url = sandbox.root + "/google/gmail/v1/users/me/messages/send"
    raw_msg = base64.urlsafe_b64encode(b"To: r@client.example\r\nSubject: r\r\n\r\nx").decode()
    with httpx.Client(headers={"Authorization": "Bearer burst"}) as client:
        answers = [client.post(url, json={"raw": raw_msg}) for _ in range(8)]
    limited = [r for r in answers if r.status_code == 429]
    assert limited, [r.status_code for r in answers]
    err = limited[0].json()["error"]
    assert err["code"] == 429 and err["status"] == "RESOURCE_EXHAUSTED"
    assert err["errors"][0]["reason"] == "rateLimitExceeded" and err["errors"][0]["domain"] == "usageLimits"
    assert int(limited[0].headers["retry-after"]) >= 1


def test_5xx_retried_for_reads_not_for_creates(google, faults, no_backoff):
    folder = google.drive.find_or_create_folder(uniq("faults"))
    faults("google", server_error=1.0)
    with pytest.raises(Transient, match="500"):
        google.drive.get(folder.id)
    assert len(no_backoff) == retry.MAX_ATTEMPTS - 1  # an idempotent read is retried
    no_backoff.clear()
    with pytest.raises(Transient):
        google.gmail._call(lambda: google.gmail._service.users().messages().send(
            userId="me", body={"raw": base64.urlsafe_b64encode(b"To: a@b.example\r\n\r\nx").decode()}),
            idempotent=False)
    assert no_backoff == []  # a plain create is not retried after a 5xx
    faults("google", unavailable=1.0)
    with pytest.raises(Transient, match="503"):
        google.calendar.get_event("primary", "whatever0")


# --- pagination


def test_plain_text_upload_and_children_over_pages(google):
    folder = google.drive.find_or_create_folder(uniq("many"))
    names = [f"note {i}" for i in range(5)]
    for i, name in enumerate(names):
        google.drive.upload_document(name, folder.id, f"line {i}", {"note": uniq("n")}, mime="text/plain")
    google.drive.page_size = 2
    try:
        children = google.drive.list_children(folder.id)
    finally:
        google.drive.page_size = None
    assert [c.name for c in children] == names
    page = raw(google.drive, google.drive._service.files().list(
        q=f"'{folder.id}' in parents", pageSize=2, fields="*"))
    validate("drive.v3", "FileList", page)
    assert len(page["files"]) == 2 and page["nextPageToken"]


def test_send_through_the_upload_endpoint_and_list_pages(google):
    subject = uniq("Upload subject")
    msg = (f"To: u@client.example\r\nSubject: {subject}\r\n\r\nplain body\r\n").encode()
    svc = google.gmail._service.users().messages()
    for _ in range(3):
        sent = raw(google.gmail, svc.send(userId="me", media_body=g.MediaInMemoryUpload(msg, "message/rfc822")))
        validate("gmail.v1", "Message", sent)
        assert sent["labelIds"] == ["SENT"]
    google.gmail.page_size = 2
    try:
        found = google.gmail.list_sent(f'subject:"{subject}"')
    finally:
        google.gmail.page_size = None
    assert len(found) == 3
    page = raw(google.gmail, svc.list(userId="me", q=f'subject:"{subject}"', maxResults=2))
    validate("gmail.v1", "ListMessagesResponse", page)
    assert page["nextPageToken"] and page["resultSizeEstimate"] == 3


def test_recurrence_and_list_over_pages(google):
    eid = g.event_id_for("weekly", uniq("client"))
    start, end = _slot(100)
    google.calendar.upsert_event("primary", eid, "Weekly sync", "", start, end, "Europe/Paris", ["a@client.example"],
                                 recurrence=["RRULE:FREQ=WEEKLY;COUNT=4"], send_updates="none", meet=False)
    google.calendar.page_size = 3
    try:
        events = google.calendar.list_events("primary", start - timedelta(hours=1), start + timedelta(days=60))
    finally:
        google.calendar.page_size = None
    mine = [e for e in events if e.id.startswith(eid + "_")]
    assert len(mine) == 4
    assert [e.start[:10] for e in mine] == ["2031-06-11", "2031-06-18", "2031-06-25", "2031-07-02"]
    assert google.calendar.get_event("primary", eid).recurrence == ("RRULE:FREQ=WEEKLY;COUNT=4",)
    page = raw(google.calendar, google.calendar._service.events().list(
        calendarId="primary", timeMin=start.isoformat(), singleEvents=True, maxResults=2))
    validate("calendar.v3", "Events", page)
    assert len(page["items"]) == 2 and page["nextPageToken"]
