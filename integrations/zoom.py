"""Zoom meetings for the SOP, on the official-community SDK ``zoomus`` (1.2.1).

Three things about zoomus shape this module (CONTRACTS.md §5):

* It never raises on an HTTP error and has no retries of its own: every call returns the raw
  ``requests.Response``. We check the status here, map it to ``integrations.errors`` and retry with
  ``integrations.retry.call`` (the only retry layer, so waits are never doubled).
* It fetches the S2S OAuth token once, in its constructor, and never refreshes it (tokens live 1 h).
  We refresh shortly before the token expires, and once on a 401 ``code 124``, then repeat the call.
* Its ``date_to_str`` formats a datetime as ``...Z`` without converting it, so we always hand it
  UTC datetimes.
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

from . import budget, retry
from .errors import Conflict, IntegrationError, InvalidInput, NotFound, RateLimited, Transient

log = logging.getLogger(__name__)

VENDOR = "zoom"
TOKEN_MARGIN = 300.0  # refresh this many seconds before the token's announced expiry
DEFAULT_TTL = 3599.0  # what Zoom announces; zoomus's constructor does not tell us
PAGE_SIZE = 300  # Zoom's maximum: fewer calls against the MEDIUM per-second limit


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


def connect(
    account_id: str,
    client_id: str,
    client_secret: str,
    base_url: str | None = None,
    oauth_url: str | None = None,
    timeout: int = 15,
) -> ZoomMeetings:
    """Build the zoomus client (live Zoom when ``base_url`` is None; it fetches a token now)."""
    try:
        client = ZoomClient(
            client_id, client_secret, account_id,
            base_uri=base_url, oauth_uri=oauth_url or OAUTH_URI, timeout=timeout,
        )
    except requests.RequestException as exc:
        raise Transient(VENDOR, f"token request failed: {type(exc).__name__}") from None
    return ZoomMeetings(client)


class ZoomMeetings:
    """The Zoom operations of the onboarding SOP: schedule, read, move, cancel and list meetings."""

    def __init__(self, client: ZoomClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        # The constructor just fetched a token (None if that failed): assume Zoom's usual TTL.
        has_token = bool(client.config.get("token"))
        self._token_deadline = time.monotonic() + DEFAULT_TTL - TOKEN_MARGIN if has_token else 0.0

    # ---- operations -------------------------------------------------------------------------

    def create_meeting(
        self, host: str, topic: str, start: datetime, duration_min: int, timezone: str = "UTC", agenda: str = ""
    ) -> Meeting:
        """Schedule a meeting for ``host`` (user id, email or ``"me"``). A plain create: not retried on 5xx."""
        return retry.call(lambda: self._create(host, topic, start, duration_min, timezone, agenda), idempotent=False)

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
            return self._create(host, topic, start, duration_min, timezone, agenda)

        return retry.call(once, idempotent=True)

    def get_meeting(self, meeting_id: int) -> Meeting:
        """One meeting by id; NotFound when it does not exist (or was deleted)."""
        resp = retry.call(
            lambda: self._send(lambda: self._client.meeting.get(id=meeting_id), f"get meeting {meeting_id}"),
            idempotent=True,
        )
        return _meeting(resp.json())

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
        retry.call(
            lambda: self._send(
                lambda: self._client.meeting.update(id=meeting_id, **fields), f"update meeting {meeting_id}"
            ),
            idempotent=True,  # PATCH sets values: repeating it changes nothing more
        )

    def delete_meeting(self, meeting_id: int) -> bool:
        """Delete a meeting. Returns False when it was already gone: a 404 is the state we want,
        so a re-run (or a retry after a lost answer) does not fail."""
        try:
            retry.call(
                lambda: self._send(lambda: self._client.meeting.delete(id=meeting_id), f"delete meeting {meeting_id}"),
                idempotent=True,
            )
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
            resp = retry.call(
                lambda p=params: self._send(lambda: self._client.meeting.list(**p), f"list meetings of {host}", "Medium"),
                idempotent=True,
            )
            page = resp.json()
            for item in page.get("meetings", []):
                yield _meeting(item)
            token = page.get("next_page_token") or ""
            if not token:
                return

    def user_id_by_email(self, email: str) -> str:
        """The Zoom user id of a member of the account; NotFound when no user has that email."""
        resp = retry.call(
            lambda: self._send(lambda: self._client.user.get(id=email), "get user by email"),
            idempotent=True,
        )
        return resp.json()["id"]

    # ---- plumbing ---------------------------------------------------------------------------

    def _create(
        self, host: str, topic: str, start: datetime, duration_min: int, timezone: str, agenda: str
    ) -> Meeting:
        body = {"topic": topic, "type": 2, "start_time": _utc(start), "duration": duration_min,
                "timezone": timezone, "agenda": agenda}
        resp = self._send(lambda: self._client.meeting.create(user_id=host, **body), f"create meeting for {host}",
                          "Medium")
        return _meeting(resp.json())

    def _send(self, call: Callable[[], requests.Response], what: str, category: str = "Light") -> requests.Response:
        """One zoomus call with a fresh token, after a slot of the account's budget for the endpoint's
        rate-limit ``category`` (Zoom's label: meeting create and list are Medium, get/update/delete
        Light); a 401 code 124 refreshes the token and repeats it once (the request was refused, so
        repeating even a create is safe)."""
        def budgeted() -> requests.Response:
            with budget.slot(f"zoom:{category}", budget.ZOOM[category]):
                return _attempt(call, what)

        if time.monotonic() >= self._token_deadline:
            self._refresh_token(self._client.config.get("token"))
        used = self._client.config.get("token")
        resp = budgeted()
        if resp.status_code == 401 and _body(resp).get("code") == 124:
            log.info("zoom: access token rejected, fetching a new one")
            self._refresh_token(used)
            resp = budgeted()
        if resp.status_code >= 400:
            raise _error(resp, what)
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
            basic = base64.b64encode(f"{cfg['client_id']}:{cfg['client_secret']}".encode()).decode()
            resp = _attempt(
                lambda: requests.post(
                    cfg["oauth_uri"],
                    data={"grant_type": "account_credentials", "account_id": cfg["api_account_id"]},
                    headers={"Authorization": f"Basic {basic}"},
                    timeout=self._client.timeout,
                ),
                "token request",
            )
            body = _body(resp)
            if resp.status_code >= 400 or not body.get("access_token"):
                if resp.status_code in (400, 401):
                    raise InvalidInput(
                        VENDOR, f"token request refused: {body.get('error')} ({body.get('reason')})",
                        status=resp.status_code,
                    )
                raise _error(resp, "token request")
            cfg["token"] = body["access_token"]
            ttl = float(body.get("expires_in") or DEFAULT_TTL)
            self._token_deadline = time.monotonic() + max(ttl - TOKEN_MARGIN, ttl / 2)


def _attempt(call: Callable[[], requests.Response], what: str) -> requests.Response:
    try:
        return call()
    except requests.RequestException as exc:  # timeouts, refused or dropped connections
        raise Transient(VENDOR, f"{what}: {type(exc).__name__}") from None


def _body(resp: requests.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(resp: requests.Response, what: str) -> IntegrationError:
    """Zoom's ``{"code","message"[,"errors"]}`` answer as one of our errors."""
    body = _body(resp)
    status = resp.status_code
    detail = body.get("message") or body.get("reason") or resp.reason or "error"
    if body.get("errors"):
        detail += " " + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in body["errors"])
    message = f"{what}: {detail} (HTTP {status}, code {body.get('code')})"
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


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("meeting times must be timezone-aware datetimes")
    return dt.astimezone(UTC)


def _meeting(m: dict[str, Any]) -> Meeting:
    start = m.get("start_time")
    return Meeting(
        id=int(m["id"]),
        topic=m.get("topic", ""),
        start_time=datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC) if start else None,
        duration=m.get("duration"),
        timezone=m.get("timezone", ""),
        join_url=m.get("join_url", ""),
        start_url=m.get("start_url"),
        password=m.get("password"),
        agenda=m.get("agenda", ""),
        host_id=m.get("host_id", ""),
    )
