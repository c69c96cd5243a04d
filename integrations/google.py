"""Google Drive, Forms, Gmail and Calendar for the SOP, on google-api-python-client 2.202.

``connect(credentials, root_url=None)`` builds the four services and returns them as
``GoogleServices`` (``Drive``, ``Forms``, ``Gmail``, ``Calendar``): the operations the SOP needs,
answering frozen dataclasses (``DriveFile``, ``Form``, ``FormResponse``, ``SentMessage``, ``Event``,
each built by its ``from_api``). Against the sandbox (``root_url`` given) each service is built from
the discovery document bundled with the SDK with its ``rootUrl`` replaced by the sandbox root: the
SDK then derives every URL (JSON calls and ``/upload/...``) from it in plain http.
(``client_options.api_endpoint`` would keep https for uploads and is ignored by batch — CONTRACTS.md
§3.) Against Google the untouched documents are used.

Budgets: every request first takes a slot of the worker's per-user budget for its API
(``budget.google``: Drive, Gmail send and read, Calendar, Forms read and write), chosen by the
request's method and URL.

Errors: ``translate`` maps the SDK's ``HttpError`` (status and ``errors[0].reason``; a 403
``rateLimitExceeded`` is a rate limit) and socket/httplib2 transport errors to ``integrations.errors``.

Retries: the SDK retries only with ``execute(num_retries=N)`` and ignores Retry-After, so
``execute()`` runs with no retries and ``integrations.retry`` decides (429 always, honouring
Retry-After; 5xx only for idempotent calls).
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from functools import cache
from importlib import resources
from typing import Any, TypeVar

import google_auth_httplib2
import httplib2
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest, MediaInMemoryUpload, build_http

from . import budget, calls
from .errors import Conflict, IntegrationError, InvalidInput, MissingScope, NotFound, RateLimited, Transient

T = TypeVar("T")
VENDOR = "google"
FOLDER = "application/vnd.google-apps.folder"
DOC = "application/vnd.google-apps.document"
_RATE_REASONS = ("rateLimitExceeded", "userRateLimitExceeded")

# --- results: frozen dataclasses, each built from the API's answer (a dict) by its from_api


@dataclass(frozen=True)
class DriveFile:
    id: str
    name: str
    mime_type: str
    parents: tuple[str, ...] = ()
    web_view_link: str | None = None
    trashed: bool = False
    app_properties: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, f: dict[str, Any]) -> DriveFile:
        return cls(f["id"], f.get("name", ""), f.get("mimeType", ""), tuple(f.get("parents", [])),
                   f.get("webViewLink"), bool(f.get("trashed", False)), dict(f.get("appProperties", {})))


@dataclass(frozen=True)
class Form:
    id: str
    title: str
    responder_uri: str
    revision_id: str
    question_ids: Mapping[str, str]  # question title -> questionId

    @classmethod
    def from_api(cls, f: dict[str, Any]) -> Form:
        ids = {it.get("title", ""): it["questionItem"]["question"]["questionId"]
               for it in f.get("items", []) if "questionItem" in it}
        return cls(f["formId"], f.get("info", {}).get("title", ""), f.get("responderUri", ""),
                   f.get("revisionId", ""), ids)


@dataclass(frozen=True)
class FormResponse:
    id: str
    submitted: str
    respondent_email: str | None
    answers: Mapping[str, tuple[str, ...]]  # questionId -> values

    @classmethod
    def from_api(cls, r: dict[str, Any]) -> FormResponse:
        answers = {qid: tuple(a.get("value", "") for a in ans.get("textAnswers", {}).get("answers", []))
                   for qid, ans in r.get("answers", {}).items()}
        return cls(r["responseId"], r.get("lastSubmittedTime", r.get("createTime", "")),
                   r.get("respondentEmail"), answers)


@dataclass(frozen=True)
class SentMessage:
    id: str
    thread_id: str
    message_id: str | None = None  # the RFC 2822 Message-ID header
    skipped: bool = False  # True when an earlier run had already sent it

    @classmethod
    def from_api(cls, m: dict[str, Any], *, message_id: str | None = None, skipped: bool = False) -> SentMessage:
        return cls(m["id"], m["threadId"], message_id, skipped)


@dataclass(frozen=True)
class Event:
    id: str
    status: str
    summary: str
    start: str
    end: str
    html_link: str
    meet_link: str | None
    attendees: Mapping[str, str]  # email -> responseStatus
    recurrence: tuple[str, ...] = ()
    location: str = ""

    @classmethod
    def from_api(cls, e: dict[str, Any]) -> Event:
        def when(t):
            return t.get("dateTime") or t.get("date", "")

        return cls(e["id"], e.get("status", ""), e.get("summary", ""), when(e.get("start", {})),
                   when(e.get("end", {})), e.get("htmlLink", ""), e.get("hangoutLink"),
                   {a["email"]: a.get("responseStatus", "needsAction") for a in e.get("attendees", [])},
                   tuple(e.get("recurrence", [])), e.get("location", ""))


# --- connect


def sandbox_credentials() -> Credentials:
    """A bearer token the sandbox accepts (it checks only that one is sent)."""
    return Credentials(token="sandbox-token")


SCOPES = (
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/forms.body",
    "https://www.googleapis.com/auth/forms.responses.readonly",
    "https://www.googleapis.com/auth/gmail.send",
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/calendar.events",
)


def service_account_credentials(info_json: str, subject: str | None = None):
    """Live credentials: a service account (JSON key) acting as ``subject`` by domain-wide delegation."""
    from google.oauth2 import service_account

    creds = service_account.Credentials.from_service_account_info(json.loads(info_json), scopes=SCOPES)
    return creds.with_subject(subject) if subject else creds


def root_from_sandbox_urls(urls: Mapping[str, str]) -> str:
    """The sandbox's Google root (``http://h:P/google/``) from ``SandboxServer.urls``."""
    return urls["gmail"].rstrip("/") + "/"  # gmail's SDK URL is exactly root + "/google/"


