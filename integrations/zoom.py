"""Zoom meetings for the SOP, on the official-community SDK ``zoomus`` (1.2.1).

``connect(account_id, client_id, client_secret, base_url=None, oauth_url=None)`` builds the zoomus
client (Server-to-Server OAuth), pointed at the sandbox when ``base_url``/``oauth_url`` are given and
at api.zoom.us / zoom.us/oauth otherwise, and returns a ``ZoomMeetings``: schedule, read, move, cancel
and list meetings, answering the frozen dataclass ``Meeting`` (built by ``Meeting.from_api``).
zoomus fetches its token once, in its constructor, and never refreshes it (tokens live 1 h): the
token is refreshed here shortly before it expires, and once on a 401 ``code 124``, then the call is
repeated. zoomus's ``date_to_str`` writes a datetime as ``...Z`` without converting it, so it is
always handed UTC datetimes (CONTRACTS.md §5).

Budgets: every call first takes a slot of the account's budget for the endpoint's rate-limit category
(``budget.zoom``: Light 4 / s, Medium 2 / s, Heavy 1 / s on a Free/Pro account).

Errors: zoomus never raises on an HTTP error (every call returns the ``requests.Response``), so
``_call`` raises an error answer as ``requests.HTTPError``; ``translate`` maps it (Zoom's
``{"code", "message"}``, or the OAuth endpoint's ``{"error", "reason"}``) and ``requests``' transport
errors to ``integrations.errors``.

Retries: zoomus has none of its own; ``integrations.retry`` is the only layer: 429 always (after
Retry-After, seconds or a timestamp), 5xx only for idempotent calls. Find-or-create is retried as a
whole.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from zoomus import ZoomClient
from zoomus.client import OAUTH_URI

from . import budget, calls, retry
from .errors import Conflict, IntegrationError, InvalidInput, MissingScope, NotFound, RateLimited, Transient

log = logging.getLogger(__name__)

VENDOR = "zoom"
# The Server-to-Server app's granular scopes the SOP needs, each with the classic scope an app made
# before 2024 holds instead (developers.zoom.us, each endpoint's "Scopes")
SCOPES = {
    "meeting:write:meeting:admin": "meeting:write:admin", "meeting:read:meeting:admin": "meeting:read:admin",
    "meeting:update:meeting:admin": "meeting:write:admin", "meeting:delete:meeting:admin": "meeting:write:admin",
    "meeting:read:list_meetings:admin": "meeting:read:admin", "user:read:user:admin": "user:read:admin",
}
TOKEN_MARGIN = 300.0  # refresh this many seconds before the token's announced expiry
DEFAULT_TTL = 3599.0  # what Zoom announces; zoomus's constructor does not tell us
PAGE_SIZE = 300  # Zoom's maximum: fewer calls against the MEDIUM per-second limit


# --- results: a frozen dataclass built from the API's answer (a dict) by its from_api


@dataclass(frozen=True)
class Meeting:
    """A Zoom meeting as the SOP uses it.

    ``start_url`` and ``password`` are None for meetings that come from a listing (Zoom does not list
    them); ``start_time`` is None only for recurring meetings without a fixed time.
    """

    id: int
    topic: str
    start_time: datetime | None
    duration: int | None
    timezone: str
    join_url: str
    start_url: str | None = None
    password: str | None = None
    agenda: str = ""
    host_id: str = ""

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Meeting:
        start = raw.get("start_time")
        return cls(
            id=int(raw["id"]),
            topic=raw.get("topic", ""),
            start_time=datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC) if start else None,
            duration=raw.get("duration"),
            timezone=raw.get("timezone", ""),
            join_url=raw.get("join_url", ""),
            start_url=raw.get("start_url"),
            password=raw.get("password"),
            agenda=raw.get("agenda", ""),
            host_id=raw.get("host_id", ""),
        )


# --- connect


def connect(
    account_id: str,
    client_id: str,
    client_secret: str,
    base_url: str | None = None,
    oauth_url: str | None = None,
    timeout: int = 15,
) -> ZoomMeetings:
    """A ``ZoomMeetings`` on a new zoomus client: the sandbox at ``base_url``/``oauth_url`` or live Zoom when
    None. zoomus fetches its token now; not reaching the token endpoint is Transient."""
    try:
        client = ZoomClient(
            client_id, client_secret, account_id,
            base_uri=base_url, oauth_uri=oauth_url or OAUTH_URI, timeout=timeout,
        )
    except requests.RequestException as exc:  # its token request
        raise translate(exc) from exc
    return ZoomMeetings(client)


# --- errors


def translate(exc: Exception) -> Exception:
    """``exc`` as the ``integrations.errors`` exception it means (an error answer, raised by ``_call`` as
    ``requests.HTTPError``, by its status; other ``requests`` errors are Transient); any other
    exception is returned unchanged."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return _by_status(exc.response, str(exc))
    if isinstance(exc, requests.RequestException):  # timeouts, refused or dropped connections
        return Transient(VENDOR, f"connection failed: {type(exc).__name__}")
    return exc


