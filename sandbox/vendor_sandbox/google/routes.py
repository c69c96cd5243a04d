"""Google under ``/google``: Drive v3, Forms v1, Gmail v1 and Calendar v3 as their discovery documents say.

The integration builds each service from the bundled discovery document with ``rootUrl`` set to
``http://h:P/google/``, so every URL the SDK derives (JSON, ``/upload/...``) lands here in plain http.
Thin routes: parse the request, call the backend, serialise in Google's shape.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from vendor_sandbox.core.limits import Rule, Verdict
from vendor_sandbox.core.vendor import SandboxVendor, VendorError, atomic, html_table

from . import errors, respondent, scopes
from .backend import GoogleBackend
from .common import apply_fields, parse_fields, public
from .drive import LIST_DEFAULT, PERM_DEFAULT, PERM_LIST_DEFAULT, doc_text, parse_multipart
from .gmail import decode_raw

# Documented per-user quotas (developers.google.com/<api>/api/limits | quota pages):
DRIVE_RULE = Rule(12_000, 60, "drive: 12,000 queries / 60 s / user")
GMAIL_SEND_RULE = Rule(2, 1, "gmail: 250 quota units / s / user; messages.send = 100 units")
GMAIL_RULE = Rule(50, 1, "gmail: 250 quota units / s / user; messages.get/list = 5 units")
CALENDAR_RULE = Rule(600, 60, "calendar: 600 queries / minute / user")
FORMS_READ_RULE = Rule(390, 60, "forms: 390 read requests / minute / user")
FORMS_WRITE_RULE = Rule(150, 60, "forms: 150 write requests / minute / user")


async def require_bearer(request: Request) -> None:
    """Google refuses a request without an OAuth bearer token (any token is accepted here), and one whose
    token holds none of the scopes the method accepts."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        raise errors.login_required()
    route = getattr(request.scope.get("route"), "path", "").removeprefix("/google")
    method = scopes.ROUTES.get((request.method, route))
    if method and request.app.state.ctx.scopes.lacks("google", scopes.METHOD_SCOPES[method]):
        raise errors.insufficient_scopes()


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise errors.gerror(400, "Invalid JSON payload received.", "parseError") from None
    if not isinstance(body, dict):
        raise errors.gerror(400, "Invalid JSON payload received. Expected an object.", "parseError")
    return body


async def media_request(request: Request) -> tuple[dict[str, Any], tuple[bytes, str] | None]:
    """Metadata and media of a ``/upload/...`` request (uploadType=multipart or media)."""
    kind = request.query_params.get("uploadType")
    ctype = request.headers.get("content-type", "application/octet-stream")
    body = await request.body()
    if kind == "multipart":
        return parse_multipart(ctype, body)
    if kind == "media":
        return {}, (body, ctype.split(";")[0].strip())
    if kind == "resumable":
        raise errors.bad_request("uploadType=resumable is not emulated by the sandbox; use multipart.", "uploadType")
    raise errors.bad_request("Upload requests must include an uploadType URL parameter and a URL path beginning "
                      "with /upload/", "uploadType", reason="wrongUrlForUpload")


def q(request: Request, name: str) -> str | None:
    return request.query_params.get(name)


class FormAnswers(BaseModel):
    answers: dict[str, str | list[str]]
    respondentEmail: str | None = None  # noqa: N815 (Google's spelling)


class InviteAnswer(BaseModel):
    email: str
    responseStatus: str  # noqa: N815