@cache
def _discovery(api: str, version: str) -> dict[str, Any]:
    path = resources.files("googleapiclient") / "discovery_cache" / "documents" / f"{api}.{version}.json"
    return json.loads(path.read_text())


def _document(api: str, version: str, root_url: str | None) -> dict[str, Any]:
    doc = dict(_discovery(api, version))
    if root_url is not None:
        doc["rootUrl"] = root_url
        doc["mtlsRootUrl"] = root_url  # never switch to Google's mTLS host in sandbox mode
    return doc


TOKENINFO_URL = "https://oauth2.googleapis.com/tokeninfo"  # [doc: developers.google.com/identity/protocols/oauth2]


class _HttpPool:
    """Authorised httplib2 clients lent out one request at a time: httplib2.Http is not thread-safe,
    and a pool (unlike one per thread) keeps connections open when steps run in short-lived threads.

    A connection left idle past ``IDLE_CLOSE`` seconds is closed before its next request: servers
    drop idle keep-alive connections (uvicorn after 5 s), and httplib2 does not retry a request
    whose send hits a dropped connection (a broken pipe)."""

    IDLE_CLOSE = 4.0

    def __init__(self, credentials: Credentials, timeout: float) -> None:
        self._credentials = credentials
        self._timeout = timeout
        self.tokeninfo_url = TOKENINFO_URL
        self._idle: list[tuple[float, google_auth_httplib2.AuthorizedHttp]] = []  # most recent last
        self._lock = threading.Lock()

    def _new(self) -> google_auth_httplib2.AuthorizedHttp:
        raw = build_http()
        raw.timeout = self._timeout
        return google_auth_httplib2.AuthorizedHttp(self._credentials, http=raw)

    @contextmanager
    def lend(self) -> Iterator[google_auth_httplib2.AuthorizedHttp]:
        with self._lock:
            since, http = self._idle.pop() if self._idle else (time.monotonic(), self._new())
        if time.monotonic() - since > self.IDLE_CLOSE:
            for conn in http.http.connections.values():
                conn.close()  # reopened by httplib2 on the next request
        try:
            yield http
        finally:
            with self._lock:
                self._idle.append((time.monotonic(), http))


@dataclass(frozen=True)
class GoogleServices:
    drive: Drive
    forms: Forms
    gmail: Gmail
    calendar: Calendar


