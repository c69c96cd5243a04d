"""HubSpot CRM for the onboarding SOP, on the official SDK (hubspot-api-client 12.0.0).

``connect(token, base_url=None)`` builds the SDK client, pointed at the sandbox when ``base_url`` is
given and at api.hubapi.com otherwise, and returns a ``HubSpotCRM``: exactly the operations the SOP
needs, answering small frozen dataclasses (``Record``, ``Owner``, ``Stage``, ``Pipeline``,
``PropertyDef``, each built by its ``from_api``). Request bodies go to the SDK as plain dicts (it
serialises dicts and its models alike).

Budgets: every call first takes a slot of the worker's budget (``budget.hubspot``): the private
app's 100 requests / 10 s, or CRM search's own 4 / s.

Errors: ``translate`` maps the SDK's ``ApiException`` (HubSpot's ``category`` and status) and
urllib3's transport errors to ``integrations.errors``; a duplicate's ``Conflict`` names the existing id.

Retries: ``integrations.retry`` alone (the SDK's urllib3 retry is off): 429 always, after HubSpot's
Retry-After; 5xx only for idempotent calls. Find-or-create operations are retried as a whole.
"""

from __future__ import annotations

import json
import operator
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import requests
import urllib3
from hubspot import HubSpot
from urllib3.util.retry import Retry

from . import budget, calls, retry
from .errors import Conflict, IntegrationError, InvalidInput, MissingScope, NotFound, RateLimited, Transient

T = TypeVar("T")
VENDOR = "hubspot"
# The private app's scopes the SOP needs (docs/live-setup.md; developers.hubspot.com/scopes): records (invoices:
# developers.hubspot.com/docs/api-reference/crm-invoices-v3/guide), owners, and the company, deal and invoice
# properties `onboard setup` and the first run create
SCOPES = (*(f"crm.objects.{t}.{a}" for t in ("companies", "contacts", "deals", "line_items", "invoices")
            for a in ("read", "write")),
          "crm.objects.owners.read",
          *(f"crm.schemas.{t}.{a}" for t in ("companies", "deals", "invoices") for a in ("read", "write")))
TIMEOUT = 30.0  # seconds per HTTP call; the SDK has no default timeout
SEARCH_PAGE = 100  # search pages (HubSpot allows up to 200)

# HUBSPOT_DEFINED default association type ids [CONTRACTS §1]
NOTE_TO = {"contacts": 202, "companies": 190, "deals": 214}
DEAL_TO = {"contacts": 3, "companies": 341}
LINE_ITEM_TO_DEAL = 20
INVOICE_TO_CONTACT = 177  # the invoices guide's "create a draft with associations"
NOTE_KEY_PROPERTY = "onboarding_note_key"  # custom notes property that makes create_note idempotent
INVOICE_KEY_PROPERTY = "onboarding_invoice_key"  # custom invoices property that makes create_invoice_draft idempotent
# the share of the contract billed through an invoice ("13/20"): the next invoice bills on from there
INVOICE_BILLED_PROPERTY = "onboarding_billed_through"
INVOICE_PROPERTIES: dict[str, tuple[str, str, str]] = {
    INVOICE_KEY_PROPERTY: ("Onboarding invoice key", "string", "text"),
    INVOICE_BILLED_PROPERTY: ("Onboarding: share of the contract billed through this invoice", "string", "text")}
INVOICE_READ = ("hs_invoice_status", "hs_currency", "hs_invoice_date", "hs_due_date", "hs_amount_billed",
                INVOICE_KEY_PROPERTY, INVOICE_BILLED_PROPERTY)
_SCHEMA_LOCK = threading.Lock()  # one run of a worker at a time checks (and creates) custom properties


# --- results: frozen dataclasses, each built from the SDK's answer by its from_api


