"""Keap state: contacts (with their email status), tags and which tags each contact carries.

Rules, each from Keap's published v1 OpenAPI document (``openapi/_original/keap-v1-openapi.json``,
served at https://crm.infusionsoft.com/app/v3/api-docs/V1) unless another source is named:

- A new contact needs at least one item in ``email_addresses`` or ``phone_numbers`` (createContact,
  createOrUpdateContact descriptions) → 400.
- ``POST /contacts`` does not check for duplicates: two contacts may share an email. Only ``PUT
  /contacts`` with ``duplicate_option`` (``Email`` or ``EmailAndName``) finds the existing one and
  updates it "with only the values provided" (createOrUpdateContact).
- ``opt_in_reason`` makes the email marketable, but "only ... for email addresses that are currently
  in the following states: Unengaged Marketable, Unengaged Non-Marketable, Non-Marketable, Opt-Out:
  Manual. All other existing statuses e.g. List Unsubscribe, Opt-Out System etc will remain
  non-marketable" (same descriptions). A contact made without one is not marketable (assumed
  ``NonMarketable``: Keap emails only contacts that gave permission).
- ``email_status`` takes the values of ``RestPartialContact.email_status``; list answers carry it,
  ``FullContact`` (the create/update answer) does not.
- ``POST /tags/{tagId}/contacts`` answers per contact id ``SUCCESS``, ``DUPLICATE`` (already tagged),
  ``CONTACT_NOT_FOUND`` … (applyTagToContactIds); a tag is applied once.
- Tag names are not unique in Keap (createTag checks nothing but ``name`` being present).
- A fresh account has no tags and no contacts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vendor_sandbox.core.store import VendorStore
from vendor_sandbox.core.vendor import SandboxContext

from . import errors

MARKETABLE = ("UnengagedMarketable", "SingleOptIn", "DoubleOptin", "Confirmed")
# the states an opt_in_reason may lift to marketable (createContact description)
OPT_IN_LIFTS = ("UnengagedMarketable", "UnengagedNonMarketable", "NonMarketable", "Manual")
UNSUBSCRIBED = ("Manual", "ListUnsubscribe", "System", "Admin")  # the opt-out states a client causes
DUPLICATE_OPTIONS = ("Email", "EmailAndName")
CONTACT_FIELDS = ("given_name", "family_name", "middle_name", "job_title", "contact_type", "source_type",
                  "lead_source_id", "owner_id", "website", "time_zone", "preferred_locale")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


def keap_time(dt: datetime) -> str:
    """Keap's timestamps: ``2026-03-02T10:15:30.000+0000``."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _primary_email(contact: dict[str, Any]) -> str:
    for e in contact.get("email_addresses") or []:
        if e.get("field") == "EMAIL1" and e.get("email"):
            return e["email"]
    return ""


