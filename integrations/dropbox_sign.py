"""E-signatures for the SOP (B2.4) on Dropbox Sign, with its official SDK ``dropbox-sign`` (2.0.0).

``connect(api_key, base_url=None, test_mode=...)`` builds the SDK's ``ApiClient`` (HTTP Basic auth, the
API key as the user name) pointed at ``https://api.hellosign.com/v3``, or at ``base_url`` (the
sandbox, plain HTTP: ``Configuration(host=...)`` takes any base URL), and returns a ``DropboxSign``:
send a signature request (one file, signers in order), find one again by its key, read it, remind a
signer, cancel it and download the signed PDF (its audit trail merged in, as Dropbox Sign returns it
with ``file_type=pdf``). Answers are the frozen dataclasses ``SignatureRequest`` and ``Signature``
(``from_api``).

Endpoints (developers.hellosign.com/api/reference/, the paths of hellosign-openapi ``openapi-sdk.yaml``):
``POST /signature_request/send``, ``GET /signature_request/{id}``, ``GET /signature_request/list``
(``query``: free terms match the metadata), ``POST /signature_request/remind/{id}``,
``POST /signature_request/cancel/{id}``, ``GET /signature_request/files/{id}?file_type=pdf``.

Errors: Dropbox Sign answers ``{"error": {"error_msg", "error_name", "error_path"}}`` with 400, 401,
402, 403, 404, 409, 410 (deleted: a cancelled request), 429 (``exceeded_rate``, with the
``X-RateLimit-*`` headers); ``translate`` maps them (and urllib3's transport errors) to
``integrations.errors``. Budgets: 100 requests / minute per account for the standard endpoints, 25 for
the high tier (send, files), 10 in test mode (help.dropbox.com, "API requests that count against the
limit"). Retries: ``integrations.retry`` only (the SDK's urllib3 pool is built without retries).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import urllib3
from dropbox_sign import ApiClient, ApiException, Configuration, SignatureRequestApi
from dropbox_sign.models import (
    SignatureRequestRemindRequest,
    SignatureRequestSendRequest,
    SubSignatureRequestSigner,
    SubSigningOptions,
)

from . import budget, calls
from .errors import Conflict, IntegrationError, InvalidInput, NotFound, RateLimited, Transient

VENDOR = "dropbox_sign"
LIVE_HOST = "https://api.hellosign.com/v3"
KEY_FIELD = "onboarding_key"  # the metadata key a request is found again by
PAGE_SIZE = 100  # the list endpoint's maximum
T = TypeVar("T")


# --- results


@dataclass(frozen=True)
class Signature:
    """One signer's part: ``status`` is Dropbox Sign's ``status_code`` (awaiting_signature, signed,
    declined, expired…); ``order`` is 0-based."""

    signature_id: str
    email: str
    name: str
    order: int | None
    status: str
    signed_at: datetime | None
    decline_reason: str | None = None
    last_reminded_at: datetime | None = None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Signature:
        return cls(signature_id=raw.get("signature_id", ""), email=raw.get("signer_email_address", ""),
                   name=raw.get("signer_name") or "", order=raw.get("order"), status=raw.get("status_code", ""),
                   signed_at=_time(raw.get("signed_at")), decline_reason=raw.get("decline_reason"),
                   last_reminded_at=_time(raw.get("last_reminded_at")))


@dataclass(frozen=True)
class SignatureRequest:
    """A signature request as the SOP reads it. ``state``: complete | declined | expired | cancelled |
    awaiting (cancelled: Dropbox Sign answers 410 for it, see ``DropboxSign.status``)."""

    id: str
    title: str
    is_complete: bool
    is_declined: bool
    signatures: tuple[Signature, ...]
    metadata: dict[str, Any]
    details_url: str = ""
    created_at: datetime | None = None
    expires_at: datetime | None = None
    test_mode: bool = False
    cancelled: bool = False

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> SignatureRequest:
        sigs = sorted((Signature.from_api(s) for s in raw.get("signatures") or []),
                      key=lambda s: (s.order is None, s.order or 0))
        return cls(id=raw["signature_request_id"], title=raw.get("title") or "",
                   is_complete=bool(raw.get("is_complete")), is_declined=bool(raw.get("is_declined")),
                   signatures=tuple(sigs), metadata=dict(raw.get("metadata") or {}),
                   details_url=raw.get("details_url") or "", created_at=_time(raw.get("created_at")),
                   expires_at=_time(raw.get("expires_at")), test_mode=bool(raw.get("test_mode")))

    @property
    def key(self) -> str:
        return str(self.metadata.get(KEY_FIELD, ""))

    @property
    def state(self) -> str:
        if self.cancelled:
            return "cancelled"
        if self.is_complete:
            return "complete"
        if self.is_declined:
            return "declined"
        if any(s.status == "expired" for s in self.signatures):
            return "expired"
        return "awaiting"

    @property
    def settled(self) -> bool:
        """Nothing more will happen to it: complete, declined, expired or cancelled."""
        return self.state != "awaiting"

    def next_signer(self) -> Signature | None:
        """Whose turn it is: the first signer (in order) still awaiting their signature."""
        return next((s for s in self.signatures if s.status == "awaiting_signature"), None)

    def declined_by(self) -> Signature | None:
        return next((s for s in self.signatures if s.status == "declined"), None)

    def completed_at(self) -> datetime | None:
        """When the last signer signed (None until complete)."""
        times = [s.signed_at for s in self.signatures if s.signed_at]
        return max(times) if self.is_complete and times else None


def request_key(*parts: str) -> str:
    """A key that finds a request again through the list endpoint's free-text search: one token of
    letters and digits (search splits on punctuation), unique per client and contract attempt."""
    return "onb" + hashlib.sha256(":".join(parts).encode()).hexdigest()[:20]


# --- connect


def connect(api_key: str, base_url: str | None = None, *, test_mode: bool = False, timeout: float = 30.0) -> DropboxSign:
    """A ``DropboxSign`` on the official SDK: live Dropbox Sign, or ``base_url`` (the sandbox) when given.
    ``test_mode`` marks every request sent as a test (free, not legally binding)."""
    config = Configuration(host=(base_url or LIVE_HOST).rstrip("/"), username=api_key, password="")
    config.retries = False  # urllib3 must not retry behind integrations.retry (a POST could be sent twice)
    return DropboxSign(ApiClient(config), test_mode=test_mode, timeout=timeout)


# --- errors


def translate(exc: Exception) -> Exception:
    """``exc`` as the ``integrations.errors`` exception it means: an ``ApiException`` by its status and
    Dropbox Sign's ``error_name``; urllib3's transport errors are Transient; anything else unchanged."""
    if isinstance(exc, ApiException):
        return _by_status(exc.status or 0, exc.body, exc.headers or {})
    if isinstance(exc, urllib3.exceptions.HTTPError):  # refused, timed out, dropped
        return Transient(VENDOR, f"connection failed: {type(exc).__name__}")
    return exc


def _by_status(status: int, body: Any, headers: Any) -> IntegrationError:
    err = _error_body(body)
    name, msg = err.get("error_name", ""), err.get("error_msg", "") or "error"
    message = f"{msg} (HTTP {status}, {name or 'no error_name'}" + (f", at {err['error_path']})" if err.get(
        "error_path") else ")")
    if status == 429:
        return RateLimited(VENDOR, message, retry_after=_retry_after(headers))
    if status in (404, 410):
        return NotFound(VENDOR, message, status=status)
    if status == 409:
        return Conflict(VENDOR, message)
    if status >= 500 or status == 0:
        return Transient(VENDOR, message, status=status or None)
    return InvalidInput(VENDOR, message, status=status)  # 400, 401 (the key), 402/403 (the plan)


def _error_body(body: Any) -> dict[str, Any]:
    try:
        data = json.loads(body) if isinstance(body, (str, bytes)) else {}
    except ValueError:
        return {}
    return data.get("error", {}) if isinstance(data, dict) and isinstance(data.get("error"), dict) else {}


def _retry_after(headers: Any) -> float | None:
    """Seconds until ``X-Ratelimit-Reset`` (a Unix time), as Dropbox Sign sends no Retry-After."""
    reset = headers.get("X-Ratelimit-Reset") or headers.get("X-RateLimit-Reset")
    try:
        return max(0.0, float(reset) - datetime.now(UTC).timestamp()) if reset else None
    except (TypeError, ValueError):
        return None


# --- the client


class DropboxSign:
    """The Dropbox Sign operations of SOP-B 2.4."""

    def __init__(self, api_client: ApiClient, *, test_mode: bool, timeout: float) -> None:
        self._api = SignatureRequestApi(api_client)
        self.test_mode = test_mode
        self._timeout = timeout

    def _call(self, fn: Callable[[], T], *, idempotent: bool, tier: str = "standard",
              attempts: int | None = None) -> T:
        """One SDK call: a slot of the account's per-minute budget (``tier``: standard or high, or the
        test-mode one), the call, its error through ``translate``, retried per ``integrations.retry``."""
        return calls.call(fn, idempotent=idempotent, slot=lambda: budget.dropbox_sign(
            "test" if self.test_mode else tier), translate=translate, attempts=attempts)

    def send(self, *, key: str, title: str, subject: str, message: str, file_name: str, content: bytes,
             signers: list[tuple[str, str]], metadata: dict[str, str] | None = None,
             expires_at: datetime | None = None) -> SignatureRequest:
        """Send ``content`` (a file Dropbox Sign converts: PDF, DOCX, HTML…) to ``signers`` ((name, email)
        pairs) who sign in that order; Dropbox Sign appends a signature page (no fields placed). The
        request carries ``key`` in its metadata (``find``). A plain POST: not retried on 5xx."""
        body = SignatureRequestSendRequest(
            title=title[:255], subject=subject[:255], message=message[:5000],
            signers=[SubSignatureRequestSigner(name=name, email_address=email, order=i)
                     for i, (name, email) in enumerate(signers)],
            files=[_named(file_name, content)],
            metadata={**(metadata or {}), KEY_FIELD: key},
            allow_decline=True,  # a signer who will not sign says so, and the run follows its on_decline
            signing_options=SubSigningOptions(default_type="type", draw=True, type=True, upload=True, phone=False),
            test_mode=self.test_mode,
            expires_at=int(expires_at.timestamp()) if expires_at else None,
        )
        resp = self._call(lambda: self._api.signature_request_send(body, _request_timeout=self._timeout),
                          idempotent=False, tier="high")
        return SignatureRequest.from_api(resp.signature_request.to_dict())

    def find(self, key: str) -> SignatureRequest | None:
        """The newest request carrying ``key`` in its metadata (listed with ``query=key``), or None.
        Dropbox Sign indexes a new request after a short delay, so this covers a re-run, not a retry
        a second later."""
        found: list[SignatureRequest] = []
        page = 1
        while True:
            resp = self._call(lambda p=page: self._api.signature_request_list(
                query=key, page=p, page_size=PAGE_SIZE, _request_timeout=self._timeout), idempotent=True)
            found += [r for r in (SignatureRequest.from_api(x.to_dict()) for x in resp.signature_requests or [])
                      if r.key == key]
            info = resp.list_info
            if not info or not info.num_pages or page >= info.num_pages:
                break
            page += 1
        return max(found, key=lambda r: r.created_at or datetime.min.replace(tzinfo=UTC), default=None)

    def request_count(self) -> int:
        """How many signature requests the key's account can see (one list call): a read that proves the
        key works (401 ``unauthorized`` otherwise)."""
        resp = self._call(lambda: self._api.signature_request_list(page=1, page_size=1,
                                                                   _request_timeout=self._timeout), idempotent=True)
        return int(resp.list_info.num_results or 0) if resp.list_info else 0

    def get(self, request_id: str) -> SignatureRequest:
        """One request; NotFound when it does not exist or was cancelled (Dropbox Sign: 410 deleted)."""
        resp = self._call(lambda: self._api.signature_request_get(request_id, _request_timeout=self._timeout),
                          idempotent=True)
        return SignatureRequest.from_api(resp.signature_request.to_dict())

    def status(self, request_id: str) -> SignatureRequest:
        """``get``, with a cancelled request (410) answered as one in the state ``cancelled``."""
        try:
            return self.get(request_id)
        except NotFound as exc:
            if exc.status != 410:
                raise
            return SignatureRequest(id=request_id, title="", is_complete=False, is_declined=False, signatures=(),
                                    metadata={}, cancelled=True)

    def remind(self, request_id: str, email: str) -> SignatureRequest:
        """Email the signer ``email`` a reminder. Dropbox Sign allows one per hour per request (manual or
        automatic): sooner is refused (InvalidInput), which callers treat as "already reminded"."""
        resp = self._call(lambda: self._api.signature_request_remind(
            request_id, SignatureRequestRemindRequest(email_address=email), _request_timeout=self._timeout),
            idempotent=True)
        return SignatureRequest.from_api(resp.signature_request.to_dict())

    def cancel(self, request_id: str) -> bool:
        """Cancel an incomplete request (not reversible); False when it was already gone or complete."""
        try:
            self._call(lambda: self._api.signature_request_cancel(request_id, _request_timeout=self._timeout),
                       idempotent=True)
        except (NotFound, InvalidInput):
            return False
        return True

    def signed_pdf(self, request_id: str) -> bytes:
        """The signed documents as one PDF with Dropbox Sign's audit trail merged at the end
        (``file_type=pdf``); Conflict (409) while Dropbox Sign is still preparing it."""
        data = self._call(lambda: self._api.signature_request_files(
            request_id, file_type="pdf", _request_timeout=self._timeout), idempotent=True, tier="high")
        return data.read() if hasattr(data, "read") else bytes(data)


def _named(name: str, content: bytes) -> io.BytesIO:
    """File content as the SDK uploads it: it names the part after the stream's ``name``."""
    f = io.BytesIO(content)
    f.name = name
    return f


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value not in (None, "") else None