@dataclass(frozen=True)
class Record:
    """A CRM record: ``properties`` are HubSpot's strings (``None`` when unset)."""

    id: str
    object_type: str
    properties: Mapping[str, str | None] = field(default_factory=dict)
    created: bool = False  # True when this call created it (upserts, find-or-create)

    @classmethod
    def from_api(cls, raw: Any, *, object_type: str, created: bool = False) -> Record:
        return cls(id=str(raw.id), object_type=object_type, properties=dict(raw.properties or {}), created=created)


@dataclass(frozen=True)
class Account:
    """The account the token belongs to (the account-info API): what links into HubSpot's UI need."""

    portal_id: str
    ui_domain: str  # app.hubspot.com, or e.g. app-eu1.hubspot.com for an account hosted in the EU
    time_zone: str
    currency: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Account:
        return cls(str(raw["portalId"]), raw.get("uiDomain") or "app.hubspot.com", raw.get("timeZone", ""),
                   raw.get("companyCurrency", ""))

    def record_url(self, object_type_id: str, record_id: str) -> str:
        """A record's page in HubSpot's UI (``0-2`` companies, ``0-1`` contacts, ``0-3`` deals)."""
        return f"https://{self.ui_domain}/contacts/{self.portal_id}/record/{object_type_id}/{record_id}"


@dataclass(frozen=True)
class Owner:
    id: str
    email: str
    first_name: str | None
    last_name: str | None
    user_id: int | None

    @classmethod
    def from_api(cls, raw: Any) -> Owner:
        return cls(id=str(raw.id), email=raw.email, first_name=raw.first_name, last_name=raw.last_name,
                   user_id=raw.user_id)


@dataclass(frozen=True)
class Stage:
    id: str
    label: str
    display_order: int
    probability: float | None
    is_closed: bool

    @classmethod
    def from_api(cls, raw: Any) -> Stage:
        meta = raw.metadata or {}
        prob = meta.get("probability")
        return cls(id=raw.id, label=raw.label, display_order=raw.display_order,
                   probability=float(prob) if prob not in (None, "") else None,
                   is_closed=str(meta.get("isClosed", "false")).lower() == "true")


@dataclass(frozen=True)
class Pipeline:
    id: str
    label: str
    stages: tuple[Stage, ...]

    @classmethod
    def from_api(cls, raw: Any) -> Pipeline:
        stages = sorted((Stage.from_api(s) for s in raw.stages), key=lambda s: s.display_order)
        return cls(id=raw.id, label=raw.label, stages=tuple(stages))


@dataclass(frozen=True)
class PropertyDef:
    name: str
    label: str
    type: str
    field_type: str
    group_name: str

    @classmethod
    def from_api(cls, raw: Any) -> PropertyDef:
        return cls(name=raw.name, label=raw.label, type=raw.type, field_type=raw.field_type,
                   group_name=raw.group_name)


# --- connect


def connect(token: str, base_url: str | None = None) -> HubSpotCRM:
    """A ``HubSpotCRM`` with a private-app/OAuth ``token``; ``base_url`` points it at a sandbox.

    The SDK's own urllib3 retry is switched off (``Retry(0)``): ``retry.call`` alone decides, so
    waits are never doubled and a non-idempotent POST is never silently re-sent.
    """
    kwargs: dict[str, Any] = {"access_token": token, "retry": Retry(0)}
    if base_url:
        # generated APIs read `host`; client.api_request() reads `base_url` [CONTRACTS §0]
        kwargs.update(host=base_url.rstrip("/"), base_url=base_url.rstrip("/"))
    return HubSpotCRM(HubSpot(**kwargs))


# --- errors


def _body(exc: Any) -> dict[str, Any]:
    try:
        body = json.loads(exc.body) if exc.body else {}
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(headers: Any) -> float | None:
    value = (headers or {}).get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _existing_id(message: str) -> str | None:
    """HubSpot names the duplicate only in the text: "Contact already exists. Existing ID: 123"."""
    m = re.search(r"Existing ID:\s*(\d+)", message or "")
    return m.group(1) if m else None