def _by_status(resp: requests.Response, what: str) -> IntegrationError:
    """Zoom's ``{"code","message"[,"errors"]}`` answer (or the OAuth endpoint's ``{"error","reason"}``)."""
    body = _body(resp)
    status = resp.status_code
    detail = body.get("message") or body.get("reason") or resp.reason or "error"
    if body.get("errors"):
        detail += " " + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in body["errors"])
    message = f"{what}: {detail} (HTTP {status}, code {body.get('code', body.get('error'))})"
    if body.get("code") == 4711:  # "Invalid access token, does not contain scopes:[a, b]."
        listed = str(body.get("message", "")).partition("[")[2].partition("]")[0]
        return MissingScope(VENDOR, message, needed=tuple(x.strip() for x in listed.split(",") if x.strip()),
                            status=status)
    if status == 404:
        return NotFound(VENDOR, message, status=status)
    if status == 429:
        return RateLimited(VENDOR, message, retry_after=_retry_after(resp.headers.get("Retry-After")))
    if status >= 500:
        return Transient(VENDOR, message, status=status)
    if status == 409:
        return Conflict(VENDOR, message)
    return InvalidInput(VENDOR, message, status=status)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait: Zoom sends seconds for per-second limits and a timestamp for daily ones."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _body(resp: requests.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# --- the client


