"""Dropbox Sign's state and rules for the signature-request endpoints the SOP uses.

Rules kept (each from the endpoint's description in hellosign-openapi ``openapi-sdk.yaml`` or the
docs named): ``files`` or ``file_urls`` but not both; ``signers`` need a name and an email; ``title``
and ``subject`` at most 255 characters, ``message`` 5000; metadata at most 10 keys, key names 40
characters, values 1000; ``expires_at`` between 1 and 90 days ahead, rounded down to the hour
(developers.hellosign.com/docs/signature-request/expiration); with ``order`` set, a signer signs only
after every earlier one; a signer declines only when ``allow_decline`` was sent; a reminder not within
1 hour of the last one on the request; only an incomplete request can be cancelled, and a cancelled one
answers 410; the list's ``page_size`` is 1-100. Not emulated (refused, never ignored): ``file_urls``,
``file_type=zip``, ``OR`` in a search query.
"""

from __future__ import annotations

import base64
import json
import math
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from typing import Any

from . import errors, pdf

KIND = "signature_request"
FILE_TYPES = {".pdf", ".doc", ".docx", ".html", ".htm", ".txt", ".rtf", ".odt", ".xls", ".xlsx", ".ppt", ".pptx",
              ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff"}  # help.dropbox.com "Supported file types"
REMIND_EVERY = timedelta(hours=1)
FIELDS = ("title", "subject", "message")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes")


def _json(value: Any, path: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise errors.bad_request(f"Invalid JSON in {path}", path) from None


class DropboxSignBackend:
    def __init__(self, db, ctx) -> None:
        self.db = db
        self.ctx = ctx

    def seed(self, team: list[dict[str, str]]) -> None:
        if self.db.get("account", "main") is None:
            owner = team[0]["email"] if team else "admin@sandbox.example"
            self.db.put("account", "main", {"account_id": secrets.token_hex(20), "email_address": owner})

    @property
    def account(self) -> dict[str, Any]:
        return self.db.get("account", "main") or {"email_address": "admin@sandbox.example"}

    def now(self) -> datetime:
        return self.ctx.now()

    # ---- send ------------------------------------------------------------------------------

    def send(self, form: dict[str, Any], files: list[tuple[str, bytes]]) -> dict[str, Any]:
        if form.get("file_urls") or form.get("file_urls[0]"):
            raise errors.bad_request("file_urls is not emulated by the sandbox: upload files[]", "file_urls")
        if not files:
            raise errors.bad_request("Must specify files or file_urls", "files")
        for i, (name, _) in enumerate(files):
            if PurePath(name).suffix.lower() not in FILE_TYPES:
                raise errors.bad_request(f"Unsupported file type: {name}", f"files[{i}]")
        signers = _json(form.get("signers"), "signers") or []
        if form.get("grouped_signers"):
            raise errors.bad_request("grouped_signers is not emulated by the sandbox", "grouped_signers")
        if not signers:
            raise errors.bad_request("Must specify signers", "signers")
        for i, s in enumerate(signers):
            if not s.get("name"):
                raise errors.bad_request("This value should not be blank", f"signers[{i}].name")
            if "@" not in str(s.get("email_address", "")):
                raise errors.bad_request("This value is not a valid email address.", f"signers[{i}].email_address")
        orders = [s.get("order") for s in signers if s.get("order") is not None]
        if len(orders) != len(set(orders)):
            raise errors.bad_request("Signer order must be unique", "signers")
        for field, most in (("title", 255), ("subject", 255), ("message", 5000)):
            if len(str(form.get(field) or "")) > most:
                raise errors.bad_request(f"This value is too long. It should have {most} characters or less.", field)
        metadata = _json(form.get("metadata"), "metadata") or {}
        if len(metadata) > 10:
            raise errors.bad_request("Metadata may have at most 10 keys", "metadata")
        for k, v in metadata.items():
            if len(k) > 40 or len(str(v)) > 1000:
                raise errors.bad_request("Metadata keys are at most 40 characters, values 1000", f"metadata.{k}")
        now = self.now()
        expires = None
        if form.get("expires_at") not in (None, ""):
            at = datetime.fromtimestamp(int(form["expires_at"]), now.tzinfo)
            if not now + timedelta(days=1) <= at <= now + timedelta(days=90):
                raise errors.bad_request("expires_at must be between 1 and 90 days in the future", "expires_at")
            expires = int(at.replace(minute=0, second=0, microsecond=0).timestamp())
        rid = secrets.token_hex(20)
        ordered = sorted(enumerate(signers), key=lambda p: (p[1].get("order") is None, p[1].get("order") or 0, p[0]))
        row = {
            "signature_request_id": rid,
            "test_mode": _bool(form.get("test_mode", False)),
            "title": form.get("title") or files[0][0],
            "original_title": form.get("title") or files[0][0],
            "subject": form.get("subject") or None,
            "message": form.get("message") or None,
            "metadata": metadata,
            "created_at": int(now.timestamp()),
            "expires_at": expires,
            "is_complete": False,
            "is_declined": False,
            "has_error": False,
            "requester_email_address": self.account["email_address"],
            "cc_email_addresses": [],
            "signing_url": None,
            "signing_redirect_url": None,
            "final_copy_uri": None,
            "template_ids": None,
            "custom_fields": [],
            "response_data": [],
            "attachments": None,
            "signatures": [{
                "signature_id": secrets.token_hex(16), "signer_email_address": s["email_address"],
                "signer_name": s["name"], "signer_role": None,
                "order": s.get("order"), "status_code": "awaiting_signature", "signed_at": None,
                "last_viewed_at": None, "last_reminded_at": None, "has_pin": bool(s.get("pin")),
                "has_sms_auth": False, "has_sms_delivery": False, "sms_phone_number": None,
                "reassigned_by": None, "reassignment_reason": None, "reassigned_from": None,
                "error": None, "decline_reason": None,
            } for _, s in ordered],
            "_allow_decline": _bool(form.get("allow_decline", False)),
            "_files": [{"name": n, "data": base64.b64encode(d).decode()} for n, d in files],
            "_trail": [{"at": int(now.timestamp()), "event": "sent",
                        "detail": f"sent for signature by {self.account['email_address']}"}],
            "_cancelled": False,
        }
        self.db.put(KIND, rid, row)
        return self.render(row)

    # ---- reads -----------------------------------------------------------------------------

    def _row(self, rid: str) -> dict[str, Any]:
        row = self.db.get(KIND, rid)
        if row is None:
            raise errors.not_found()
        if row["_cancelled"]:
            raise errors.deleted()
        return self._expire(row)

    def _expire(self, row: dict[str, Any]) -> dict[str, Any]:
        """Past ``expires_at`` every unsigned signature is ``expired`` (the request then is too)."""
        if row["expires_at"] and not row["is_complete"] and self.now().timestamp() >= row["expires_at"]:
            changed = False
            for s in row["signatures"]:
                if s["status_code"] == "awaiting_signature":
                    s["status_code"], changed = "expired", True
            if changed:
                row["_trail"].append({"at": row["expires_at"], "event": "expired", "detail": "the request expired"})
                self.db.put(KIND, row["signature_request_id"], row)
        return row

    def get(self, rid: str) -> dict[str, Any]:
        return self.render(self._row(rid))

    def render(self, row: dict[str, Any]) -> dict[str, Any]:
        rid = row["signature_request_id"]
        public = {k: v for k, v in row.items() if not k.startswith("_")}
        public["details_url"] = f"https://app.hellosign.com/home/manage?guid={rid}"
        public["files_url"] = f"https://api.hellosign.com/v3/signature_request/files/{rid}"
        public["signer_experience"] = {"form_view": "disabled"}
        return public

    def list(self, query: str | None, page: int, page_size: int) -> dict[str, Any]:
        if not 1 <= page_size <= 100:
            raise errors.bad_request("page_size must be between 1 and 100", "page_size")
        if page < 1:
            raise errors.bad_request("page must be 1 or more", "page")
        rows = [self._expire(r) for r in reversed(self.db.list(KIND)) if not r["_cancelled"]]
        if query:
            rows = [r for r in rows if self._matches(r, query)]
        pages = max(1, math.ceil(len(rows) / page_size))
        chunk = rows[(page - 1) * page_size: page * page_size]
        return {"signature_requests": [self.render(r) for r in chunk],
                "list_info": {"num_pages": pages, "num_results": len(rows), "page": page, "page_size": page_size}}

    def _matches(self, row: dict[str, Any], query: str) -> bool:
        """The search guide's terms, all of which must match (``AND`` between them is optional): a free
        term against to, from, title, subject, message, metadata and file names; ``field:value`` for
        to, from, title, subject, message, metadata, filename and complete (substring, any case)."""
        terms = [t for t in query.split() if t != "AND"]
        if "OR" in terms:
            raise errors.bad_request("OR queries are not emulated by the sandbox", "query")
        me = self.account["email_address"]
        fields = {
            "to": " ".join(f"{s['signer_email_address']} {s['signer_name']}" for s in row["signatures"]),
            "from": f"{row['requester_email_address']} me" if row["requester_email_address"] == me else "",
            "title": row["title"] or "", "subject": row["subject"] or "", "message": row["message"] or "",
            "metadata": " ".join(f"{k} {v}" for k, v in row["metadata"].items()),
            "filename": " ".join(f["name"] for f in row["_files"]),
        }
        for term in terms:
            field, _, value = term.partition(":") if ":" in term else ("", "", term)
            value = value.strip('"').lower()
            if field == "complete":
                if str(row["is_complete"]).lower() != value:
                    return False
            elif field:
                if field not in fields:
                    raise errors.bad_request(f"Unknown search field {field}", "query")
                if value not in fields[field].lower():
                    return False
            elif not any(value in text.lower() for text in fields.values()):
                return False
        return True

    # ---- actions ---------------------------------------------------------------------------

    def remind(self, rid: str, email: str | None) -> dict[str, Any]:
        row = self._row(rid)
        if not email:
            raise errors.bad_request("This value should not be blank", "email_address")
        if row["is_complete"] or row["is_declined"]:
            raise errors.bad_request("This request is no longer awaiting signatures", "signature_request_id")
        signer = next((s for s in row["signatures"] if s["signer_email_address"].lower() == email.lower()), None)
        if signer is None or signer["status_code"] != "awaiting_signature":
            raise errors.bad_request(f"{email} is not a signer awaiting a signature on this request", "email_address")
        now = int(self.now().timestamp())
        last = max((s["last_reminded_at"] or 0 for s in row["signatures"]), default=0)
        if last and now - last < REMIND_EVERY.total_seconds():
            raise errors.bad_request("You cannot send a reminder within 1 hour of the last reminder that was sent",
                                     "signature_request_id")
        signer["last_reminded_at"] = now
        row["_trail"].append({"at": now, "event": "reminded", "detail": f"reminder emailed to {email}"})
        self.db.put(KIND, rid, row)
        return self.render(row)

    def cancel(self, rid: str) -> None:
        row = self._row(rid)
        if row["is_complete"]:
            raise errors.bad_request("A completed signature request cannot be canceled", "signature_request_id")
        row["_cancelled"] = True
        row["_trail"].append({"at": int(self.now().timestamp()), "event": "cancelled", "detail": "cancelled"})
        self.db.put(KIND, rid, row)

    def files(self, rid: str, file_type: str) -> bytes:
        if file_type != "pdf":
            raise errors.bad_request("Only file_type=pdf is emulated by the sandbox", "file_type")
        return self.signed_pdf(self._row(rid))

    def signed_pdf(self, row: dict[str, Any]) -> bytes:
        """The documents, the appended signature page and the audit trail, merged (Dropbox Sign's
        default: help.dropbox.com "How to separate the audit trail")."""
        sections = [(f["name"], pdf.text_of(base64.b64decode(f["data"]), f["name"]).splitlines())
                    for f in row["_files"]]
        sections.append(("Signatures", [
            f"{s['signer_name']} <{s['signer_email_address']}>: {s['status_code']}"
            + (f", signed {self._at(s['signed_at'])}" if s["signed_at"] else "") for s in row["signatures"]]))
        sections.append(("Audit trail", [f"Title: {row['title']}", f"Document ID: {row['signature_request_id']}",
                                         f"Test mode: {row['test_mode']}", ""]
                         + [f"{self._at(e['at'])}  {e['event'].upper()}  {e['detail']}" for e in row["_trail"]]))
        return pdf.build(sections)

    @staticmethod
    def _at(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    # ---- the signers (simulated people) ----------------------------------------------------

    def sign(self, rid: str, email: str | None) -> dict[str, Any]:
        row = self._row(rid)
        signer = self._turn(row, email)
        now = int(self.now().timestamp())
        signer.update(status_code="signed", signed_at=now, last_viewed_at=now)
        row["_trail"].append({"at": now, "event": "signed", "detail": f"signed by {signer['signer_name']} "
                                                                      f"<{signer['signer_email_address']}>"})
        if all(s["status_code"] == "signed" for s in row["signatures"]):
            row["is_complete"] = True
            row["final_copy_uri"] = f"/v3/signature_request/files/{rid}"
            row["_trail"].append({"at": now, "event": "completed", "detail": "the document has been completed"})
        self.db.put(KIND, rid, row)
        return self.render(row)

    def decline(self, rid: str, email: str | None, reason: str) -> dict[str, Any]:
        row = self._row(rid)
        signer = self._turn(row, email)
        if not row["_allow_decline"]:
            raise errors.bad_request("This request does not allow signers to decline", "allow_decline")
        now = int(self.now().timestamp())
        signer.update(status_code="declined", decline_reason=reason or None, last_viewed_at=now)
        row["is_declined"] = True
        row["_trail"].append({"at": now, "event": "declined",
                              "detail": f"declined by {signer['signer_email_address']}: {reason}"})
        self.db.put(KIND, rid, row)
        return self.render(row)

    def _turn(self, row: dict[str, Any], email: str | None) -> dict[str, Any]:
        """The signer ``email`` (default: whoever's turn it is), if it is their turn to act."""
        if row["is_complete"] or row["is_declined"]:
            raise errors.conflict("This request is no longer awaiting signatures")
        waiting = [s for s in row["signatures"] if s["status_code"] == "awaiting_signature"]
        if not waiting:
            raise errors.conflict("Nobody is awaiting a signature (the request expired)")
        signer = waiting[0] if not email else next(
            (s for s in row["signatures"] if s["signer_email_address"].lower() == email.lower()), None)
        if signer is None:
            raise errors.bad_request(f"{email} is not a signer of this request", "email")
        if signer["status_code"] != "awaiting_signature":
            raise errors.conflict(f"{signer['signer_email_address']} has already acted ({signer['status_code']})")
        ordered = any(s["order"] is not None for s in row["signatures"])
        if ordered and signer is not waiting[0]:
            raise errors.conflict(f"Not {signer['signer_email_address']}'s turn: "
                                  f"{waiting[0]['signer_email_address']} signs first")
        return signer

    def pending(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(request, signer) for each signer whose turn it is (the sandbox page's buttons)."""
        out = []
        for row in self.db.list(KIND):
            if row["_cancelled"] or row["is_complete"] or row["is_declined"]:
                continue
            row = self._expire(row)
            waiting = [s for s in row["signatures"] if s["status_code"] == "awaiting_signature"]
            ordered = any(s["order"] is not None for s in row["signatures"])
            out += [(row, s) for s in (waiting[:1] if ordered else waiting)]
        return out