def _by_category(category: str, message: str, status: int | None) -> IntegrationError:
    if category == "CONFLICT" or category == "OBJECT_ALREADY_EXISTS" or status == 409:
        return Conflict(VENDOR, message, existing_id=_existing_id(message))
    if category == "OBJECT_NOT_FOUND" or status == 404:
        return NotFound(VENDOR, message, status=status)
    if status is not None and status >= 500:
        return Transient(VENDOR, message, status=status)
    if category == "VALIDATION_ERROR" or (status is not None and 400 <= status < 500 and status not in (401, 403)):
        return InvalidInput(VENDOR, message, status=status)
    return IntegrationError(VENDOR, message, status=status)


def translate(exc: Exception) -> Exception:
    """``exc`` as the ``integrations.errors`` exception it means (by HubSpot's status and ``category``;
    urllib3's transport errors are Transient); any other exception is returned unchanged."""
    if isinstance(exc, (urllib3.exceptions.HTTPError, requests.RequestException)):  # refused, reset, timeouts
        return Transient(VENDOR, f"{type(exc).__name__}: {exc}")
    status = getattr(exc, "status", None)
    if not isinstance(status, int) or not hasattr(exc, "body"):
        return exc  # a programming error: let it surface as it is
    if status == 0:  # the SDK's wrapper for TLS/transport problems
        return Transient(VENDOR, str(getattr(exc, "reason", exc)), status=None)
    body = _body(exc)
    message = body.get("message") or str(getattr(exc, "reason", "")) or f"HTTP {status}"
    if status == 429:
        # policyName says which limit (TEN_SECONDLY_ROLLING / SECONDLY / DAILY); Retry-After when sent
        return RateLimited(VENDOR, f"{body.get('policyName', 'rate limit')}: {message}",
                           retry_after=_retry_after(getattr(exc, "headers", None)))
    if body.get("category") == "MISSING_SCOPES":  # errors[].context.requiredGranularScopes names them
        needed = tuple(s for e in body.get("errors") or [] if isinstance(e, dict)
                       for s in (e.get("context") or {}).get("requiredGranularScopes") or [])
        return MissingScope(VENDOR, f"MISSING_SCOPES: the private app needs {' or '.join(needed) or 'a scope'}",
                            needed=needed, status=status)
    return _by_category(body.get("category", ""), message, status)


class _HttpFailure(Exception):
    """A non-2xx answer to ``api_request``, shaped as the SDK's ApiException for ``translate``."""

    def __init__(self, status: int, body: str, headers: Any) -> None:
        super().__init__(f"HTTP {status}")
        self.status, self.body, self.headers, self.reason = status, body, headers, f"HTTP {status}"


def _batch_error(response: Any) -> IntegrationError | None:
    """The first error of a 207 batch answer, mapped like a single-call error."""
    errors = getattr(response, "errors", None) or []
    if not errors:
        return None
    e = errors[0]
    return _by_category(e.category or "", e.message or "batch input failed", None)


# --- the client