class ZoomMeetings:
    """The Zoom operations of the onboarding SOP: schedule, read, move, cancel and list meetings."""

    def __init__(self, client: ZoomClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        # The constructor just fetched a token (None if that failed): assume Zoom's usual TTL.
        has_token = bool(client.config.get("token"))
        self._token_deadline = time.monotonic() + DEFAULT_TTL - TOKEN_MARGIN if has_token else 0.0

    # ---- plumbing ---------------------------------------------------------------------------

    def _call(self, fn: Callable[[], requests.Response], *, idempotent: bool, what: str, category: str = "Light",
              attempts: int | None = None) -> requests.Response:
        """One zoomus call (``what`` names it in errors): a slot of the account's budget for the
        endpoint's rate-limit ``category`` (Zoom's label: meeting create and list are Medium,
        get/update/delete Light), the call with a fresh token, its error answer through ``translate``,
        retried per ``retry`` (``attempts=1`` inside an operation retried as a whole)."""
        return calls.call(lambda: self._send(fn, what), idempotent=idempotent, slot=lambda: budget.zoom(category),
                          translate=translate, attempts=attempts)

    def _send(self, fn: Callable[[], requests.Response], what: str) -> requests.Response:
        """``fn`` with a fresh token; an error answer raised as ``requests.HTTPError(what)`` (zoomus never
        raises). A 401 code 124 refreshes the token and repeats the request once, in the same slot (the
        request was refused, so repeating even a create is safe)."""
        if time.monotonic() >= self._token_deadline:
            self._refresh_token(self._client.config.get("token"))
        used = self._client.config.get("token")
        resp = fn()
        if resp.status_code == 401 and _body(resp).get("code") == 124:
            log.info("zoom: access token rejected, fetching a new one")
            self._refresh_token(used)
            resp = fn()
        if resp.status_code >= 400:
            raise requests.HTTPError(what, response=resp)
        return resp

    def _refresh_token(self, stale: str | None) -> None:
        """Replace the ``stale`` token with a new S2S token in the zoomus client (whose components
        share its config dict).

        Done here rather than with ``ZoomClient.refresh_token()``, which hides the status, the error
        and ``expires_in``; the request is the same (Basic auth, form body)."""
        with self._lock:
            cfg = self._client.config
            if cfg.get("token") and cfg.get("token") != stale:
                return  # another thread replaced it meanwhile
            body = self._token_request()
            cfg["token"] = body["access_token"]
            ttl = float(body.get("expires_in") or DEFAULT_TTL)
            self._token_deadline = time.monotonic() + max(ttl - TOKEN_MARGIN, ttl / 2)

    def _token_request(self) -> dict[str, Any]:
        cfg = self._client.config
        basic = base64.b64encode(f"{cfg['client_id']}:{cfg['client_secret']}".encode()).decode()
        resp = requests.post(
            cfg["oauth_uri"],
            data={"grant_type": "account_credentials", "account_id": cfg["api_account_id"]},
            headers={"Authorization": f"Basic {basic}"},
            timeout=self._client.timeout,
        )
        body = _body(resp)
        if resp.status_code >= 400 or not body.get("access_token"):
            raise requests.HTTPError("token request refused", response=resp)
        return body

    def scopes(self) -> set[str]:
        """The app's scopes, as Zoom lists them with each access token (one token request)."""
        try:
            return set(str(self._token_request().get("scope") or "").split())
        except requests.RequestException as exc:
            raise translate(exc) from exc

    # ---- operations -------------------------------------------------------------------------

    def create_meeting(
        self, host: str, topic: str, start: datetime, duration_min: int, timezone: str = "UTC", agenda: str = ""
    ) -> Meeting:
        """Schedule a meeting for ``host`` (user id, email or ``"me"``). A plain create: not retried on 5xx."""
        return self._create(host, topic, start, duration_min, timezone, agenda)

    def find_or_create_meeting(
        self, host: str, topic: str, start: datetime, duration_min: int, timezone: str = "UTC", agenda: str = ""
    ) -> Meeting:
        """The host's scheduled meeting with this topic and start time, created if there is none.

        Safe to re-run (and so retried on 5xx): a meeting created by an earlier attempt is adopted.
        """
        wanted = _utc(start).replace(microsecond=0)

        def once() -> Meeting:
            for m in self.list_meetings(host):
                if m.topic == topic and m.start_time == wanted:
                    return self.get_meeting(m.id)  # the listing lacks start_url and password
            return self._create(host, topic, start, duration_min, timezone, agenda, attempts=1)

        return retry.call(once, idempotent=True)

    def get_meeting(self, meeting_id: int) -> Meeting:
        """One meeting by id; NotFound when it does not exist (or was deleted)."""
        resp = self._call(lambda: self._client.meeting.get(id=meeting_id), idempotent=True,
                          what=f"get meeting {meeting_id}")
        return Meeting.from_api(resp.json())

    def update_meeting(
        self,
        meeting_id: int,
        *,
        topic: str | None = None,
        start: datetime | None = None,
        duration: int | None = None,
        agenda: str | None = None,
    ) -> None:
        """Change the given fields of a meeting (Zoom answers 204 with no body)."""
        fields: dict[str, Any] = {"topic": topic, "duration": duration, "agenda": agenda}
        if start is not None:
            fields["start_time"] = _utc(start)
        fields = {k: v for k, v in fields.items() if v is not None}
        if not fields:
            raise ValueError("update_meeting needs at least one field to change")
        self._call(lambda: self._client.meeting.update(id=meeting_id, **fields),
                   idempotent=True,  # PATCH sets values: repeating it changes nothing more
                   what=f"update meeting {meeting_id}")

    def delete_meeting(self, meeting_id: int) -> bool:
        """Delete a meeting. Returns False when it was already gone: a 404 is the state we want,
        so a re-run (or a retry after a lost answer) does not fail."""
        try:
            self._call(lambda: self._client.meeting.delete(id=meeting_id), idempotent=True,
                       what=f"delete meeting {meeting_id}")
        except NotFound:
            return False
        return True

    def list_meetings(self, host: str, kind: str = "scheduled", page_size: int = PAGE_SIZE) -> Iterator[Meeting]:
        """Every meeting of ``host`` of that ``kind`` (scheduled, upcoming, live...), across all pages."""
        token = ""
        while True:
            params: dict[str, Any] = {"user_id": host, "type": kind, "page_size": page_size}
            if token:
                params["next_page_token"] = token
            resp = self._call(lambda p=params: self._client.meeting.list(**p), idempotent=True,
                              what=f"list meetings of {host}", category="Medium")
            page = resp.json()
            for item in page.get("meetings", []):
                yield Meeting.from_api(item)
            token = page.get("next_page_token") or ""
            if not token:
                return

    def user(self, email: str) -> dict[str, Any]:
        """The account's user with this email (``type`` 1 Basic, 2 Licensed …); NotFound when none."""
        resp = self._call(lambda: self._client.user.get(id=email), idempotent=True, what="get user by email")
        return resp.json()

    def user_id_by_email(self, email: str) -> str:
        """The Zoom user id of a member of the account; NotFound when no user has that email."""
        resp = self._call(lambda: self._client.user.get(id=email), idempotent=True, what="get user by email")
        return resp.json()["id"]

    def _create(self, host: str, topic: str, start: datetime, duration_min: int, timezone: str, agenda: str, *,
                attempts: int | None = None) -> Meeting:
        body = {"topic": topic, "type": 2, "start_time": _utc(start), "duration": duration_min,
                "timezone": timezone, "agenda": agenda}
        resp = self._call(lambda: self._client.meeting.create(user_id=host, **body), idempotent=False,
                          what=f"create meeting for {host}", category="Medium", attempts=attempts)
        return Meeting.from_api(resp.json())


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("meeting times must be timezone-aware datetimes")
    return dt.astimezone(UTC)