def connect(credentials: Credentials, root_url: str | None = None, *, timeout: float = 30.0) -> GoogleServices:
    """The four clients; ``root_url`` is the sandbox's ``http://h:P/google/``, None for Google itself."""
    http = _HttpPool(credentials, timeout)
    http.tokeninfo_url = f"{root_url}oauth2/v3/tokeninfo" if root_url else TOKENINFO_URL

    def build(api: str, version: str):
        with http.lend() as h:  # the service keeps it as its default; every request names its own
            return build_from_document(_document(api, version, root_url), http=h)

    mailbox = "me"
    return GoogleServices(
        drive=Drive(build("drive", "v3"), http),
        forms=Forms(build("forms", "v1"), http),
        gmail=Gmail(build("gmail", "v1"), http, user_id=mailbox),
        calendar=Calendar(build("calendar", "v3"), http),
    )


# --- errors


def _error_reason(exc: HttpError) -> tuple[str, str]:
    """(reason of errors[0] or the status, message) from a Google error body."""
    try:
        err = json.loads(exc.content.decode("utf-8"))["error"]
        errors = err.get("errors") or [{}]
        return errors[0].get("reason") or err.get("status", ""), err.get("message", "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", exc.reason or ""


def translate(exc: Exception) -> Exception:
    """``exc`` as the ``integrations.errors`` exception it means (by status and ``errors[0].reason``;
    socket and httplib2 errors are Transient); any other exception is returned unchanged."""
    if isinstance(exc, HttpError):
        status = exc.status_code
        reason, message = _error_reason(exc)
        if status == 429 or (status == 403 and reason in _RATE_REASONS):
            after = exc.resp.get("retry-after")
            return RateLimited(VENDOR, message, retry_after=float(after) if after else None, status=status)
        if status == 403 and reason == "insufficientPermissions":
            return MissingScope(VENDOR, f"{reason}: {message}", status=status)
        if status >= 500:
            return Transient(VENDOR, f"{status} {message}", status=status)
        if status in (404, 410):
            return NotFound(VENDOR, message, status=status)
        if status == 409:
            return Conflict(VENDOR, message, status=status)
        if status in (400, 412, 413, 422):
            return InvalidInput(VENDOR, f"{reason}: {message}", status=status)
        return IntegrationError(VENDOR, f"{status} {reason}: {message}", status=status)
    if isinstance(exc, RefreshError) and "unauthorized_client" in str(exc):
        # the token exchange of domain-wide delegation: a scope not allowed in the Admin console
        return MissingScope(VENDOR, f"unauthorized_client: the Admin console does not allow this client every "
                                    f"scope it asks for ({', '.join(SCOPES)})", needed=SCOPES, status=401)
    if isinstance(exc, (TimeoutError, socket.timeout, ConnectionError, httplib2.HttpLib2Error, OSError)):
        return Transient(VENDOR, f"{type(exc).__name__}: {exc}")
    return exc


# --- the clients


class _Api:
    """What the four services share: their SDK service, the http pool, and ``_call``."""

    page_size: int | None = None  # None: the API's maximum page; tests lower it to exercise paging

    def __init__(self, service: Any, http: _HttpPool) -> None:
        self._service = service
        self._http = http
        self._resources: dict[tuple[str, ...], Any] = {}

    def _resource(self, *path: str) -> Any:
        """A resource of the service (``files``, ``users.messages``), built once: the SDK builds every
        method of a resource again on each access. Requests name their http, so threads can share it."""
        resource = self._resources.get(path)
        if resource is None:
            resource = self._service
            for name in path:
                resource = getattr(resource, name)()
            self._resources[path] = resource
        return resource

    def _call(self, request: Callable[[], HttpRequest], *, idempotent: bool) -> Any:
        """One SDK request, built by ``request`` (afresh each attempt: an upload's stream is read once):
        a slot of the worker's budget, the request, its errors through ``translate``, retried per ``retry``."""
        # the slot is taken in _execute, not by calls.call: its bucket depends on the built request's URL
        return calls.call(lambda: self._execute(request()), idempotent=idempotent, slot=nullcontext,
                          translate=translate)

    def _execute(self, request: HttpRequest) -> Any:
        with budget.google(request.method, request.uri), self._http.lend() as http:
            return request.execute(http=http, num_retries=0)  # no SDK retries: retry.call decides

    def granted_scopes(self) -> set[str]:
        """The scopes of the token the four services use (Google's tokeninfo endpoint)."""
        def fetch() -> dict[str, Any]:
            with self._http.lend() as http:
                if not http.credentials.valid:
                    http.credentials.refresh(google_auth_httplib2.Request(http.http))
                resp, content = http.http.request(f"{self._http.tokeninfo_url}?access_token={http.credentials.token}")
            if resp.status != 200:
                raise HttpError(resp, content, uri=self._http.tokeninfo_url)
            return json.loads(content)

        return set(str(calls.call(fetch, idempotent=True, slot=nullcontext, translate=translate)
                       .get("scope") or "").split())


def _pages(fetch: Callable[[str | None], dict[str, Any]], key: str) -> Iterable[dict[str, Any]]:
    token: str | None = None
    while True:
        page = fetch(token)
        yield from page.get(key, [])
        token = page.get("nextPageToken")
        if not token:
            return


def _quote(value: str) -> str:
    """A string literal for Drive's ``q`` (backslash and quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# -- Drive

_FILE_FIELDS = "id,name,mimeType,parents,webViewLink,trashed,appProperties"


class Drive(_Api):
    """Folders and Google Docs for a client, found again by ``appProperties`` on re-runs."""

    def __init__(self, service: Any, http: _HttpPool) -> None:
        super().__init__(service, http)
        self._no_google_account: set[str] = set()  # addresses Drive invites only with its own email

    def find_by_app_properties(self, props: Mapping[str, str], *, mime_type: str | None = None) -> list[DriveFile]:
        """Files (not trashed) carrying every ``props`` key/value, oldest first."""
        terms = [f"appProperties has {{ key={_quote(k)} and value={_quote(str(v))} }}" for k, v in props.items()]
        terms.append("trashed = false")
        if mime_type:
            terms.append(f"mimeType = {_quote(mime_type)}")
        return self._list(" and ".join(terms))

    def _list(self, query: str) -> list[DriveFile]:
        def fetch(token):
            return self._call(lambda: self._resource("files").list(
                q=query, pageSize=self.page_size or 1000, pageToken=token,
                fields=f"nextPageToken,files({_FILE_FIELDS})"), idempotent=True)

        return [DriveFile.from_api(f) for f in _pages(fetch, "files")]

    def find_or_create_folder(self, name: str, parent_id: str | None = None,
                              app_properties: Mapping[str, str] | None = None) -> DriveFile:
        """The folder tagged with ``app_properties`` (or named ``name`` in the parent), else a new one."""
        if app_properties:
            found = self.find_by_app_properties(app_properties, mime_type=FOLDER)
        else:
            parent = f"{_quote(parent_id or 'root')} in parents"
            found = self._list(f"name = {_quote(name)} and mimeType = {_quote(FOLDER)} and {parent} "
                               "and trashed = false")
        return found[0] if found else self.create_folder(name, parent_id, app_properties)

    def create_folder(self, name: str, parent_id: str | None = None,
                      app_properties: Mapping[str, str] | None = None) -> DriveFile:
        """A new folder (a plain create, not retried on 5xx: the caller's lookup finds one that was made)."""
        body: dict[str, Any] = {"name": name, "mimeType": FOLDER, "appProperties": dict(app_properties or {})}
        if parent_id:
            body["parents"] = [parent_id]
        return DriveFile.from_api(self._call(lambda: self._resource("files").create(body=body, fields=_FILE_FIELDS),
                                            idempotent=False))

    def upload_document(self, name: str, parent_id: str | None, html_or_text: str,
                        app_properties: Mapping[str, str], mime: str = "text/html") -> DriveFile:
        """A Google Doc converted from ``html_or_text``; the existing one when ``app_properties`` match."""
        found = self.find_by_app_properties(app_properties, mime_type=DOC)
        if found:
            return found[0]
        body: dict[str, Any] = {"name": name, "mimeType": DOC, "appProperties": dict(app_properties)}
        if parent_id:
            body["parents"] = [parent_id]
        data = html_or_text.encode("utf-8")

        def request():  # a fresh media object per attempt: an upload stream is consumed once
            media = MediaInMemoryUpload(data, mimetype=mime, resumable=False)
            return self._resource("files").create(body=body, media_body=media, fields=_FILE_FIELDS)

        return DriveFile.from_api(self._call(request, idempotent=False))

    def upload_file(self, name: str, parent_id: str | None, data: bytes, mime: str,
                    app_properties: Mapping[str, str]) -> DriveFile:
        """A file kept as it is (a PDF, not converted to a Doc); the existing one when ``app_properties`` match."""
        found = self.find_by_app_properties(app_properties)
        if found:
            return found[0]
        body: dict[str, Any] = {"name": name, "mimeType": mime, "appProperties": dict(app_properties)}
        if parent_id:
            body["parents"] = [parent_id]

        def request():  # a fresh media object per attempt: an upload stream is consumed once
            media = MediaInMemoryUpload(data, mimetype=mime, resumable=False)
            return self._resource("files").create(body=body, media_body=media, fields=_FILE_FIELDS)

        return DriveFile.from_api(self._call(request, idempotent=False))

    def get(self, file_id: str) -> DriveFile:
        """One file's metadata; NotFound when it does not exist."""
        return DriveFile.from_api(self._call(lambda: self._resource("files").get(fileId=file_id, fields=_FILE_FIELDS),
                                            idempotent=True))

    def export_text(self, file_id: str, mime: str = "text/plain") -> str:
        """A Google Doc exported as text (BOM and CRLF normalised) or HTML."""
        data = self._call(lambda: self._resource("files").export(fileId=file_id, mimeType=mime), idempotent=True)
        text = data.decode("utf-8") if isinstance(data, bytes) else str(data)
        return text.lstrip("\ufeff").replace("\r\n", "\n")

    def export_pdf(self, file_id: str) -> bytes:
        """A Google Doc exported as PDF bytes."""
        return self._call(lambda: self._resource("files").export(fileId=file_id, mimeType="application/pdf"),
                         idempotent=True)

    def share(self, file_id: str, email: str, role: str = "reader", notify: bool = False) -> bool:
        """Give ``email`` ``role`` on the file; False (nothing done) when it already has that role. An address
        with no Google account gets Drive's own invitation email (Drive refuses it without one)."""
        perms = self._permissions(file_id)
        if any(p.get("emailAddress", "").lower() == email.lower() and p.get("role") == role for p in perms):
            return False
        body = {"type": "user", "role": role, "emailAddress": email}

        def create(send: bool) -> None:
            # creating the same user permission twice yields one grant: safe to retry on 5xx
            self._call(lambda: self._resource("permissions").create(
                fileId=file_id, body=body, sendNotificationEmail=send, fields="id"), idempotent=True)

        if email.lower() in self._no_google_account:
            notify = True  # learnt below: the silent share would be refused again
        try:
            create(notify)
        except IntegrationError as exc:
            if "shareOutNotPermitted" in exc.detail:  # the domain's policy: only its administrator can change it
                raise IntegrationError(VENDOR, f"shareOutNotPermitted: the Workspace domain does not let Drive share "
                                       f"outside it, so {email} cannot open the document. An administrator allows it "
                                       "(Admin console → Apps → Google Workspace → Drive and Docs → Sharing "
                                       "settings → Sharing outside of the domain, or an allowlist of trusted "
                                       "domains); then Retry the run", status=exc.status) from exc
            if not isinstance(exc, InvalidInput):
                raise
            # an address with no Google account is invited only with Drive's own email [CONTRACTS §6]:
            # share with it, so every client can open the link the run's email gives them
            if notify or "invalidSharingRequest" not in exc.detail:
                raise
            self._no_google_account.add(email.lower())
            create(True)
        return True

    def _permissions(self, file_id: str) -> list[dict[str, Any]]:
        def fetch(token):
            return self._call(lambda: self._resource("permissions").list(
                fileId=file_id, pageSize=self.page_size or 100, pageToken=token,
                fields="nextPageToken,permissions(id,type,role,emailAddress)"), idempotent=True)

        return list(_pages(fetch, "permissions"))

    def move(self, file_id: str, new_parent_id: str) -> DriveFile:
        """Move a file into ``new_parent_id`` (from whatever parents it has)."""
        current = self.get(file_id)
        if current.parents == (new_parent_id,):
            return current
        return DriveFile.from_api(self._call(lambda: self._resource("files").update(
            fileId=file_id, addParents=new_parent_id, removeParents=",".join(current.parents),
            fields=_FILE_FIELDS, body={}), idempotent=True))

    def trash(self, file_id: str) -> DriveFile:
        """Move a file to the trash (Drive keeps it 30 days)."""
        return DriveFile.from_api(self._call(lambda: self._resource("files").update(
            fileId=file_id, body={"trashed": True}, fields=_FILE_FIELDS), idempotent=True))

    def list_children(self, folder_id: str) -> list[DriveFile]:
        """Everything (not trashed) directly inside a folder, across all pages."""
        return self._list(f"{_quote(folder_id)} in parents and trashed = false")


# -- Forms


def _question(q: Mapping[str, Any]) -> dict[str, Any]:
    kind = q.get("kind", "text")
    body: dict[str, Any] = {"required": bool(q.get("required", False))}
    if kind in ("text", "paragraph"):
        body["textQuestion"] = {"paragraph": kind == "paragraph"}
    elif kind == "choice":
        body["choiceQuestion"] = {"type": q.get("choice_type", "RADIO"),
                                  "options": [{"value": str(o)} for o in q.get("options", [])]}
    elif kind == "scale":
        low, high = q.get("options") or (1, 5)
        body["scaleQuestion"] = {"low": int(low), "high": int(high)}
    else:
        raise InvalidInput(VENDOR, f"unknown question kind {kind!r}")
    return {"title": q["title"], "questionItem": {"question": body}}


class Forms(_Api):
    """Intake forms: create with questions, read back, collect responses."""

    def create_form(self, title: str, document_title: str, questions: list[Mapping[str, Any]],
                    *, collect_emails: bool = False) -> Form:
        """A form with ``questions`` ({title, kind: text|paragraph|choice|scale, options?, required}).

        Three calls, as the API demands: create (title only), one batchUpdate adding the items, and
        setPublishSettings (a form created through the API after 30 June 2026 is unpublished: nobody
        could answer it). ``collect_emails`` makes responses carry respondentEmail (Forms omits it otherwise).
        """
        created = self._call(lambda: self._resource("forms").create(
            body={"info": {"title": title, "documentTitle": document_title}}), idempotent=False)
        requests: list[dict[str, Any]] = [
            {"createItem": {"item": _question(q), "location": {"index": i}}} for i, q in enumerate(questions)]
        if collect_emails:
            requests.append({"updateSettings": {"settings": {"emailCollectionType": "RESPONDER_INPUT"},
                                                "updateMask": "emailCollectionType"}})
        body = {"requests": requests, "includeFormInResponse": True,
                "writeControl": {"requiredRevisionId": created["revisionId"]}}
        # requiredRevisionId makes a retry after a lost answer fail instead of adding items twice
        result = self._call(lambda: self._resource("forms").batchUpdate(formId=created["formId"], body=body),
                           idempotent=True)
        published = {"publishSettings": {"publishState": {"isPublished": True, "isAcceptingResponses": True}},
                     "updateMask": "publishState"}
        self._call(lambda: self._resource("forms").setPublishSettings(formId=created["formId"], body=published),
                   idempotent=True)
        return Form.from_api(result.get("form") or created)

    def get_form(self, form_id: str) -> Form:
        """The form with its questions; NotFound when it does not exist."""
        return Form.from_api(self._call(lambda: self._resource("forms").get(formId=form_id), idempotent=True))

    def responses(self, form_id: str, since: datetime | str | None = None) -> list[FormResponse]:
        """Every response (submitted after ``since`` when given), across all pages."""
        flt = None
        if since is not None:
            stamp = since if isinstance(since, str) else since.isoformat().replace("+00:00", "Z")
            flt = f"timestamp > {stamp}"

        def fetch(token):
            return self._call(lambda: self._resource("forms", "responses").list(
                formId=form_id, filter=flt, pageSize=self.page_size, pageToken=token), idempotent=True)

        return [FormResponse.from_api(r) for r in _pages(fetch, "responses")]


# -- Gmail


class Gmail(_Api):
    """Sends the SOP's emails from the connected mailbox."""

    def __init__(self, service: Any, http: _HttpPool, user_id: str = "me") -> None:
        super().__init__(service, http)
        self._user = user_id
        self._identities: tuple[str, set[str]] | None = None

    def send(self, to: str | Iterable[str], subject: str, html: str, text: str | None = None,
             cc: Iterable[str] = (), sender: str | None = None, message_id: str | None = None) -> SentMessage:
        """Send an HTML email (with a text alternative). With ``message_id``, the email carries a reference
        at its foot (``reference``) and a re-run that finds it in the sent mail sends nothing (idempotent;
        Gmail may replace the Message-ID itself [CONTRACTS §6], never the body). A ``sender`` that is not
        a verified send-as alias of the mailbox becomes its Reply-To (Gmail would replace the From)."""
        ref = None
        if message_id:
            message_id = message_id if message_id.startswith("<") else f"<{message_id}>"
            ref = reference(message_id)
            found = self.list_sent(f'"{ref}"')
            if found:
                return SentMessage.from_api(found[0], message_id=message_id, skipped=True)
        msg = EmailMessage()
        msg["To"] = to if isinstance(to, str) else ", ".join(to)
        cc = list(cc)
        if cc:
            msg["Cc"] = ", ".join(cc)
        if sender:
            mailbox, aliases = self.identities()
            if parseaddr(sender)[1].lower() in aliases:
                msg["From"] = sender
            else:
                msg["From"] = mailbox
                msg["Reply-To"] = sender
        msg["Subject"] = subject
        msg["Message-ID"] = message_id or make_msgid()
        msg.set_content((text or _html_to_text(html)) + (f"\n\nRef: {ref}\n" if ref else ""))
        msg.add_alternative(html + (f'<p style="color:#888;font-size:11px">Ref: {ref}</p>' if ref else ""),
                            subtype="html")
        raw = base64.urlsafe_b64encode(msg.as_bytes()).decode()
        # not retried on 5xx: the mail may have gone out (with message_id, a re-run is safe)
        sent = self._call(lambda: self._resource("users", "messages").send(userId=self._user, body={"raw": raw}),
                         idempotent=False)
        return SentMessage.from_api(sent, message_id=msg["Message-ID"])

    def identities(self) -> tuple[str, set[str]]:
        """(the mailbox's own address, every address it may send as: itself and its verified send-as
        aliases), read once per client (``users.settings.sendAs.list``)."""
        if self._identities is None:
            rows = self._call(lambda: self._resource("users", "settings", "sendAs").list(userId=self._user),
                              idempotent=True).get("sendAs", [])
            primary = next((r["sendAsEmail"] for r in rows if r.get("isPrimary")), "")
            self._identities = (primary, {r["sendAsEmail"].lower() for r in rows
                                          if r.get("isPrimary") or r.get("verificationStatus") == "accepted"})
        return self._identities

    def list_sent(self, query: str = "") -> list[dict[str, str]]:
        """``[{id, threadId}]`` of sent messages matching a Gmail search, across all pages."""
        q = f"in:sent {query}".strip()

        def fetch(token):
            return self._call(lambda: self._resource("users", "messages").list(
                userId=self._user, q=q, pageToken=token, maxResults=self.page_size or 500), idempotent=True)

        return [{"id": m["id"], "threadId": m["threadId"]} for m in _pages(fetch, "messages")]

    def get_message(self, message_id: str) -> dict[str, Any]:
        """One message's headers (``{name: value}``) and snippet, by Gmail id."""
        m = self._call(lambda: self._resource("users", "messages").get(
            userId=self._user, id=message_id, format="metadata"), idempotent=True)
        return {"id": m["id"], "threadId": m["threadId"], "snippet": m.get("snippet", ""),
                "headers": {h["name"]: h["value"] for h in m.get("payload", {}).get("headers", [])}}


def reference(message_id: str) -> str:
    """The short reference an email carries at its foot, derived from its Message-ID (one word for search)."""
    import hashlib

    return "ref" + hashlib.sha256(message_id.encode()).hexdigest()[:16]


def _html_to_text(html: str) -> str:
    import html as htmllib
    import re

    # keep links readable in the text part: <a href="u">label</a> -> "label (u)"
    text = re.sub(r'(?is)<a\s[^>]*href="([^"]+)"[^>]*>(.*?)</a>', r"\2 (\1)", html)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</h[1-6]>", "\n", text)
    return htmllib.unescape(re.sub(r"<[^>]+>", "", text)).strip()


# -- Calendar


def _same_event(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether the event already says what ``wanted`` says (times compared as instants)."""
    def instant(t: dict[str, Any]) -> datetime | None:
        return datetime.fromisoformat(t["dateTime"]) if t and t.get("dateTime") else None

    return (current.get("status") != "cancelled"
            and all(current.get(k) == wanted.get(k) for k in ("summary", "description", "location", "recurrence"))
            and instant(current.get("start", {})) == instant(wanted["start"])
            and instant(current.get("end", {})) == instant(wanted["end"])
            and sorted(a["email"] for a in current.get("attendees", []))
            == sorted(a["email"] for a in wanted["attendees"]))


def event_id_for(*parts: str) -> str:
    """A deterministic Calendar event id (base32hex, 5-1024 chars) for a business key."""
    import hashlib

    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return base64.b32hexencode(digest).decode().lower().rstrip("=")


class Calendar(_Api):
    """Kick-off and check-in meetings with clients, upserted by a deterministic id."""

    def upsert_event(self, calendar_id: str, event_id: str, summary: str, description: str,
                     start: datetime, end: datetime, timezone: str, attendees: Iterable[str],
                     location: str | None = None, recurrence: Iterable[str] | None = None,
                     send_updates: str = "all", meet: bool = True) -> Event:
        """Create the event with ``event_id``; if it exists (409), patch it to these values instead."""
        body: dict[str, Any] = {
            "summary": summary,
            "description": description,
            "start": {"dateTime": start.isoformat(), "timeZone": timezone},
            "end": {"dateTime": end.isoformat(), "timeZone": timezone},
            "attendees": [{"email": a} for a in attendees],
        }
        if location:
            body["location"] = location
        if recurrence:
            body["recurrence"] = list(recurrence)
        insert_body = {**body, "id": event_id}
        if meet:
            insert_body["conferenceData"] = {"createRequest": {
                "requestId": f"meet-{event_id}", "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
        try:
            # an insert with a client id is idempotent: a retry after a lost answer gets 409
            created = self._call(lambda: self._resource("events").insert(
                calendarId=calendar_id, body=insert_body, sendUpdates=send_updates,
                conferenceDataVersion=1), idempotent=True)
            return Event.from_api(created)
        except Conflict:
            pass
        current = self._call(lambda: self._resource("events").get(calendarId=calendar_id, eventId=event_id),
                            idempotent=True)
        if _same_event(current, body):  # a re-run: nothing changed, so no update mail to attendees
            return Event.from_api(current)
        patch = {**body, "status": "confirmed"}  # also revives a cancelled event with this id
        return Event.from_api(self._call(lambda: self._resource("events").patch(
            calendarId=calendar_id, eventId=event_id, body=patch, sendUpdates=send_updates), idempotent=True))

    def get_event(self, calendar_id: str, event_id: str) -> Event:
        """One event (cancelled ones too); NotFound when it never existed."""
        return Event.from_api(self._call(lambda: self._resource("events").get(
            calendarId=calendar_id, eventId=event_id), idempotent=True))

    def delete_event(self, calendar_id: str, event_id: str, send_updates: str = "all") -> bool:
        """Cancel an event; False when it was already gone (deleted or never created)."""
        try:
            self._call(lambda: self._resource("events").delete(
                calendarId=calendar_id, eventId=event_id, sendUpdates=send_updates), idempotent=True)
            return True
        except NotFound:
            return False

    def list_events(self, calendar_id: str, time_min: datetime, time_max: datetime) -> list[Event]:
        """Single (expanded) events overlapping [time_min, time_max), by start time, across all pages."""
        def fetch(token):
            return self._call(lambda: self._resource("events").list(
                calendarId=calendar_id, timeMin=time_min.isoformat(), timeMax=time_max.isoformat(),
                singleEvents=True, orderBy="startTime", pageToken=token, maxResults=self.page_size or 250),
                idempotent=True)

        return [Event.from_api(e) for e in _pages(fetch, "items")]