class HubSpotCRM:
    """The HubSpot operations of the onboarding SOP. Takes a built SDK client (see ``connect``)."""

    def __init__(self, client: HubSpot) -> None:
        self._hs = client
        self._note_key_ready = False
        self._invoice_key_ready = False
        self._apis: dict[str, Any] = {}
        self._account: Account | None = None

    def _api(self, path: str) -> Any:
        """An SDK API object, built once: the SDK builds a new one (reading its package metadata) on
        every attribute access, which cost more CPU than the HTTP call itself."""
        api = self._apis.get(path)
        if api is None:
            api = self._apis[path] = operator.attrgetter(path)(self._hs)
        return api

    # ---------- plumbing
    def _call(self, fn: Callable[[], T], *, idempotent: bool, search: bool = False) -> T:
        """One SDK call (one HTTP request): a slot of the worker's budget (search has its own), then
        the call, its errors through ``translate``, retried per ``retry``."""
        return calls.call(fn, idempotent=idempotent, slot=lambda: budget.hubspot(search), translate=translate)

    # ---------- records
    def get(self, object_type: str, object_id: str, properties: Sequence[str] | None = None,
            id_property: str | None = None) -> Record:
        """One record by id (or by a unique ``id_property`` such as ``email``); NotFound if absent."""
        api = self._api("crm.objects.basic_api")
        obj = self._call(lambda: api.get_by_id(object_type, object_id, properties=list(properties or []) or None,
                                               id_property=id_property, _request_timeout=TIMEOUT), idempotent=True)
        return Record.from_api(obj, object_type=object_type)

    def create(self, object_type: str, properties: Mapping[str, Any],
               associations: Sequence[tuple[str, int]] = ()) -> Record:
        """Create a record (a plain POST: not retried on 5xx). ``associations``: (to_id, typeId) pairs."""
        body: dict[str, Any] = {"properties": dict(properties)}
        if associations:
            body["associations"] = [
                {"to": {"id": str(to_id)},
                 "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t}]}
                for to_id, t in associations
            ]
        api = self._api("crm.objects.basic_api")
        obj = self._call(lambda: api.create(object_type, body, _request_timeout=TIMEOUT), idempotent=False)
        return Record.from_api(obj, object_type=object_type, created=True)

    def update(self, object_type: str, object_id: str, properties: Mapping[str, Any]) -> Record:
        """PATCH the given properties (e.g. move a deal: ``{"dealstage": ..., "pipeline": ...}``)."""
        api = self._api("crm.objects.basic_api")
        obj = self._call(lambda: api.update(object_type, object_id, {"properties": dict(properties)},
                                            _request_timeout=TIMEOUT), idempotent=True)
        return Record.from_api(obj, object_type=object_type)

    def archive(self, object_type: str, object_id: str) -> None:
        """Archive (HubSpot's delete; the record goes to the recycle bin). Archiving twice is fine."""
        api = self._api("crm.objects.basic_api")
        self._call(lambda: api.archive(object_type, object_id, _request_timeout=TIMEOUT), idempotent=True)

    def search(self, object_type: str, filters: Sequence[Mapping[str, Any] | tuple] = (),
               properties: Sequence[str] | None = None, sorts: Sequence[Mapping[str, str] | str] | None = None,
               query: str | None = None) -> Iterator[Record]:
        """Every record matching all ``filters`` (ANDed), page by page.

        A filter is ``{"propertyName", "operator", "value"|"values"|"highValue"}`` or a tuple
        ``(property, operator[, value])``; a list/tuple value is sent as ``values`` (IN/NOT_IN).
        """
        body: dict[str, Any] = {"limit": SEARCH_PAGE}
        if filters:
            body["filterGroups"] = [{"filters": [_filter(f) for f in filters]}]
        if properties:
            body["properties"] = list(properties)
        if sorts:
            body["sorts"] = list(sorts)
        if query:
            body["query"] = query
        api = self._api("crm.objects.search_api")
        after: str | None = None
        while True:
            page_body = {**body, **({"after": after} if after else {})}
            page = self._call(lambda: api.do_search(object_type, page_body, _request_timeout=TIMEOUT), idempotent=True,
                              search=True)
            for obj in page.results:
                yield Record.from_api(obj, object_type=object_type)
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return

    def find_one(self, object_type: str, property: str, value: str,
                 properties: Sequence[str] | None = None) -> Record | None:
        """The oldest live record whose ``property`` equals ``value`` (case-insensitive), or None."""
        return next(iter(self.search(object_type, [(property, "EQ", value)], properties,
                                     sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}])), None)

    def create_or_update(self, object_type: str, key_property: str, key: str, properties: Mapping[str, Any],
                         associations: Sequence[tuple[str, int]] = ()) -> Record:
        """Find-or-create by a key property (e.g. deals by ``onboarding_key``): a re-run never duplicates.

        The whole find-then-write is retried on 5xx: a create that did happen is found by the next search.
        (Live HubSpot's search index lags a few seconds; runs are minutes apart, so this is acceptable.)
        """

        def once() -> Record:
            found = self.find_one(object_type, key_property, key)
            if found is not None:
                return self.update(object_type, found.id, properties)
            return self.create(object_type, {**properties, key_property: key}, associations)

        # few outer attempts: the inner calls already retry 429s and idempotent 5xx themselves
        return retry.call(once, idempotent=True, attempts=3)

    def find_or_create(self, object_type: str, key_property: str, key: str, properties: Mapping[str, Any],
                       associations: Sequence[tuple[str, int]] = (), fetch: Sequence[str] | None = None) -> Record:
        """The oldest record whose ``key_property`` is ``key`` (with the ``fetch`` properties), left as
        it is; else a new one carrying the key, created with its ``associations`` in the same call."""

        def once() -> Record:
            found = self.find_one(object_type, key_property, key, fetch)
            return found if found is not None else self.create(object_type, {**properties, key_property: key},
                                                               associations)

        return retry.call(once, idempotent=True, attempts=3)

    def upsert_contact(self, email: str, properties: Mapping[str, Any]) -> Record:
        """Create or update the contact with this email (batch upsert, ``idProperty=email``)."""
        body = {"inputs": [{"idProperty": "email", "id": email, "properties": dict(properties)}]}
        api = self._api("crm.objects.batch_api")
        res = self._call(lambda: api.upsert("contacts", body, _request_timeout=TIMEOUT), idempotent=True)
        if not res.results:
            raise _batch_error(res) or IntegrationError(VENDOR, "upsert returned no result")
        obj = res.results[0]
        return Record.from_api(obj, object_type="contacts", created=bool(obj.new))

    def upsert_company(self, domain: str, properties: Mapping[str, Any]) -> Record:
        """Create or update the company with this domain (domain is not unique in HubSpot: search first)."""
        return self.create_or_update("companies", "domain", domain, properties)

    # ---------- associations
    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Default (unlabeled) association both ways; PUT, so repeating it changes nothing."""
        api = self._api("crm.associations.v4.basic_api")
        self._call(lambda: api.create_default(from_type, from_id, to_type, to_id, _request_timeout=TIMEOUT),
                   idempotent=True)

    def associated_ids(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """Ids of the ``to_type`` records associated with a record (all pages)."""
        api = self._api("crm.associations.v4.basic_api")
        ids: list[str] = []
        after: str | None = None
        while True:
            kwargs = {"limit": 500, "_request_timeout": TIMEOUT, **({"after": after} if after else {})}
            page = self._call(lambda: api.get_page(from_type, from_id, to_type, **kwargs), idempotent=True)
            ids += [str(r.to_object_id) for r in page.results]
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return ids

    # ---------- notes and line items
    def create_note(self, body: str, timestamp: datetime | int | str, owner_id: str | None = None,
                    contact_id: str | None = None, company_id: str | None = None, deal_id: str | None = None,
                    note_key: str | None = None) -> Record:
        """A note on the timeline of the given records. With ``note_key`` it is created once only
        (the key is stored in the custom notes property ``onboarding_note_key``, created on first use)."""
        props: dict[str, Any] = {"hs_note_body": body, "hs_timestamp": _epoch_ms(timestamp)}
        if owner_id:
            props["hubspot_owner_id"] = owner_id
        targets = (("contacts", contact_id), ("companies", company_id), ("deals", deal_id))
        links = [(i, NOTE_TO[t]) for t, i in targets if i]
        if note_key is None:
            return self.create("notes", props, links)
        if not self._note_key_ready:
            self.ensure_property("notes", NOTE_KEY_PROPERTY, "Onboarding note key", group="notes")
            self._note_key_ready = True
        return self.create_or_update("notes", NOTE_KEY_PROPERTY, note_key, props, links)

    def add_line_item(self, deal_id: str, name: str, quantity: float, price: float) -> Record:
        """A line item on a deal; the same ``name`` on the same deal is updated, not added twice."""

        def once() -> Record:
            filters = [("associations.deal", "EQ", deal_id), ("name", "EQ", name)]
            existing = next(iter(self.search("line_items", filters)), None)
            props = {"name": name, "quantity": quantity, "price": price}
            if existing is not None:
                return self.update("line_items", existing.id, props)
            return self.create("line_items", props, [(deal_id, LINE_ITEM_TO_DEAL)])

        return retry.call(once, idempotent=True, attempts=3)

    def line_items(self, object_type: str, object_id: str) -> list[Record]:
        """The line items of a deal or an invoice (name, quantity, unit price, discount, net amount)."""
        ids = sorted(self.associated_ids(object_type, object_id, "line_items"), key=lambda i: int(i) if i.isdigit() else 0)
        return [self.get("line_items", i, ["name", "quantity", "price", "hs_discount_percentage", "amount"]) for i in ids]

    def discount_line_items(self, deal_id: str, percent: float) -> int:
        """Every line item of the deal at ``percent`` off (HubSpot's ``hs_discount_percentage``; the net
        ``amount`` follows); how many. Setting, not adding: a second call changes nothing."""
        ids = self.associated_ids("deals", deal_id, "line_items")
        for line_item_id in ids:
            self.update("line_items", line_item_id, {"hs_discount_percentage": percent})
        return len(ids)

    # ---------- invoices [doc: developers.hubspot.com/docs/api-reference/crm-invoices-v3/guide]
    # hubspot-api-client also has crm.commerce.invoices (basic/batch/search APIs); they send the very requests of
    # crm.objects' for object type "invoices" (/crm/v3/objects/invoices...), which the generic calls above make.
    def create_invoice_draft(self, key: str, currency: str, contact_id: str, lines: Sequence[Mapping[str, Any]],
                             properties: Mapping[str, Any] | None = None, company_id: str | None = None,
                             deal_id: str | None = None) -> Record:
        """The draft invoice keyed ``key`` (custom property ``onboarding_invoice_key``): found, or created in
        ``currency`` with its contact (one request), then associated with the company and deal and given
        ``lines`` (each ``{name, quantity, price[, hs_discount_percentage]}``) as line items of its own: line
        items belong to one parent, so the deal's are copied, never shared. A re-run finds the invoice, and
        an invoice that already has line items (or is no longer a draft) is left as it is."""
        if not self._invoice_key_ready:
            self.ensure_properties("invoices", INVOICE_PROPERTIES)
            self._invoice_key_ready = True
        invoice = self.find_or_create("invoices", INVOICE_KEY_PROPERTY, key,
                                      {"hs_currency": currency, **dict(properties or {})},
                                      [(contact_id, INVOICE_TO_CONTACT)], fetch=INVOICE_READ)
        if (invoice.properties.get("hs_invoice_status") or "draft") != "draft":
            return invoice
        for to_type, to_id in (("companies", company_id), ("deals", deal_id)):
            if to_id:
                self.associate("invoices", invoice.id, to_type, to_id)
        if not self.associated_ids("invoices", invoice.id, "line_items"):
            for line in lines:
                item = self.create("line_items", dict(line))
                self.associate("invoices", invoice.id, "line_items", item.id)
        return self.get_invoice(invoice.id)

    def get_invoice(self, invoice_id: str) -> Record:
        """An invoice with its status, dates, amount billed and key."""
        return self.get("invoices", invoice_id, INVOICE_READ)

    def find_invoice(self, key: str) -> Record | None:
        """The invoice keyed ``key``, or None."""
        return self.find_one("invoices", INVOICE_KEY_PROPERTY, key, INVOICE_READ)

    def issue_invoice(self, invoice_id: str) -> Record:
        """Move a draft invoice to ``open`` (issued: it can be shared and paid). An invoice already open,
        paid or voided is returned as it is: issuing twice changes nothing."""
        invoice = self.get_invoice(invoice_id)
        if (invoice.properties.get("hs_invoice_status") or "draft") != "draft":
            return invoice
        self.update("invoices", invoice_id, {"hs_invoice_status": "open"})
        return self.get_invoice(invoice_id)

    # ---------- the account
    def account(self) -> Account:
        """The token's account (portal id, UI domain), read once per client from the account-info API:
        the portal id is discovered, never configured [CONTRACTS §6]."""
        if self._account is None:
            def fetch() -> dict[str, Any]:
                # hubspot-api-client has no generated API for account-info: its generic request, which
                # answers with a `requests` response and raises nothing
                r = self._hs.api_request({"method": "GET", "path": "/account-info/v3/details"})
                if r.status_code != 200:
                    raise _HttpFailure(r.status_code, r.text, r.headers)
                return r.json()

            self._account = Account.from_api(self._call(fetch, idempotent=True))
        return self._account

    def scopes(self) -> set[str]:
        """The private app token's scopes (HubSpot's access-token-info endpoint)."""
        token = self._hs.access_token

        def fetch() -> dict[str, Any]:
            r = self._hs.api_request({"method": "POST", "path": "/oauth/v2/private-apps/get/access-token-info",
                                      "body": {"tokenKey": token}})
            if r.status_code != 200:
                raise _HttpFailure(r.status_code, r.text, r.headers)
            return r.json()

        return set(self._call(fetch, idempotent=True).get("scopes") or [])

    # ---------- owners
    def owners(self) -> list[Owner]:
        """Every active owner (HubSpot users who can own records)."""
        return list(self._owners(None))

    def owner_by_email(self, email: str) -> Owner | None:
        """The owner with this email, or None."""
        return next(self._owners(email), None)

    def _owners(self, email: str | None) -> Iterator[Owner]:
        api = self._api("crm.owners.owners_api")
        after: str | None = None
        while True:
            kwargs = {"limit": 100, "_request_timeout": TIMEOUT, **({"email": email} if email else {}),
                      **({"after": after} if after else {})}
            page = self._call(lambda: api.get_page(**kwargs), idempotent=True)
            for o in page.results:
                yield Owner.from_api(o)
            after = page.paging.next.after if page.paging and page.paging.next else None
            if not after:
                return

    # ---------- pipelines
    def pipeline_stages(self, pipeline_id: str = "default") -> list[Stage]:
        """The stages of a deal pipeline in display order."""
        api = self._api("crm.pipelines.pipeline_stages_api")
        res = self._call(lambda: api.get_all("deals", pipeline_id, _request_timeout=TIMEOUT), idempotent=True)
        return sorted((Stage.from_api(s) for s in res.results), key=lambda s: s.display_order)

    def find_pipeline(self, label: str) -> Pipeline | None:
        """The deal pipeline with this label (case-insensitive), or None: one read, nothing created."""
        api = self._api("crm.pipelines.pipelines_api")
        existing = self._call(lambda: api.get_all("deals", _request_timeout=TIMEOUT), idempotent=True)
        return next((Pipeline.from_api(p) for p in existing.results if p.label.lower() == label.lower()), None)

    def deal_pipeline_room(self) -> tuple[int, int]:
        """(deal pipelines in the account, how many its subscription allows): the limits API."""
        def fetch() -> dict[str, Any]:
            r = self._hs.api_request({"method": "GET", "path": "/crm/v3/limits/pipelines"})
            if r.status_code != 200:
                raise _HttpFailure(r.status_code, r.text, r.headers)
            return r.json()

        rows = self._call(fetch, idempotent=True).get("hubspotDefinedObjectTypes") or []
        deals = next((x for x in rows if x.get("objectTypeId") == "0-3"), {})
        return int(deals.get("usage", 0)), int(deals.get("limit", 0))

    def property_names(self, object_type: str) -> set[str]:
        """The names of every property of ``object_type`` (one list call)."""
        api = self._api("crm.properties.core_api")
        return {p.name for p in self._call(lambda: api.get_all(object_type, _request_timeout=TIMEOUT),
                                           idempotent=True).results}

    def ensure_pipeline(self, label: str, stages: Sequence[tuple[str, float] | tuple[str, float, bool]]) -> Pipeline:
        """The deal pipeline with this label, created if absent with ``stages``:
        (label, probability 0.0-1.0[, is_closed]) in display order."""
        api = self._api("crm.pipelines.pipelines_api")
        existing = self._call(lambda: api.get_all("deals", _request_timeout=TIMEOUT), idempotent=True)
        for p in existing.results:
            if p.label.lower() == label.lower():
                return Pipeline.from_api(p)
        body = {"label": label, "displayOrder": len(existing.results), "stages": [
            {"label": s[0], "displayOrder": i,
             "metadata": {"probability": str(float(s[1])), "isClosed": "true" if len(s) > 2 and s[2] else "false"}}
            for i, s in enumerate(stages)]}
        try:
            created = self._call(lambda: api.create("deals", body, _request_timeout=TIMEOUT), idempotent=False)
        except Conflict:  # created meanwhile by another run
            return self.ensure_pipeline(label, stages)
        return Pipeline.from_api(created)

    # ---------- properties
    def ensure_properties(self, object_type: str, specs: Mapping[str, tuple[str, str, str]]) -> None:
        """Every property of ``specs`` ({name: (label, type, field type)}) exists: one list call, then a
        create for each one missing (instead of a read per property). The runs of a worker check one at
        a time, so on a new account the first run creates them and the others find them."""
        api = self._api("crm.properties.core_api")
        with _SCHEMA_LOCK:
            have = {p.name for p in self._call(lambda: api.get_all(object_type, _request_timeout=TIMEOUT),
                                               idempotent=True).results}
            for name, (label, type_, field_type) in specs.items():
                if name not in have:  # known missing: created without a read first
                    self._create_property(object_type, name, label, type_, field_type)

    def ensure_property(self, object_type: str, name: str, label: str, type: str = "string", field_type: str = "text",
                        group: str = "", options: Sequence[tuple[str, str]] = ()) -> PropertyDef:
        """The property ``name``, created if absent (``options``: (label, value) pairs for enumerations)."""
        api = self._api("crm.properties.core_api")
        try:
            p = self._call(lambda: api.get_by_name(object_type, name, _request_timeout=TIMEOUT), idempotent=True)
        except NotFound:
            return self._create_property(object_type, name, label, type, field_type, group, options)
        return PropertyDef.from_api(p)

    def _create_property(self, object_type: str, name: str, label: str, type: str, field_type: str,
                         group: str = "", options: Sequence[tuple[str, str]] = ()) -> PropertyDef:
        api = self._api("crm.properties.core_api")
        body: dict[str, Any] = {"name": name, "label": label, "type": type, "fieldType": field_type,
                                "groupName": group or _default_group(object_type)}
        if options:
            body["options"] = [{"label": lab, "value": val, "displayOrder": i, "hidden": False}
                               for i, (lab, val) in enumerate(options)]
        try:
            p = self._call(lambda: api.create(object_type, body, _request_timeout=TIMEOUT), idempotent=False)
        except Conflict:  # created meanwhile
            p = self._call(lambda: api.get_by_name(object_type, name, _request_timeout=TIMEOUT), idempotent=True)
        return PropertyDef.from_api(p)


def _filter(f: Mapping[str, Any] | tuple) -> dict[str, Any]:
    if isinstance(f, Mapping):
        return dict(f)
    prop, op, *rest = f
    out: dict[str, Any] = {"propertyName": prop, "operator": op}
    if rest:
        value = rest[0]
        if isinstance(value, (list, tuple, set)):
            out["values"] = [str(v) for v in value]
        else:
            out["value"] = str(value)
    if len(rest) > 1:
        out["highValue"] = str(rest[1])
    return out


def _epoch_ms(ts: datetime | int | str) -> str:
    if isinstance(ts, datetime):
        return str(int(ts.timestamp() * 1000))
    return str(ts)


def _default_group(object_type: str) -> str:
    return {"contacts": "contactinformation", "companies": "companyinformation", "deals": "dealinformation",
            "line_items": "lineiteminformation", "invoices": "invoiceinformation"}.get(object_type, "notes")