class GoogleVendor(SandboxVendor):
    name = "google"
    prefix = "/google"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.backend = GoogleBackend(self.db, ctx)
        ctx.scopes.offer(self.name, scopes.OFFERED)

    @classmethod
    def sdk_urls(cls, root: str) -> dict[str, str]:
        return {
            "drive": root + "/google/drive/v3/",
            "forms": root + "/google/",
            "gmail": root + "/google/",
            "calendar": root + "/google/calendar/v3/",
        }

    def seed(self, team: list[dict[str, str]]) -> None:
        self.backend.seed(team)

    # --- limits and failures ----------------------------------------------------------------------

    def rate_rule(self, request: Request) -> tuple[str, Rule] | None:
        path = request.url.path[len(self.prefix):]
        token = request.headers.get("authorization", "")
        user = hashlib.sha256(token.encode()).hexdigest()[:12]  # the bucket is per user (per token)
        if "/drive/v3/" in path:
            return f"drive:{user}", DRIVE_RULE
        if path.startswith(("/gmail/", "/upload/gmail/")):
            if path.endswith("/messages/send"):
                return f"gmail-send:{user}", GMAIL_SEND_RULE
            return f"gmail:{user}", GMAIL_RULE
        if path.startswith("/calendar/"):
            return f"calendar:{user}", CALENDAR_RULE
        if path.startswith("/v1/forms"):
            if request.method == "GET":
                return f"forms-read:{user}", FORMS_READ_RULE
            return f"forms-write:{user}", FORMS_WRITE_RULE
        return None

    def rate_limited(self, verdict: Verdict) -> Response:
        return errors.rate_limited(verdict.retry_after_header).response()

    def server_error(self, status: int) -> Response:
        return errors.server_error(status).response()

    # --- the API ----------------------------------------------------------------------------------

    def router(self) -> APIRouter:  # noqa: C901 (one small handler per endpoint)
        r = APIRouter(dependencies=[Depends(require_bearer)])
        b = self.backend
        drive, forms, gmail, cal = (atomic(x, self.db) for x in (b.drive, b.forms, b.gmail, b.calendar))

        # Drive v3
        @r.post("/drive/v3/files")
        async def drive_create(request: Request):
            row = drive.create(await json_body(request))
            return drive.render(row, q(request, "fields"))

        @r.post("/upload/drive/v3/files")
        async def drive_upload(request: Request):
            meta, media = await media_request(request)
            return drive.render(drive.create(meta, media), q(request, "fields"))

        @r.get("/drive/v3/files")
        def drive_list(request: Request):
            files, nxt = drive.list(q(request, "q"), q(request, "pageSize"), q(request, "pageToken"),
                                    q(request, "orderBy"))
            out: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False,
                                   "files": [public(f) for f in files]}
            if nxt:
                out["nextPageToken"] = nxt
            fields = q(request, "fields")
            return apply_fields(out, parse_fields(fields) if fields is not None else LIST_DEFAULT)

        @r.get("/drive/v3/files/{file_id}")
        def drive_get(file_id: str, request: Request):
            if q(request, "alt") == "media":
                raise errors.gerror(403, "Only files with binary content can be downloaded. Use Export with Docs "
                                         "Editors files.", "fileNotDownloadable", location="alt")
            return drive.render(drive.get(file_id), q(request, "fields"))

        @r.patch("/drive/v3/files/{file_id}")
        async def drive_update(file_id: str, request: Request):
            row = drive.update(file_id, await json_body(request), q(request, "addParents"), q(request, "removeParents"))
            return drive.render(row, q(request, "fields"))

        @r.patch("/upload/drive/v3/files/{file_id}")
        async def drive_update_media(file_id: str, request: Request):
            meta, media = await media_request(request)
            row = drive.update(file_id, meta, q(request, "addParents"), q(request, "removeParents"), media)
            return drive.render(row, q(request, "fields"))

        @r.get("/drive/v3/files/{file_id}/export")
        def drive_export(file_id: str, request: Request):
            data, ctype = drive.export(file_id, q(request, "mimeType"))
            return Response(data, media_type=ctype)

        @r.post("/drive/v3/files/{file_id}/permissions")
        async def permission_create(file_id: str, request: Request):
            perm = drive.create_permission(file_id, await json_body(request), q(request, "sendNotificationEmail"),
                                           q(request, "transferOwnership"), q(request, "emailMessage"))
            fields = q(request, "fields")
            return apply_fields(perm, parse_fields(fields) if fields is not None else PERM_DEFAULT)

        @r.get("/drive/v3/files/{file_id}/permissions")
        def permission_list(file_id: str, request: Request):
            perms, nxt = drive.list_permissions(file_id, q(request, "pageSize"), q(request, "pageToken"))
            out: dict[str, Any] = {"kind": "drive#permissionList", "permissions": perms}
            if nxt:
                out["nextPageToken"] = nxt
            fields = q(request, "fields")
            return apply_fields(out, parse_fields(fields) if fields is not None else PERM_LIST_DEFAULT)

        # Forms v1
        @r.post("/v1/forms")
        async def form_create(request: Request):
            return forms.create(await json_body(request))

        @r.post("/v1/forms/{form_id}:batchUpdate")
        async def form_batch_update(form_id: str, request: Request):
            return forms.batch_update(form_id, await json_body(request))

        @r.post("/v1/forms/{form_id}:setPublishSettings")
        async def form_publish(form_id: str, request: Request):
            return forms.set_publish_settings(form_id, await json_body(request))

        @r.get("/v1/forms/{form_id}")
        def form_get(form_id: str):
            return forms.get(form_id)

        @r.get("/v1/forms/{form_id}/responses")
        def form_responses(form_id: str, request: Request):
            rows, nxt = forms.list_responses(form_id, q(request, "filter"), q(request, "pageSize"),
                                             q(request, "pageToken"))
            out: dict[str, Any] = {}
            if rows:
                out["responses"] = rows  # proto3 JSON: an empty list is omitted, so {} when none
            if nxt:
                out["nextPageToken"] = nxt
            return out

        @r.get("/v1/forms/{form_id}/responses/{response_id}")
        def form_response(form_id: str, response_id: str):
            return forms.get_response(form_id, response_id)

        # Gmail v1
        @r.post("/gmail/v1/users/{user_id}/messages/send")
        async def gmail_send(user_id: str, request: Request):
            body = await json_body(request)
            if not body.get("raw"):
                raise errors.gerror(400, "'raw' RFC822 payload message string or uploading message via /upload/* URL "
                                  "required", "invalidArgument")
            return gmail.send(user_id, decode_raw(body["raw"]))

        @r.post("/upload/gmail/v1/users/{user_id}/messages/send")
        async def gmail_send_upload(user_id: str, request: Request):
            _, media = await media_request(request)
            if media is None or not media[0]:
                raise errors.gerror(400, "Media type '' is not supported. Valid media types: [message/*]", "badContent")
            if not media[1].startswith("message/"):
                raise errors.gerror(400, f"Media type '{media[1]}' is not supported. Valid media types: [message/*]",
                             "badContent")
            return gmail.send(user_id, media[0])

        @r.get("/gmail/v1/users/{user_id}/messages")
        def gmail_list(user_id: str, request: Request):
            msgs, nxt, total = gmail.list(user_id, q(request, "q"), q(request, "maxResults"), q(request, "pageToken"),
                                          request.query_params.getlist("labelIds"))
            out: dict[str, Any] = {}
            if msgs:
                out["messages"] = msgs
            if nxt:
                out["nextPageToken"] = nxt
            out["resultSizeEstimate"] = total
            return out

        @r.get("/gmail/v1/users/{user_id}/messages/{msg_id}")
        def gmail_get(user_id: str, msg_id: str, request: Request):
            return gmail.get(user_id, msg_id, q(request, "format"), request.query_params.getlist("metadataHeaders"))

        @r.get("/gmail/v1/users/{user_id}/settings/sendAs")
        def gmail_send_as(user_id: str):
            return {"sendAs": gmail.send_as(user_id)}

        # Calendar v3
        @r.post("/calendar/v3/calendars/{calendar_id}/events")
        async def event_insert(calendar_id: str, request: Request):
            cal.require_access(calendar_id)
            return cal.insert(calendar_id, await json_body(request), q(request, "sendUpdates"),
                              q(request, "conferenceDataVersion"))

        @r.get("/calendar/v3/calendars/{calendar_id}/events")
        def event_list(calendar_id: str, request: Request):
            cal.require_access(calendar_id)
            return cal.list(calendar_id, dict(request.query_params))

        @r.get("/calendar/v3/calendars/{calendar_id}/events/{event_id}")
        def event_get(calendar_id: str, event_id: str):
            cal.require_access(calendar_id)
            return cal.get(calendar_id, event_id)

        @r.patch("/calendar/v3/calendars/{calendar_id}/events/{event_id}")
        async def event_patch(calendar_id: str, event_id: str, request: Request):
            cal.require_access(calendar_id)
            return cal.patch(calendar_id, event_id, await json_body(request), q(request, "sendUpdates"),
                             q(request, "conferenceDataVersion"))

        @r.delete("/calendar/v3/calendars/{calendar_id}/events/{event_id}", status_code=204)
        def event_delete(calendar_id: str, event_id: str, request: Request):
            cal.require_access(calendar_id)
            cal.delete(calendar_id, event_id, q(request, "sendUpdates"))
            return Response(status_code=204)

        outer = APIRouter()
        outer.include_router(r)

        @outer.get("/oauth2/v3/tokeninfo")
        def tokeninfo(request: Request):
            """What an access token may do: its scopes, space-separated, as Google's tokeninfo endpoint
            answers [doc: developers.google.com/identity/protocols/oauth2 "tokeninfo"]."""
            if not q(request, "access_token"):
                return JSONResponse({"error": "invalid_request", "error_description": "Invalid Value"}, 400)
            granted = " ".join(scopes.url(s) for s in self.ctx.scopes.granted("google"))
            return {"azp": "sandbox", "aud": "sandbox", "scope": granted, "expires_in": "3599",
                    "email": b.calendar.me, "email_verified": "true", "access_type": "online"}

        @outer.post("/oauth2/token")
        async def token(request: Request):
            """Google's OAuth token endpoint for a service account's signed JWT (``token_uri`` of its
            key file): an access token for the assertion; the signature is not checked here."""
            form = await request.form()
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                grant = form.get("grant_type") or ""
                return errors.oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant}").response()
            assertion = str(form.get("assertion") or "")
            if assertion.count(".") != 2:
                return errors.oauth_error("invalid_grant", "Invalid JWT.").response()
            digest = hashlib.sha256(assertion.encode()).hexdigest()[:32]
            return {"access_token": f"ya29.sandbox-{digest}", "expires_in": 3599, "token_type": "Bearer"}

        return outer

    # --- people: respondents and attendees -----------------------------------------------------------

    def people_router(self) -> APIRouter:
        r = APIRouter()
        b = atomic(self.backend, self.db)

        @r.post("/forms/{form_id}/responses", status_code=201)
        def fill_form(form_id: str, body: FormAnswers):
            """A client submits the form: answers keyed by question id or question title."""
            return b.forms.submit(form_id, body.answers, body.respondentEmail)

        @r.post("/calendars/{calendar_id}/events/{event_id}/respond")
        def answer_invite(calendar_id: str, event_id: str, body: InviteAnswer):
            """An attendee accepts, declines or tentatively accepts an invitation."""
            return b.calendar.respond(calendar_id, event_id, body.email, body.responseStatus)

        @r.post("/admin/send-as/{email}")
        def add_send_as(email: str):
            """The administrator's step: ``email`` a verified send-as alias of the delegated mailbox."""
            return b.gmail.add_alias(email, email.partition("@")[0].title())

        @r.post("/admin/calendars/{email}/share")
        def share_calendar(email: str):
            """The administrator's step (or the colleague's own): share ``email``'s calendar with the
            delegated user, with "Make changes to events"."""
            return b.calendar.share_with_me(email)

        # the same two in a browser, from the sandbox page
        @r.get("/forms/{form_id}/respond", response_class=HTMLResponse)
        def form_page(form_id: str) -> str:
            row = self.backend.forms._form(form_id)
            return respondent.form_page(row, self.backend.forms.questions(row))

        @r.post("/forms/{form_id}/respond", response_class=HTMLResponse)
        async def submit_form_page(form_id: str, request: Request) -> Response:
            answers, email = respondent.parse_answers(await request.body())
            try:
                b.forms.submit(form_id, answers, email)
            except VendorError as exc:  # shown above the form, what was typed kept, as Google shows it
                row = self.backend.forms._form(form_id)
                values = {**answers, "respondentEmail": [email or ""]}
                page = respondent.form_page(row, self.backend.forms.questions(row), values=values,
                                            error=respondent.refusal(exc.body))
                return HTMLResponse(page, status_code=400)
            return HTMLResponse(respondent.recorded_page(self.backend.forms._form(form_id)["info"].get("title", "")))

        @r.post("/calendars/{calendar_id}/events/{event_id}/answer")
        async def answer_invite_page(calendar_id: str, event_id: str, request: Request) -> Response:
            fields = parse_qs((await request.body()).decode())
            b.calendar.respond(calendar_id, event_id, fields["email"][0], fields["responseStatus"][0])
            return RedirectResponse("/", status_code=303)

        return r

    # --- inspection -------------------------------------------------------------------------------

    def html(self) -> str:
        files = [{"name": f["name"], "id": f["id"],
                  "mimeType": f["mimeType"].replace("application/vnd.google-apps.", "g:"),
                  "parents": ",".join(f.get("parents", [])), "trashed": f["trashed"],
                  "appProperties": f.get("appProperties", {}),
                  "text": doc_text(f["_source"]) if "_source" in f else ""} for f in self.db.list("file")]
        perms = [{"file": p["_file"], "type": p["type"], "role": p["role"], "email": p.get("emailAddress", "")}
                 for p in self.db.list("permission") if p["role"] != "owner"]
        forms_rows = [{"title": f["info"].get("title", ""), "formId": f["formId"], "revision": f["revisionId"],
                       "questions": [it.get("title", "") for it in f["items"]], "responderUri": f["responderUri"]}
                      for f in self.db.list("form")]
        responses = [{"form": r["formId"], "submitted": r["lastSubmittedTime"], "email": r.get("respondentEmail", ""),
                      "answers": {k: [a["value"] for a in v["textAnswers"]["answers"]]
                                  for k, v in r["answers"].items()}}
                     for r in self.db.list("form_response")]
        mails = []
        for m in self.db.list("message"):
            msg = self.backend.gmail._message(m)
            mails.append({"id": m["id"], "to": str(msg.get("To", "")), "cc": str(msg.get("Cc", "")),
                          "subject": str(msg.get("Subject", "")), "message-id": str(msg.get("Message-ID", "")),
                          "text": m.get("_text") or m.get("_html") or ""})
        events = [{"calendar": e["_calendar"], "id": e["id"], "status": e["status"], "summary": e.get("summary", ""),
                   "start": e["start"], "attendees": {a["email"]: a["responseStatus"] for a in e.get("attendees", [])},
                   "meet": e.get("hangoutLink", ""), "recurrence": e.get("recurrence", [])}
                  for e in self.db.list("event")]
        return "".join([
            respondent.pending_actions(self.db),
            html_table("Drive files", files, ["name", "mimeType", "id", "parents", "trashed", "appProperties", "text"]),
            html_table("Drive shares", perms, ["file", "email", "role", "type"]),
            html_table("Drive share emails", self.db.list("share_notification"), None),
            html_table("Forms", forms_rows, None),
            html_table("Form responses", responses, None),
            html_table("Gmail sent", mails, ["id", "to", "cc", "subject", "message-id", "text"]),
            html_table("Calendar events", events, None),
            html_table("Calendar emails", self.db.list("calendar_notification"), None),
        ]) or f"<p>{htmllib.escape('no Google objects yet')}</p>"