class KeapBackend:
    """One Keap application (tenant) on ``db``: kinds contact, tag, applied (contact→tag), quota."""

    def __init__(self, db: VendorStore, ctx: SandboxContext) -> None:
        self.db = db
        self.ctx = ctx

    def seed(self, team: list[dict[str, str]]) -> None:
        """A fresh Keap application: no tags, no contacts (the company's campaigns make their own tags)."""

    # ---- contacts -------------------------------------------------------------------------------

    def _now(self) -> str:
        return keap_time(self.ctx.now())

    def _emails(self, body: dict[str, Any]) -> list[dict[str, str]]:
        emails = body.get("email_addresses") or []
        if not isinstance(emails, list):
            raise errors.bad_request("email_addresses must be a list")
        out = []
        for e in emails:
            if not isinstance(e, dict) or e.get("field") not in ("EMAIL1", "EMAIL2", "EMAIL3"):
                raise errors.bad_request("Email address field is required and must be one of EMAIL1, EMAIL2, EMAIL3")
            email = str(e.get("email") or "").strip()
            if email and ("@" not in email or " " in email):
                raise errors.bad_request(f"Invalid email address: {email}")
            out.append({"email": email, "field": e["field"]})
        return out

    def create_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("Input could not be converted to a valid request")
        emails = self._emails(body)
        if not any(e["email"] for e in emails) and not body.get("phone_numbers"):
            raise errors.bad_request("Contact must contain at least one item in email_addresses or phone_numbers")
        cid = self.db.next_int("contact", 1)
        now = self._now()
        reason = str(body.get("opt_in_reason") or "").strip()
        contact = {
            "id": cid, "email_addresses": emails, "phone_numbers": body.get("phone_numbers") or [],
            **{k: body[k] for k in CONTACT_FIELDS if body.get(k) is not None},
            "email_status": "SingleOptIn" if reason else "NonMarketable",
            "email_opted_in": bool(reason), "opt_in_reason": reason or None,
            "date_created": now, "last_updated": now,
        }
        contact.setdefault("source_type", "API")
        return self.db.put("contact", str(cid), contact)

    def upsert_contact(self, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """``PUT /contacts``: the contact matching ``duplicate_option`` updated, else a new one."""
        if not isinstance(body, dict):
            raise errors.bad_request("Input could not be converted to a valid request")
        option = body.get("duplicate_option")
        if option not in DUPLICATE_OPTIONS:
            raise errors.bad_request("duplicate_option must be one of Email, EmailAndName")
        emails = [e["email"] for e in self._emails(body) if e["email"]]
        match = None
        if emails:
            for c in self.find_contacts(email=emails[0]):
                if option == "Email" or (c.get("given_name") == body.get("given_name")
                                         and c.get("family_name") == body.get("family_name")):
                    match = c
                    break
        if match is None:
            return self.create_contact({k: v for k, v in body.items() if k != "duplicate_option"}), True
        for k in CONTACT_FIELDS:
            if body.get(k) is not None:
                match[k] = body[k]
        reason = str(body.get("opt_in_reason") or "").strip()
        if reason and match["email_status"] in OPT_IN_LIFTS:
            match.update(email_status="SingleOptIn", email_opted_in=True, opt_in_reason=reason)
        match["last_updated"] = self._now()
        return self.db.put("contact", str(match["id"]), match), False

    def contact(self, contact_id: int) -> dict[str, Any]:
        c = self.db.get("contact", str(contact_id))
        if c is None:
            raise errors.not_found(f"Contact with id {contact_id} not found")
        return c

    def find_contacts(self, email: str | None = None, given_name: str | None = None,
                      family_name: str | None = None) -> list[dict[str, Any]]:
        out = []
        for c in self.db.list("contact"):
            if email and email.lower() not in {e["email"].lower() for e in c.get("email_addresses") or []}:
                continue
            if given_name and c.get("given_name") != given_name:
                continue
            if family_name and c.get("family_name") != family_name:
                continue
            out.append(c)
        return out

    def unsubscribe(self, email: str, status: str = "Manual") -> dict[str, Any]:
        """The client clicked "unsubscribe" in one of the company's emails (Opt-Out: Manual), or their
        mail client's List-Unsubscribe button (``ListUnsubscribe``)."""
        if status not in UNSUBSCRIBED:
            raise errors.bad_request(f"status must be one of {', '.join(UNSUBSCRIBED)}")
        found = self.find_contacts(email=email)
        if not found:
            raise errors.not_found(f"No contact with email {email}")
        for c in found:
            c.update(email_status=status, email_opted_in=False, last_updated=self._now())
            self.db.put("contact", str(c["id"]), c)
        return found[0]

    # ---- tags -------------------------------------------------------------------------------------

    def create_tag(self, body: dict[str, Any]) -> dict[str, Any]:
        name = str((body or {}).get("name") or "").strip() if isinstance(body, dict) else ""
        if not name:
            raise errors.bad_request("Tag name is required")
        tid = self.db.next_int("tag", 91)  # a new application's first user tags have small ids
        tag = {"id": tid, "name": name, "description": body.get("description") or ""}  # no category: none is sent
        return self.db.put("tag", str(tid), tag)

    def tags(self, name: str | None = None) -> list[dict[str, Any]]:
        return [t for t in self.db.list("tag") if name is None or t["name"] == name]

    def apply_tag(self, tag_id: int, contact_ids: list[Any]) -> dict[str, str]:
        if self.db.get("tag", str(tag_id)) is None:
            return {str(c): "TAG_ID_NOT_FOUND" for c in contact_ids}
        out: dict[str, str] = {}
        for raw in contact_ids:
            key = f"{raw}:{tag_id}"
            if self.db.get("contact", str(raw)) is None:
                out[str(raw)] = "CONTACT_NOT_FOUND"
            elif self.db.get("applied", key) is not None:
                out[str(raw)] = "DUPLICATE"
            else:
                self.db.put("applied", key, {"contact_id": int(raw), "tag_id": tag_id, "date_applied": self._now()})
                out[str(raw)] = "SUCCESS"
        return out

    def contact_tags(self, contact_id: int) -> list[dict[str, Any]]:
        self.contact(contact_id)
        out = []
        for a in self.db.list_prefix("applied", f"{contact_id}:"):
            if a["contact_id"] != contact_id:
                continue
            tag = self.db.get("tag", str(a["tag_id"])) or {}
            out.append({"tag": {"id": a["tag_id"], "name": tag.get("name", "")},
                        "date_applied": a["date_applied"]})
        return out

    def tag_ids(self, contact_id: int) -> list[int]:
        return [a["tag_id"] for a in self.db.list_prefix("applied", f"{contact_id}:") if a["contact_id"] == contact_id]

    # ---- the account's daily quota (an administrator's view: how much is left) --------------------

    def daily_quota(self, default: int) -> int:
        rec = self.db.get("quota", "daily")
        return int(rec["limit"]) if rec else default

    def set_daily_quota(self, limit: int) -> dict[str, Any]:
        return self.db.put("quota", "daily", {"limit": limit})


def page(items: list[Any], limit: Any, offset: Any) -> tuple[list[Any], int, int]:
    """``limit``/``offset`` as Keap's list endpoints read them (RestQueryCommand)."""
    try:
        lim = DEFAULT_LIMIT if limit in (None, "") else int(limit)
        off = 0 if offset in (None, "") else int(offset)
    except ValueError:
        raise errors.bad_request("limit and offset must be integers") from None
    if lim < 1 or lim > MAX_LIMIT or off < 0:
        raise errors.bad_request(f"limit must be between 1 and {MAX_LIMIT}; offset must not be negative")
    return items[off:off + lim], lim, off
