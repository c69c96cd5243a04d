"""Keap (formerly Infusionsoft) email marketing for the onboarding SOP, on Keap's REST API v1 over httpx.

Why a hand-written client: the project uses seven operations of Keap's v1 API (below). Keap's own
Python SDK (PyPI ``keap-core-v2-sdk``, OpenAPI Generator output from github.com/infusionsoft/keap-sdk)
covers only REST v2 and is 434 generated modules on urllib3 and pydantic; a client generated from the
v1 OpenAPI document (92 paths, 210 schemas) would be of that size too. These seven calls over httpx read
whole in one file, and every path and field is checked against Keap's published v1 OpenAPI document
(``sandbox/tests/specs/keap-v1-openapi.trimmed.json``).

The calls [doc: https://developer.infusionsoft.com/docs/rest/]:

- ``GET /contacts?email=`` (listContacts) — find a contact and its ``email_status``;
- ``PUT /contacts`` with ``duplicate_option: "Email"`` (createOrUpdateContact) — create one, safe to repeat;
- ``GET /tags?name=`` (listTags), ``POST /tags`` (createTag) — find or create a tag;
- ``POST /tags/{tagId}/contacts`` (applyTagToContactIds) — apply it: Keap answers ``DUPLICATE`` for a
  contact that already has it, so applying is idempotent;
- ``GET /contacts/{contactId}/tags`` (listAppliedTags) — what a contact carries.

``connect(api_key, base_url=None, access_token=None)`` authenticates with a Service Account Key or
Personal Access Token (``X-Keap-API-Key``) or an OAuth2 access token (``Authorization: Bearer``), against
https://api.infusionsoft.com/crm/rest/v1 or a sandbox, and returns a ``KeapMarketing``.

Budgets: every call takes the worker's slots for the key's 10 / s and 240 / minute (``budget.keap``).
Each answer's ``x-keap-product-quota-*`` / ``-throttle-*`` headers are kept (``last_quota``).

Errors: ``translate`` maps Keap's answers (``{"message"}`` from the REST service, the gateway's
``{"code", "message", "status"}`` for 401 and 429) and httpx's transport errors to
``integrations.errors``. A 429 of the minute throttle is retried (Keap sends no Retry-After: back-off);
a spent daily quota is not (it resets at 00:00 UTC) and says so.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import budget, calls, retry
from .errors import IntegrationError, InvalidInput, NotAuthorized, NotFound, RateLimited, Transient

VENDOR = "keap"
LIVE_URL = "https://api.infusionsoft.com/crm/rest/v1"
TIMEOUT = 30.0
PAGE = 200  # items per list page (Keap allows up to 1000)
# email_status values Keap sends marketing email to (RestPartialContact.email_status; the opt-in rules of
# createContact: only these are "marketable")
MARKETABLE = frozenset({"UnengagedMarketable", "SingleOptIn", "DoubleOptin", "Confirmed"})
_TAG_LOCK = threading.Lock()  # tag creation, for every Keap client of the process


# --- results: frozen dataclasses, each built from Keap's answer by its from_api


@dataclass(frozen=True)
class Contact:
    """A Keap contact as a list answer shows it (``RestPartialContact``)."""

    id: int
    email: str
    given_name: str
    family_name: str
    email_status: str
    opted_in: bool
    created: bool = field(default=False, compare=False)  # True when find_or_create_contact made it

    @classmethod
    def from_api(cls, raw: Mapping[str, Any], *, created: bool = False) -> Contact:
        emails = raw.get("email_addresses") or []
        primary = next((e.get("email", "") for e in emails if e.get("field") == "EMAIL1"), "")
        return cls(id=int(raw["id"]), email=primary or next((e.get("email", "") for e in emails), ""),
                   given_name=raw.get("given_name") or "", family_name=raw.get("family_name") or "",
                   email_status=raw.get("email_status") or "", opted_in=bool(raw.get("email_opted_in")),
                   created=created)


@dataclass(frozen=True)
class Tag:
    id: int
    name: str
    description: str = ""

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Tag:
        return cls(id=int(raw["id"]), name=raw.get("name") or "", description=raw.get("description") or "")


@dataclass(frozen=True)
class AppliedTag:
    """A tag on a contact (``ContactTag``)."""

    tag_id: int
    name: str
    date_applied: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> AppliedTag:
        tag = raw.get("tag") or {}
        return cls(tag_id=int(tag["id"]), name=tag.get("name") or "", date_applied=raw.get("date_applied") or "")


@dataclass(frozen=True)
class Quota:
    """The key's limits as the last answer's headers told them [doc: developer.infusionsoft.com/
    api-token-quota-and-usage-measurements]; -1 where an answer carried none."""

    daily_limit: int = -1
    daily_available: int = -1
    minute_limit: int = -1
    minute_available: int = -1

    @classmethod
    def from_api(cls, headers: Mapping[str, str]) -> Quota:
        def num(name: str) -> int:
            try:
                return int(headers.get(f"x-keap-product-{name}", "-1"))
            except ValueError:
                return -1

        return cls(num("quota-limit"), num("quota-available"), num("throttle-limit"), num("throttle-available"))

    def line(self) -> str:
        if self.daily_limit < 0:
            return "quota not reported"
        return (f"{self.daily_available:,} of {self.daily_limit:,} calls left today, "
                f"{self.minute_available} of {self.minute_limit} this minute")


# --- connect


def connect(api_key: str | None = None, base_url: str | None = None, *, access_token: str | None = None,
            timeout: float = TIMEOUT) -> KeapMarketing:
    """A ``KeapMarketing`` authenticated with a Service Account Key / Personal Access Token
    (``X-Keap-API-Key``) or an OAuth2 ``access_token`` (``Authorization: Bearer``); ``base_url`` points it
    at a sandbox (``…/keap/crm/rest/v1``), else at Keap."""
    if bool(api_key) == bool(access_token):
        raise ValueError("Keap needs exactly one of a Service Account Key (api_key) or an OAuth2 access_token")
    headers = {"X-Keap-API-Key": api_key} if api_key else {"Authorization": f"Bearer {access_token}"}
    client = httpx.Client(base_url=(base_url or LIVE_URL).rstrip("/"), headers={**headers, "Accept": "application/json"},
                          timeout=timeout)
    return KeapMarketing(client)


# --- errors


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def translate(exc: Exception) -> Exception:
    """``exc`` as the ``integrations.errors`` exception it means (by Keap's status, body and quota
    headers; httpx's transport errors are Transient); any other exception is returned unchanged."""
    if isinstance(exc, httpx.TransportError):
        return Transient(VENDOR, f"{type(exc).__name__}: {exc}")
    if not isinstance(exc, httpx.HTTPStatusError):
        return exc
    response = exc.response
    status, body = response.status_code, _body(response)
    message = str(body.get("message") or response.reason_phrase or f"HTTP {status}")
    if status == 429:
        quota = Quota.from_api(response.headers)
        if quota.daily_available == 0:  # the day's quota: no wait within a run helps
            return IntegrationError(VENDOR, f"the key's daily quota of {quota.daily_limit:,} calls is used up; it "
                                            "resets at 00:00 UTC (429 Quota Exceeded)", status=status)
        return RateLimited(VENDOR, f"{body.get('status', 'Request Throttled')}: {message}", retry_after=None,
                           status=status)
    if status == 401:
        return NotAuthorized(VENDOR, f"the credential was refused ({message}): check the Service Account Key "
                                     "(ONBOARD_KEAP_API_KEY or the Secret block onboard-keap-api-key)", status=status)
    if status == 403:
        return NotAuthorized(VENDOR, f"not allowed: {message}", status=status)
    if status == 404:
        return NotFound(VENDOR, message, status=status)
    if status >= 500:
        return Transient(VENDOR, message, status=status)
    if 400 <= status < 500:
        return InvalidInput(VENDOR, message, status=status)
    return IntegrationError(VENDOR, message, status=status)


# --- the client


def split_name(name: str) -> tuple[str, str]:
    """"Zanele Mthembu" → ("Zanele", "Mthembu"); one word is a given name."""
    given, _, family = name.strip().partition(" ")
    return given, family.strip()


class KeapMarketing:
    """The Keap operations of the SOP: contacts (with their opt-in), tags and tag applications."""

    def __init__(self, client: httpx.Client) -> None:
        self._http = client
        self._tags: dict[str, Tag] = {}  # by name: a tag, once found or made, is not looked up again
        self.last_quota = Quota()

    def _call(self, method: str, path: str, *, idempotent: bool, params: Mapping[str, Any] | None = None,
              json: Any = None, attempts: int | None = None) -> Any:
        """One REST call: the worker's budget slots, the request, its errors through ``translate``, retried
        per ``retry`` (``attempts=1`` inside an operation retried as a whole); the answer's JSON."""

        def send() -> Any:
            response = self._http.request(method, path, params=params, json=json)
            if "x-keap-product-quota-limit" in response.headers:
                self.last_quota = Quota.from_api(response.headers)
            response.raise_for_status()
            return response.json() if response.content else None

        return calls.call(send, idempotent=idempotent, slot=budget.keap, translate=translate, attempts=attempts)

    def _pages(self, path: str, key: str, params: Mapping[str, Any] | None = None, *,
               attempts: int | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, page by page (``limit``/``offset``; the last page is short)."""
        offset = 0
        while True:
            data = self._call("GET", path, idempotent=True, params={**(params or {}), "limit": PAGE, "offset": offset},
                              attempts=attempts)
            items = data.get(key) or []
            yield from items
            if len(items) < PAGE or not data.get("next"):
                return
            offset += len(items)

    # ------------------------------------------------------------------ the key

    def check(self) -> Quota:
        """One cheap read (``GET /tags?limit=1``): the key works; the quota it has left."""
        self._call("GET", "/tags", idempotent=True, params={"limit": 1})
        return self.last_quota

    # ------------------------------------------------------------------ contacts

    def find_contact(self, email: str) -> Contact | None:
        """The contact with this email (the oldest when Keap holds several), or None."""
        found = list(self._pages("/contacts", "contacts", {"email": email}))
        return Contact.from_api(found[0]) if found else None

    def find_or_create_contact(self, email: str, given_name: str, family_name: str = "", *,
                               opt_in_reason: str = "") -> Contact:
        """The contact with ``email``, created when Keap has none (``created`` says so).

        A new contact is opted in with ``opt_in_reason`` (Keap records it for compliance; empty: not
        marketable). An existing one is left as it is: never opted in again, so a client who
        unsubscribed stays unsubscribed. Safe to repeat: the create is ``PUT /contacts`` with
        ``duplicate_option: "Email"``, which finds the contact a lost answer made instead of a second."""

        def find_or_create() -> Contact:
            found = self._find_contact_once(email)
            if found is not None:
                return found
            body: dict[str, Any] = {
                "duplicate_option": "Email",
                "email_addresses": [{"email": email, "field": "EMAIL1"}],
                "given_name": given_name, "family_name": family_name,
                "source_type": "API", "contact_type": "Lead",
            }
            if opt_in_reason:
                body["opt_in_reason"] = opt_in_reason
            self._call("PUT", "/contacts", idempotent=True, json=body, attempts=1)
            made = self._find_contact_once(email)  # the email status is only in list answers
            if made is None:
                raise Transient(VENDOR, f"the contact {email} was saved but is not listed yet")
            return Contact(**{**made.__dict__, "created": True})

        return retry.call(find_or_create, idempotent=True)

    def _find_contact_once(self, email: str) -> Contact | None:
        found = list(self._pages("/contacts", "contacts", {"email": email}, attempts=1))
        return Contact.from_api(found[0]) if found else None

    @staticmethod
    def is_marketable(contact: Contact) -> bool:
        """Whether Keap's campaigns email this contact (its ``email_status``): not for an unsubscribed,
        bounced or never opted-in address."""
        return contact.email_status in MARKETABLE

    # ------------------------------------------------------------------ tags

    def find_tag(self, name: str) -> Tag | None:
        for raw in self._pages("/tags", "tags", {"name": name}):
            if raw.get("name") == name:
                return Tag.from_api(raw)
        return None

    def tags(self) -> dict[str, Tag]:
        """Every tag of the account by name (the oldest of two of one name), in as few pages as it takes."""
        out: dict[str, Tag] = {}
        for raw in self._pages("/tags", "tags"):
            out.setdefault(raw.get("name") or "", Tag.from_api(raw))
        return out

    def ensure_tag(self, name: str, description: str = "") -> Tag:
        """The tag called ``name``, created when the account has none. Keap allows two of one name, so it is
        looked up first, under one lock for every client of this process (runs in parallel threads would
        each create it), and the oldest of that name is the one used (another process that created it at
        the same moment converges on the same tag). Kept for this client's life."""
        with _TAG_LOCK:
            if name in self._tags:
                return self._tags[name]

            def named() -> list[dict[str, Any]]:
                return [t for t in self._pages("/tags", "tags", {"name": name}, attempts=1) if t.get("name") == name]

            def find_or_create() -> Tag:
                if not (found := named()):
                    self._call("POST", "/tags", idempotent=False, json={"name": name, "description": description},
                               attempts=1)
                    found = named()
                return Tag.from_api(min(found, key=lambda t: int(t["id"])))

            # a create that failed with a 5xx may have happened: the whole find-or-create runs again
            tag = self._tags[name] = retry.call(find_or_create, idempotent=True)
            return tag

    def apply_tag(self, tag_id: int, contact_id: int) -> bool:
        """Put the tag on the contact; True when it was applied now, False when it already was (Keap
        answers ``DUPLICATE`` and applies nothing: a campaign started by the tag does not start twice)."""
        result = self._call("POST", f"/tags/{tag_id}/contacts", idempotent=True, json={"ids": [contact_id]})
        outcome = (result or {}).get(str(contact_id), "FAILURE")
        if outcome == "SUCCESS":
            return True
        if outcome == "DUPLICATE":
            return False
        if outcome in ("CONTACT_NOT_FOUND", "TAG_ID_NOT_FOUND"):
            raise NotFound(VENDOR, f"{outcome.lower().replace('_', ' ')}: tag {tag_id}, contact {contact_id}")
        if outcome == "NO_PERMISSION":
            raise NotAuthorized(VENDOR, f"no permission to tag contact {contact_id}")
        raise IntegrationError(VENDOR, f"tag {tag_id} not applied to contact {contact_id}: {outcome}")

    def contact_tags(self, contact_id: int) -> list[AppliedTag]:
        """The tags on the contact, with when each was applied."""
        return [AppliedTag.from_api(t) for t in self._pages(f"/contacts/{contact_id}/tags", "tags")]

    def close(self) -> None:
        self._http.close()
