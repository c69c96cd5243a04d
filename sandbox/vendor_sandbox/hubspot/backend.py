"""HubSpot CRM state: records, associations, owners, pipelines and properties (CONTRACTS.md §1).

Every error is raised as ``VendorError`` with HubSpot's body, built in errors.py: ``{"status":"error",
"message","correlationId","category"}``. Property values are validated against a per-object-type registry
(standard properties below + custom ones created through the properties API), as HubSpot does.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from vendor_sandbox.core.store import VendorStore
from vendor_sandbox.core.vendor import SandboxContext, VendorError

from .errors import batch_error, batch_not_found, error, not_found, validation
from .industries import INDUSTRY_VALUES

# objectType path names -> HubSpot object type ids [doc: developers.hubspot.com/docs/api/crm/understanding-the-crm]
# free mail providers: HubSpot makes no company for their domains (a short list of the common ones)
FREE_MAIL = {"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com",
             "aol.com", "proton.me", "protonmail.com", "gmx.com", "mail.com", "yandex.com", "zoho.com"}
# deal pipelines per subscription [doc: knowledge.hubspot.com "Set up and customize pipelines";
# HubSpot's product and services catalog, technical limits]
DEAL_PIPELINES = {"free": 1, "starter": 2, "professional": 15, "enterprise": 100}
TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "line_items": "0-8", "notes": "0-46",
            "invoices": "0-53"}
_ALIASES = {
    **{t: t for t in TYPE_IDS},
    **{v: k for k, v in TYPE_IDS.items()},
    "contact": "contacts", "company": "companies", "deal": "deals", "note": "notes", "line_item": "line_items",
    "invoice": "invoices",
}
_SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal", "notes": "note", "line_items": "line_item",
             "invoices": "invoice"}

# HUBSPOT_DEFINED association types: (from, to) -> [(typeId, label)], default (unlabeled) type first.
# [CONTRACTS §1 "Default association type IDs"; deal<->line_item 19/20 from the same doc page]
ASSOC_TYPES: dict[tuple[str, str], list[tuple[int, str | None]]] = {
    ("contacts", "companies"): [(279, None), (1, "Primary")],
    ("companies", "contacts"): [(280, None), (2, "Primary")],
    ("deals", "contacts"): [(3, None)],
    ("contacts", "deals"): [(4, None)],
    ("deals", "companies"): [(341, None), (5, "Primary")],
    ("companies", "deals"): [(342, None), (6, "Primary")],
    ("notes", "contacts"): [(202, None)],
    ("contacts", "notes"): [(201, None)],
    ("notes", "companies"): [(190, None)],
    ("companies", "notes"): [(189, None)],
    ("notes", "deals"): [(214, None)],
    ("deals", "notes"): [(213, None)],
    ("deals", "line_items"): [(19, None)],
    ("line_items", "deals"): [(20, None)],
    # invoices [doc: developers.hubspot.com/docs/api-reference/crm-invoices-v3/guide]: 177 invoice -> contact is the
    # guide's; the others are HubSpot's association-type table (associate-records guide, "invoice to object").
    # The onboarding client sends only 177 and default (PUT .../associations/default/...) associations.
    ("invoices", "contacts"): [(177, None)],
    ("contacts", "invoices"): [(178, None)],
    ("invoices", "companies"): [(179, None)],
    ("companies", "invoices"): [(180, None)],
    ("invoices", "deals"): [(175, None)],
    ("deals", "invoices"): [(176, None)],
    ("invoices", "line_items"): [(409, None)],
    ("line_items", "invoices"): [(410, None)],
}
INVERSE_TYPE = {1: 2, 2: 1, 279: 280, 280: 279, 3: 4, 4: 3, 341: 342, 342: 341, 5: 6, 6: 5,
                202: 201, 201: 202, 190: 189, 189: 190, 214: 213, 213: 214, 19: 20, 20: 19,
                177: 178, 178: 177, 179: 180, 180: 179, 175: 176, 176: 175, 409: 410, 410: 409}
# v3 `associations=` type names: primary/default types carry the plain name, unlabeled ones "_unlabeled"
V3_TYPE_NAME = {1: "contact_to_company", 279: "contact_to_company_unlabeled", 2: "company_to_contact",
                280: "company_to_contact_unlabeled", 3: "deal_to_contact", 4: "contact_to_deal",
                5: "deal_to_company", 341: "deal_to_company_unlabeled", 6: "company_to_deal",
                342: "company_to_deal_unlabeled", 202: "note_to_contact", 201: "contact_to_note",
                190: "note_to_company", 189: "company_to_note", 214: "note_to_deal", 213: "deal_to_note",
                19: "deal_to_line_item", 20: "line_item_to_deal", 177: "invoice_to_contact",
                178: "contact_to_invoice", 179: "invoice_to_company", 180: "company_to_invoice", 175: "invoice_to_deal",
                176: "deal_to_invoice", 409: "invoice_to_line_item", 410: "line_item_to_invoice"}
# a line item belongs to one parent: a deal, an invoice (or a quote) [doc: the invoices guide, "Line items belong to
# one single parent object"; developers.hubspot.com/docs/api/crm/line-items]
LINE_ITEM_PARENTS = ("deals", "invoices")
# hs_invoice_status [doc: invoices guide, "Move the invoice to the Open status"]
INVOICE_STATUSES = ["draft", "open", "paid", "voided"]

PROPERTY_TYPES = {"bool", "date", "datetime", "enumeration", "number", "phone_number", "string"}
FIELD_TYPES = {"booleancheckbox", "calculation_equation", "checkbox", "date", "file", "html", "number",
               "phonenumber", "radio", "select", "text", "textarea"}
# which fieldTypes make sense for which type (HubSpot answers 400 for e.g. type=number + fieldType=select)
_FIELDS_FOR_TYPE = {
    "string": {"text", "textarea", "html", "file", "phonenumber"},
    "number": {"number", "calculation_equation"},
    "bool": {"booleancheckbox"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "date": {"date"},
    "datetime": {"date"},
    "phone_number": {"phonenumber", "text"},
}

_LIFECYCLE = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
              "customer", "evangelist", "other"]
_LEAD_STATUS = ["NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT",
                "CONNECTED", "BAD_TIMING"]


def _p(name: str, label: str, type_: str = "string", field: str = "text", group: str = "",
       options: list[str] | None = None, read_only: bool = False, unique: bool = False) -> dict[str, Any]:
    return {"name": name, "label": label, "type": type_, "fieldType": field, "groupName": group,
            "options": options or [], "readOnly": read_only, "hasUniqueValue": unique}


_COMMON = [
    _p("hs_object_id", "Record ID", "number", "number", read_only=True, unique=True),
    _p("createdate", "Create Date", "datetime", "date", read_only=True),
    _p("lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
    _p("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
    _p("hs_createdate", "Create Date", "datetime", "date", read_only=True),
    _p("hubspot_owner_id", "Owner", "enumeration", "select"),
    _p("description", "Description", "string", "textarea"),
]
_STANDARD: dict[str, list[dict[str, Any]]] = {
    "contacts": [
        _p("email", "Email", unique=True), _p("firstname", "First Name"), _p("lastname", "Last Name"),
        _p("jobtitle", "Job Title"), _p("phone", "Phone Number", "string", "phonenumber"),
        _p("mobilephone", "Mobile Phone Number", "string", "phonenumber"), _p("company", "Company Name"),
        _p("website", "Website URL"), _p("city", "City"), _p("country", "Country/Region"),
        _p("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=_LIFECYCLE),
        _p("hs_lead_status", "Lead Status", "enumeration", "radio", options=_LEAD_STATUS),
        _p("notes_last_updated", "Last Activity Date", "datetime", "date", read_only=True),
    ],
    "companies": [
        _p("name", "Company name"), _p("domain", "Company Domain Name"), _p("website", "Website URL"),
        _p("industry", "Industry", "enumeration", "select", options=INDUSTRY_VALUES),
        _p("phone", "Phone Number", "string", "phonenumber"),
        _p("city", "City"), _p("country", "Country/Region"),
        _p("numberofemployees", "Number of Employees", "number", "number"),
        _p("annualrevenue", "Annual Revenue", "number", "number"),
        _p("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=_LIFECYCLE),
    ],
    "deals": [
        _p("dealname", "Deal Name"), _p("amount", "Amount", "number", "number"),
        _p("dealstage", "Deal Stage", "enumeration", "radio"), _p("pipeline", "Pipeline", "enumeration", "select"),
        _p("closedate", "Close Date", "datetime", "date"), _p("dealtype", "Deal Type", "enumeration", "radio",
                                                              options=["newbusiness", "existingbusiness"]),
        _p("hs_priority", "Priority", "enumeration", "radio", options=["low", "medium", "high"]),
    ],
    "notes": [
        _p("hs_timestamp", "Activity date", "datetime", "date"),
        _p("hs_note_body", "Note body", "string", "html"),
        _p("hs_attachment_ids", "Attached file IDs", "enumeration", "checkbox"),
    ],
    "line_items": [
        _p("name", "Name"), _p("quantity", "Quantity", "number", "number"),
        _p("price", "Unit price", "number", "number"), _p("amount", "Net price", "number", "number", read_only=True),
        _p("hs_product_id", "Product ID", "number", "number"),
        _p("hs_sku", "SKU"), _p("discount", "Unit discount", "number", "number"),
        # [doc: knowledge.hubspot.com/properties/hubspots-default-line-item-properties]
        _p("hs_discount_percentage", "Discount Percentage", "number", "number"),
        _p("recurringbillingfrequency", "Billing frequency", "enumeration", "select",
           options=["monthly", "quarterly", "per_six_months", "annually"]),
    ],
    # [doc: invoices guide, "Update invoice properties" and "Common properties"]
    "invoices": [
        _p("hs_currency", "Currency"), _p("hs_invoice_date", "Invoice date", "datetime", "date"),
        _p("hs_due_date", "Due date", "datetime", "date"),
        _p("hs_invoice_status", "Invoice status", "enumeration", "select", options=INVOICE_STATUSES),
        _p("hs_invoice_billable", "Billable", "bool", "booleancheckbox"), _p("hs_comments", "Comments", "string", "textarea"),
        _p("hs_purchase_order_number", "PO number"), _p("hs_tax_id", "Tax ID"),
        _p("hs_invoice_link", "Invoice link", read_only=True),
        _p("hs_amount_billed", "Amount billed", "number", "number", read_only=True),
    ],
}
# Properties a GET/search returns when none are asked for (HubSpot's defaults per type)
DEFAULT_PROPS = {
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
    "deals": ["amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id",
              "pipeline"],
    "notes": ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
    "line_items": ["createdate", "hs_lastmodifieddate", "hs_object_id", "name", "price", "quantity"],
    "invoices": ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
}
# properties the search `query` looks in
_QUERY_PROPS = ["email", "firstname", "lastname", "phone", "company", "name", "domain", "website", "dealname"]

DEFAULT_PIPELINE_STAGES = [
    ("appointmentscheduled", "Appointment Scheduled", "0.2"),
    ("qualifiedtobuy", "Qualified To Buy", "0.4"),
    ("presentationscheduled", "Presentation Scheduled", "0.6"),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8"),
    ("contractsent", "Contract Sent", "0.9"),
    ("closedwon", "Closed Won", "1.0"),
    ("closedlost", "Closed Lost", "0.0"),
]
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
             "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z0-9-]{2,}$")
_PROP_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000  # HubSpot refuses paging past 10,000 search results


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def to_epoch_ms(value: str) -> int | None:
    """A HubSpot date value (epoch ms or ISO 8601) as epoch ms; None if it is neither."""
    v = str(value).strip()
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def stringify(value: Any) -> str | None:
    """HubSpot stores every property value as a string: 17 -> "17", True -> "true"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def net_amount(props: dict[str, Any]) -> str | None:
    """A line item's read-only ``amount``: quantity x unit price, less the unit ``discount`` or the
    ``hs_discount_percentage`` [doc: knowledge.hubspot.com/properties/hubspots-default-line-item-properties]."""
    quantity, price = float(props["quantity"]), float(props["price"])
    unit = price - float(props.get("discount") or 0) if props.get("discount") else \
        price * (1 - float(props.get("hs_discount_percentage") or 0) / 100)
    return stringify(round(quantity * unit, 2))


PORTAL_ID = 147_258_369  # the sandbox account's Hub ID (an EU-hosted account: its UI is app-eu1.hubspot.com)


class HubSpotBackend:
    """CRM state on the sandbox store; kinds: ``object:<type>``, ``assoc``, ``property:<type>``,
    ``pipeline:<type>``, ``owner``."""

    def __init__(self, db: VendorStore, ctx: SandboxContext) -> None:
        self.db = db
        self.ctx = ctx

    # ---------- helpers
    def now(self) -> str:
        return iso(self.ctx.now())

    @staticmethod
    def account_details() -> dict[str, Any]:
        return {"portalId": PORTAL_ID, "accountType": "STANDARD", "timeZone": "Africa/Johannesburg",
                "companyCurrency": "ZAR", "additionalCurrencies": [], "utcOffset": "+02:00",
                "utcOffsetMilliseconds": 7_200_000, "uiDomain": "app-eu1.hubspot.com", "dataHostingLocation": "eu1"}

    @staticmethod
    def object_type(raw: str) -> str:
        t = _ALIASES.get(raw.lower())
        if t is None:
            raise error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {raw}")
        return t

    def _new_id(self) -> str:
        # one counter for every record: ids look like HubSpot's (numeric, ~11 digits) and never collide
        return str(self.db.next_int("record", 30_000_000_001))

    # ---------- seed
    def seed(self, team: list[dict[str, str]]) -> None:
        if self.db.get("pipeline:deals", "default") is None:
            created = self.now()
            stages = [
                {"id": sid, "label": label, "displayOrder": i, "archived": False, "createdAt": created,
                 "updatedAt": created, "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                 "metadata": {"isClosed": "true" if sid.startswith("closed") else "false", "probability": prob}}
                for i, (sid, label, prob) in enumerate(DEFAULT_PIPELINE_STAGES)
            ]
            self.db.put("pipeline:deals", "default", {
                "id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False,
                "createdAt": created, "updatedAt": created, "stages": stages,
            })
        existing = {o["email"].lower() for o in self.db.list("owner")}
        for member in team:
            if member["email"].lower() in existing:
                continue
            first, _, last = member["name"].partition(" ")
            oid = str(self.db.next_int("owner", 70_000_001))
            user_id = self.db.next_int("user", 9_000_001)
            self.db.put("owner", oid, {
                "id": oid, "email": member["email"], "type": "PERSON", "firstName": first, "lastName": last,
                "userId": user_id, "userIdIncludingInactive": user_id, "createdAt": self.now(),
                "updatedAt": self.now(), "archived": False, "teams": [],
            })

    # ---------- properties registry
    def properties(self, otype: str) -> dict[str, dict[str, Any]]:
        props = {p["name"]: p for p in _COMMON + _STANDARD[otype]}
        for p in self.db.list(f"property:{otype}"):
            props[p["name"]] = p
        return props

    def property_view(self, otype: str, p: dict[str, Any]) -> dict[str, Any]:
        """A property definition in HubSpot's ``Property`` shape."""
        if "createdAt" in p:  # custom, stored whole
            return p
        return {
            "name": p["name"], "label": p["label"], "type": p["type"], "fieldType": p["fieldType"],
            "groupName": p["groupName"] or _SINGULAR[otype].replace("_", "") + "information",
            "description": "", "displayOrder": -1, "hidden": False, "formField": not p["readOnly"],
            "hasUniqueValue": p["hasUniqueValue"], "hubspotDefined": True, "calculated": False,
            "externalOptions": p["name"] in ("dealstage", "pipeline", "hubspot_owner_id"),
            "options": [{"label": o, "value": o, "displayOrder": i, "hidden": False}
                        for i, o in enumerate(p["options"])],
            "modificationMetadata": {"archivable": False, "readOnlyDefinition": True,
                                     "readOnlyValue": p["readOnly"], "readOnlyOptions": False},
            "archived": False, "createdAt": "2019-08-06T02:41:52.000Z", "updatedAt": "2019-08-06T02:41:52.000Z",
        }

    def create_property(self, otype: str, body: dict[str, Any]) -> dict[str, Any]:
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise validation(f"Invalid input JSON: missing required field(s) {missing}")
        name, type_, field = body["name"], body["type"], body["fieldType"]
        if not _PROP_NAME.match(name):
            raise validation(f"Property name '{name}' is invalid: use lowercase letters, digits and underscores")
        if type_ not in PROPERTY_TYPES:
            raise validation(f"Invalid type '{type_}'; expected one of {sorted(PROPERTY_TYPES)}")
        if field not in FIELD_TYPES:
            raise validation(f"Invalid fieldType '{field}'; expected one of {sorted(FIELD_TYPES)}")
        if field not in _FIELDS_FOR_TYPE[type_]:
            raise validation(f"fieldType '{field}' is not valid for a property of type '{type_}'")
        options = body.get("options") or []
        if type_ == "enumeration" and field != "booleancheckbox" and not options:
            raise validation("Enumeration properties need at least one option")
        if name in self.properties(otype):
            raise error(409, "OBJECT_ALREADY_EXISTS", f"Property named '{name}' already exists.")
        now = self.now()
        prop = {
            "name": name, "label": body["label"], "type": type_, "fieldType": field,
            "groupName": body["groupName"], "description": body.get("description", ""),
            "displayOrder": body.get("displayOrder", -1), "hidden": bool(body.get("hidden", False)),
            "formField": bool(body.get("formField", False)), "hasUniqueValue": bool(body.get("hasUniqueValue", False)),
            "hubspotDefined": False, "calculated": False, "externalOptions": False,
            "options": [{"label": o["label"], "value": o["value"], "displayOrder": o.get("displayOrder", i),
                         "hidden": bool(o.get("hidden", False)), "description": o.get("description", "")}
                        for i, o in enumerate(options)],
            "modificationMetadata": {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False},
            "archived": False, "createdAt": now, "updatedAt": now, "createdUserId": "9000001",
        }
        return self.db.put(f"property:{otype}", name, prop)

    def get_property(self, otype: str, name: str) -> dict[str, Any]:
        p = self.properties(otype).get(name)
        if p is None:
            raise error(404, "OBJECT_NOT_FOUND", f"Unable to find property with name {name} for object type {otype}")
        return self.property_view(otype, p)

    # ---------- property values
    def _options(self, otype: str, prop: dict[str, Any], values: dict[str, Any]) -> list[str] | None:
        name = prop["name"]
        if name == "hubspot_owner_id":
            return [o["id"] for o in self.db.list("owner")]
        if otype == "deals" and name == "pipeline":
            return [p["id"] for p in self.db.list("pipeline:deals")]
        if otype == "deals" and name == "dealstage":
            pipeline = self.db.get("pipeline:deals", str(values.get("pipeline") or "default"))
            return [s["id"] for s in pipeline["stages"]] if pipeline else []
        if prop["type"] == "enumeration":
            return [o if isinstance(o, str) else o["value"] for o in prop["options"]]
        return None

    def clean(self, otype: str, raw: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, str | None]:
        """Validate and stringify property values; 400 with HubSpot's per-property list otherwise."""
        if not isinstance(raw, dict):
            raise validation("Invalid input JSON: properties must be an object")
        registry = self.properties(otype)
        merged = {**(current or {}), **raw}
        out: dict[str, str | None] = {}
        problems: list[tuple[str, str, str]] = []  # (name, error code, message)
        for name, value in raw.items():
            prop = registry.get(name)
            if prop is None:
                problems.append((name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
                continue
            if prop.get("readOnly") or prop.get("modificationMetadata", {}).get("readOnlyValue"):
                problems.append((name, "READ_ONLY_VALUE",
                                 f'"{name}" is a read only property; its value cannot be set.'))
                continue
            text = stringify(value)
            if text is None or text == "":
                out[name] = ""  # HubSpot clears a property set to ""
                continue
            ptype = prop["type"]
            if name == "email" and not _EMAIL.match(text):
                problems.append((name, "INVALID_EMAIL", f"Email address {text} is invalid"))
            elif ptype == "number":
                try:
                    float(text)
                except ValueError:
                    problems.append((name, "INVALID_FLOAT", f"{text} was not a valid number."))
            elif ptype == "bool" and text not in ("true", "false"):
                problems.append((name, "INVALID_BOOLEAN", f"{text} was not a valid boolean."))
            elif ptype in ("date", "datetime"):
                ms = to_epoch_ms(text)
                if ms is None:
                    problems.append((name, "INVALID_DATE", f"{text} was not a valid date."))
                else:
                    dt = datetime.fromtimestamp(ms / 1000, UTC)
                    text = dt.strftime("%Y-%m-%d") if ptype == "date" else iso(dt)
            else:
                allowed = self._options(otype, prop, merged)
                if allowed is not None:
                    chosen = text.split(";") if prop["fieldType"] == "checkbox" else [text]
                    bad = [c for c in chosen if c not in allowed]
                    if bad:
                        problems.append((name, "INVALID_OPTION",
                                         f"{bad[0]} was not one of the allowed options: {allowed}"))
            if name == "hs_note_body" and len(text) > 65_536:
                problems.append((name, "INVALID_STRING", "hs_note_body is longer than 65536 characters"))
            out[name] = text
        if problems:
            items = [{"isValid": False, "message": m, "error": code, "name": n, "localizedErrorMessage": m}
                     for n, code, m in problems]
            raise validation("Property values were not valid: " + json.dumps(items, separators=(",", ":")))
        return out

    # ---------- records
    def _kind(self, otype: str) -> str:
        return f"object:{otype}"

    def _find_by(self, otype: str, prop: str, value: str, live_only: bool = True) -> dict[str, Any] | None:
        value_l = value.lower()
        for rec in self.db.list(self._kind(otype)):
            if live_only and rec["archived"]:
                continue
            v = rec["properties"].get(prop)
            if v is not None and v.lower() == value_l:
                return rec
        return None

    def _check_unique(self, otype: str, props: dict[str, Any], own_id: str | None) -> None:
        registry = self.properties(otype)
        for name, value in props.items():
            if not value or not registry.get(name, {}).get("hasUniqueValue") or name == "hs_object_id":
                continue
            other = self._find_by(otype, name, value)
            if other is not None and other["id"] != own_id:
                if otype == "contacts" and name == "email":
                    raise error(409, "CONFLICT", f"Contact already exists. Existing ID: {other['id']}")
                raise error(409, "CONFLICT", f"A {_SINGULAR[otype]} with the value '{value}' already exists "
                                             f"for the unique property '{name}'. Existing ID: {other['id']}")

    def resolve(self, otype: str, object_id: str, id_property: str | None = None,
                archived: bool = False) -> dict[str, Any]:
        """A record by id (or by a unique ``idProperty``); 404 in HubSpot's shape otherwise."""
        if id_property and id_property != "hs_object_id":
            prop = self.properties(otype).get(id_property)
            if prop is None or not prop.get("hasUniqueValue"):
                raise validation(f"Property {id_property} is not a unique identifier for {otype}")
            rec = self._find_by(otype, id_property, object_id, live_only=not archived)
        else:
            rec = self.db.get(self._kind(otype), str(object_id))
        if rec is None or rec["archived"] != archived:
            raise not_found(str(object_id))
        return rec

    def create(self, otype: str, body: dict[str, Any]) -> dict[str, Any]:
        props = self.clean(otype, body.get("properties") or {})
        if otype == "notes" and not props.get("hs_timestamp"):
            raise validation('Property values were not valid: [{"isValid":false,"message":"hs_timestamp is required",'
                             '"error":"REQUIRED_FIELD","name":"hs_timestamp"}]')
        if otype == "deals" and props.get("dealstage") and "pipeline" not in props:
            props["pipeline"] = "default"
        self._check_unique(otype, props, None)
        specs = self._association_inputs(otype, body.get("associations") or [])
        oid, now = self._new_id(), self.now()
        stamps = {"hs_object_id": oid, "createdate": now, "lastmodifieddate": now, "hs_lastmodifieddate": now}
        if otype in ("notes", "invoices"):
            stamps["hs_createdate"] = now
        if otype == "invoices":
            self._new_invoice(props, specs, now)
        if otype == "line_items" and props.get("quantity") and props.get("price"):
            stamps["amount"] = net_amount(props)
        rec = {"id": oid, "properties": {**props, **stamps}, "createdAt": now, "updatedAt": now, "archived": False,
               "written": sorted(props)}
        self.db.put(self._kind(otype), oid, rec)  # with its associations: one request, one transaction (atomic)
        for to_type, to_id, type_id in specs:
            self.associate(otype, oid, to_type, to_id, [type_id])
        if otype == "contacts" and self.ctx.hubspot_auto_companies:
            self._auto_company(rec)
        return rec

    # ---------- invoices [doc: developers.hubspot.com/docs/api-reference/crm-invoices-v3/guide]
    def _new_invoice(self, props: dict[str, Any], specs: list[tuple[str, str, int]], now: str) -> None:
        """A new invoice: ``hs_currency`` required (one of the account's currencies), a draft unless asked
        otherwise, its invoice and due dates now when not given."""
        if not props.get("hs_currency"):
            raise validation('Property values were not valid: [{"isValid":false,"message":"hs_currency is required",'
                             '"error":"REQUIRED_FIELD","name":"hs_currency"}]')
        account = self.account_details()
        currencies = [account["companyCurrency"], *account["additionalCurrencies"]]
        if props["hs_currency"] not in currencies:  # the account's currencies [doc: knowledge.hubspot.com/invoices/
            # create-and-manage-invoices, "set up currencies for your account"]; the wording is the sandbox's
            raise error(400, "VALIDATION_ERROR", f"{props['hs_currency']} is not a currency of this account "
                        f"(it has {', '.join(currencies)}); add it in Settings > Account Defaults > Currencies")
        props.setdefault("hs_invoice_status", "draft")
        props.setdefault("hs_invoice_date", now)
        props.setdefault("hs_due_date", now)
        linked = [t for t, _, _ in specs]
        self._check_invoice_status(None, "draft", props["hs_invoice_status"], linked.count("contacts"),
                                   linked.count("line_items"))

    def _check_invoice_status(self, invoice_id: str | None, old: str, new: str, contacts: int, line_items: int) -> None:
        """The guide's rules for ``hs_invoice_status``: payments are recorded in HubSpot, not through the API;
        "To move an invoice to the Open status, one contact and at least one line item must be associated"."""
        if new == old:
            return
        if new == "paid":
            raise validation("hs_invoice_status cannot be set to paid through the API: payments are recorded in HubSpot")
        if new == "open" and (contacts != 1 or line_items < 1):
            raise validation(f"Invoice {invoice_id or '(new)'} cannot move to open: to move an invoice to the Open "
                             f"status, one contact and at least one line item must be associated (it has {contacts} "
                             f"contact(s) and {line_items} line item(s))")

    def _invoice_amount(self, invoice_id: str) -> str:
        """``hs_amount_billed``: the net amounts of the invoice's line items (HubSpot computes it)."""
        total = 0.0
        for link in self._links("invoices", invoice_id, "line_items"):
            item = self.db.get(self._kind("line_items"), link["to_id"])
            if item and not item["archived"] and item["properties"].get("amount"):
                total += float(item["properties"]["amount"])
        return stringify(round(total, 2)) or "0"

    def _one_parent(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """A line item belongs to one parent (a deal or an invoice): associating it with a second is refused
        (the guide: "Line items belong to one single parent object"; the refusal's wording is the sandbox's)."""
        if from_type == "line_items" and to_type in LINE_ITEM_PARENTS:
            item_id, parent = from_id, (to_type, str(to_id))
        elif to_type == "line_items" and from_type in LINE_ITEM_PARENTS:
            item_id, parent = str(to_id), (from_type, str(from_id))
        else:
            return
        for other in LINE_ITEM_PARENTS:
            for link in self._links("line_items", item_id, other):
                if (other, link["to_id"]) != parent:
                    raise validation(f"Line item {item_id} already belongs to {_SINGULAR[other]} {link['to_id']}: "
                                     "line items belong to one single parent object; create a line item for each")

    def _auto_company(self, contact: dict[str, Any]) -> None:
        """With "Create and associate companies with contacts" on (HubSpot's default), a new contact whose
        email domain is a company's (not a free mail provider's) is associated with the company of that
        domain, made from the domain when there is none [doc: knowledge.hubspot.com/records/
        automatically-create-and-associate-companies-with-contacts]."""
        domain = (contact["properties"].get("email") or "").rpartition("@")[2].lower()
        if not domain or domain in FREE_MAIL:
            return
        companies = sorted((c for c in self.db.list(self._kind("companies")) if not c["archived"]
                            and (c["properties"].get("domain") or "").lower() == domain), key=lambda c: int(c["id"]))
        company = companies[0] if companies else self.create("companies", {"properties": {"name": domain,
                                                                                          "domain": domain}})
        self.associate("contacts", contact["id"], "companies", company["id"], [ASSOC_TYPES[("contacts", "companies")][0][0]])

    def update(self, otype: str, object_id: str, body: dict[str, Any],
               id_property: str | None = None) -> dict[str, Any]:
        rec = self.resolve(otype, object_id, id_property)
        props = self.clean(otype, body.get("properties") or {}, rec["properties"])
        self._check_unique(otype, props, rec["id"])
        if otype == "invoices" and props.get("hs_invoice_status"):
            self._check_invoice_status(rec["id"], rec["properties"].get("hs_invoice_status") or "draft",
                                       props["hs_invoice_status"],
                                       len(self._live_links("invoices", rec["id"], "contacts")),
                                       len(self._live_links("invoices", rec["id"], "line_items")))
        now = self.now()
        rec["properties"].update(props)
        rec["properties"].update({"lastmodifieddate": now, "hs_lastmodifieddate": now})
        if otype == "line_items" and rec["properties"].get("quantity") and rec["properties"].get("price"):
            rec["properties"]["amount"] = net_amount(rec["properties"])
        rec["updatedAt"] = now
        rec["written"] = sorted(set(rec.get("written", [])) | set(props))
        return self.db.put(self._kind(otype), rec["id"], rec)

    def archive(self, otype: str, object_id: str) -> None:
        rec = self.db.get(self._kind(otype), str(object_id))
        if rec is None or rec["archived"]:
            return  # HubSpot answers 204 for an id that is already gone
        rec["archived"] = True
        rec["archivedAt"] = self.now()
        self.db.put(self._kind(otype), rec["id"], rec)

    def view(self, otype: str, rec: dict[str, Any], props: list[str] | None = None,
             associations: list[str] | None = None, written: bool = False) -> dict[str, Any]:
        """A record in ``SimplePublicObject`` shape: only the asked-for (or default) properties."""
        names = list(props) if props else list(DEFAULT_PROPS[otype])
        if written:  # create/update answers also echo what was written
            names += [n for n in rec.get("written", []) if n not in names]
        values = rec["properties"]
        if otype == "invoices" and "hs_amount_billed" in names:
            values = {**values, "hs_amount_billed": self._invoice_amount(rec["id"])}
        out: dict[str, Any] = {
            "id": rec["id"],
            "properties": {n: values.get(n) for n in names},
            "createdAt": rec["createdAt"], "updatedAt": rec["updatedAt"], "archived": rec["archived"],
        }
        if rec.get("archivedAt"):
            out["archivedAt"] = rec["archivedAt"]
        if associations:
            assoc: dict[str, Any] = {}
            for raw in associations:
                to_type = self.object_type(raw)
                rows = []
                for link in self._links(otype, rec["id"], to_type):
                    for t in link["types"]:
                        rows.append({"id": link["to_id"], "type": V3_TYPE_NAME.get(t["typeId"], str(t["typeId"]))})
                if rows:
                    assoc[raw] = {"results": rows}
            if assoc:
                out["associations"] = assoc
        return out

    def page(self, otype: str, limit: int, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        live = [r for r in self.db.list(self._kind(otype)) if not r["archived"]]
        live.sort(key=lambda r: int(r["id"]))
        start = int(after) if after and after.isdigit() else 0
        chunk = live[start:start + limit]
        return chunk, (str(start + limit) if start + limit < len(live) else None)

    # ---------- search
    def search(self, otype: str, body: dict[str, Any]) -> dict[str, Any]:
        limit = body.get("limit", 10)
        if not isinstance(limit, int) or limit < 0 or limit > SEARCH_MAX_LIMIT:
            raise validation(f"limit must be between 0 and {SEARCH_MAX_LIMIT}, was {limit}")
        after = str(body.get("after") or "0")
        if not after.isdigit():
            raise validation(f"after must be a numeric offset, was {after}")
        start = int(after)
        if start + limit > SEARCH_MAX_RESULTS:
            raise validation(f"Cannot page beyond {SEARCH_MAX_RESULTS} results")
        groups = body.get("filterGroups") or []
        if len(groups) > 6:
            raise validation("Too many filter groups: up to 6 are allowed")
        if sum(len(g.get("filters") or []) for g in groups) > 18:
            raise validation("Too many filters: up to 18 are allowed across all filter groups")
        query = body.get("query")
        if query is not None and len(query) > 3000:
            raise validation("query is longer than 3000 characters")
        registry = self.properties(otype)
        for g in groups:
            for f in g.get("filters") or []:
                self._check_filter(f, registry)
        sorts = [self._sort_spec(s, registry) for s in body.get("sorts") or []]
        rows = [r for r in self._candidates(otype, groups, registry) if not r["archived"]]
        rows.sort(key=lambda r: int(r["id"]))
        if groups:
            rows = [r for r in rows if any(all(self._match(otype, r, f, registry) for f in g.get("filters") or [])
                                           for g in groups)]
        if query:
            q = query.lower()
            rows = [r for r in rows if any(q in (r["properties"].get(p) or "").lower() for p in _QUERY_PROPS)]
        for prop, desc in reversed(sorts):
            rows.sort(key=lambda r, p=prop: _sort_key(r["properties"].get(p), registry[p]["type"]), reverse=desc)
        chunk = rows[start:start + limit]
        results = [self.view(otype, r, body.get("properties")) for r in chunk]
        out: dict[str, Any] = {"total": len(rows), "results": results}
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return out

    def _candidates(self, otype: str, groups: list[dict[str, Any]], registry: dict[str, Any]) -> list[dict[str, Any]]:
        """The records a search can match: with one filter group, those an index lookup for one of its
        filters admits (every filter is still checked record by record after); otherwise every record."""
        for f in (groups[0].get("filters") or []) if len(groups) == 1 else []:
            lookup = _index_lookup(f, registry)
            if lookup is not None:
                return self.db.where(self._kind(otype), *lookup)
        return self.db.list(self._kind(otype))

    def _check_filter(self, f: dict[str, Any], registry: dict[str, Any]) -> None:
        op, name = f.get("operator"), f.get("propertyName")
        if op not in OPERATORS:
            raise validation(f"Unsupported filter operator: {op}. Supported operators: {sorted(OPERATORS)}")
        if not name:
            raise validation("filter propertyName is required")
        if name.startswith("associations."):
            self.object_type(name.split(".", 1)[1])
        elif name not in registry:
            raise validation(f"Property {name} does not exist on this object type")
        if op in ("IN", "NOT_IN") and not isinstance(f.get("values"), list):
            raise validation(f"Operator {op} needs 'values'")
        if op == "BETWEEN" and (f.get("value") is None or f.get("highValue") is None):
            raise validation("Operator BETWEEN needs 'value' and 'highValue'")
        single = ("EQ", "NEQ", "LT", "LTE", "GT", "GTE", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN")
        if op in single and f.get("value") is None:
            raise validation(f"Operator {op} needs 'value'")

    @staticmethod
    def _sort_spec(s: Any, registry: dict[str, Any]) -> tuple[str, bool]:
        if isinstance(s, str):  # "createdate" or "-createdate"
            name, desc = s.lstrip("-"), s.startswith("-")
        elif isinstance(s, dict):
            name, desc = s.get("propertyName", ""), s.get("direction", "ASCENDING") == "DESCENDING"
        else:
            raise validation("Invalid sort")
        if name not in registry:
            raise validation(f"Cannot sort by unknown property {name}")
        return name, desc

    def _match(self, otype: str, rec: dict[str, Any], f: dict[str, Any], registry: dict[str, dict[str, Any]]) -> bool:
        op, name = f["operator"], f["propertyName"]
        if name.startswith("associations."):
            to_type = self.object_type(name.split(".", 1)[1])
            linked = {str(link["to_id"]) for link in self._links(otype, rec["id"], to_type)}
            if op == "EQ":
                return str(f["value"]) in linked
            if op == "IN":
                return bool(linked & {str(v) for v in f["values"]})
            raise validation(f"Operator {op} is not supported for association filters")
        actual = rec["properties"].get(name)
        has = actual not in (None, "")
        if op == "HAS_PROPERTY":
            return has
        if op == "NOT_HAS_PROPERTY":
            return not has
        ptype = registry[name]["type"]  # read once per search, not per record
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            pattern = re.escape(str(f["value"]).lower()).replace(r"\*", ".*")
            tokens = re.split(r"[\s@.,;_-]+", (actual or "").lower()) + [(actual or "").lower()]
            found = any(re.fullmatch(pattern, t) for t in tokens if t)
            return found if op == "CONTAINS_TOKEN" else not found
        if op in ("IN", "NOT_IN"):
            hit = has and any(_eq(actual, v, ptype) for v in f["values"])
            return hit if op == "IN" else not hit
        if op == "EQ":
            return has and _eq(actual, f["value"], ptype)
        if op == "NEQ":
            return not (has and _eq(actual, f["value"], ptype))
        if not has:
            return False
        a = _typed(actual, ptype)
        lo = _typed(stringify(f["value"]), ptype)
        if a is None or lo is None or type(a) is not type(lo):
            return False
        if op == "BETWEEN":
            hi = _typed(stringify(f["highValue"]), ptype)
            return hi is not None and type(hi) is type(a) and lo <= a <= hi
        return {"LT": a < lo, "LTE": a <= lo, "GT": a > lo, "GTE": a >= lo}[op]

    # ---------- associations
    def _assoc_id(self, from_type: str, from_id: str, to_type: str, to_id: str) -> str:
        return f"{from_type}:{from_id}:{to_type}:{to_id}"

    def _links(self, from_type: str, from_id: str, to_type: str) -> list[dict[str, Any]]:
        prefix = f"{from_type}:{from_id}:{to_type}:"
        return self.db.list_prefix("assoc", prefix)

    def _live_links(self, from_type: str, from_id: str, to_type: str) -> list[dict[str, Any]]:
        return [a for a in self._links(from_type, from_id, to_type)
                if (r := self.db.get(self._kind(to_type), a["to_id"])) is not None and not r["archived"]]

    def _association_inputs(self, otype: str, items: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
        """Validate create-time ``associations``; returns (to_type, to_id, typeId)."""
        out = []
        for item in items:
            to_id = str((item.get("to") or {}).get("id", ""))
            for t in item.get("types") or []:
                type_id = t.get("associationTypeId")
                to_type = next((to for (fr, to), types in ASSOC_TYPES.items()
                                if fr == otype and any(tid == type_id for tid, _ in types)), None)
                if to_type is None:
                    raise validation(f"{type_id} is not a valid association type id for {otype}")
                target = self.db.get(self._kind(to_type), to_id)
                if target is None or target["archived"]:
                    raise validation(f"One or more associations are invalid: {to_type} {to_id} does not exist")
                if to_type == "line_items":
                    self._one_parent(to_type, to_id, otype, "(new)")
                out.append((to_type, to_id, type_id))
        return out

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str, type_ids: list[int]) -> None:
        """Add association types both ways (HubSpot stores the inverse type on the other record)."""
        for a_type, a_id, b_type, b_id, ids in (
            (from_type, from_id, to_type, to_id, type_ids),
            (to_type, to_id, from_type, from_id, [INVERSE_TYPE[t] for t in type_ids]),
        ):
            key = self._assoc_id(a_type, a_id, b_type, b_id)
            row = self.db.get("assoc", key) or {"key": key, "from_type": a_type, "from_id": a_id,
                                                "to_type": b_type, "to_id": b_id, "types": []}
            labels = dict(ASSOC_TYPES[(a_type, b_type)])
            for t in ids:
                if all(x["typeId"] != t for x in row["types"]):
                    row["types"].append({"category": "HUBSPOT_DEFINED", "typeId": t, "label": labels.get(t)})
            self.db.put("assoc", key, row)

    def check_pair(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        if (from_type, to_type) not in ASSOC_TYPES:
            raise validation(f"Associations between {from_type} and {to_type} are not supported")
        self.resolve(from_type, from_id)
        self.resolve(to_type, to_id)
        self._one_parent(from_type, from_id, to_type, to_id)

    def associate_default(self, from_type: str, from_id: str, to_type: str, to_id: str) -> dict[str, Any]:
        self.check_pair(from_type, from_id, to_type, to_id)
        started = self.now()
        type_id = ASSOC_TYPES[(from_type, to_type)][0][0]
        self.associate(from_type, from_id, to_type, to_id, [type_id])
        result = {"from": {"id": from_id}, "to": {"id": to_id},
                  "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}}
        return {"status": "COMPLETE", "results": [result], "startedAt": started, "completedAt": self.now()}

    def associate_labelled(self, from_type: str, from_id: str, to_type: str, to_id: str,
                           specs: list[dict[str, Any]]) -> dict[str, Any]:
        self.check_pair(from_type, from_id, to_type, to_id)
        if not isinstance(specs, list) or not specs:
            raise validation("Body must be a non-empty list of association specs")
        valid = dict(ASSOC_TYPES[(from_type, to_type)])
        ids = []
        for s in specs:
            tid = s.get("associationTypeId")
            if s.get("associationCategory") != "HUBSPOT_DEFINED" or tid not in valid:
                raise validation(f"associationTypeId {tid} ({s.get('associationCategory')}) is not valid "
                                 f"from {from_type} to {to_type}")
            ids.append(tid)
        self.associate(from_type, from_id, to_type, to_id, ids)
        row = self.db.get("assoc", self._assoc_id(from_type, from_id, to_type, to_id))
        return {"fromObjectTypeId": TYPE_IDS[from_type], "fromObjectId": from_id,
                "toObjectTypeId": TYPE_IDS[to_type], "toObjectId": to_id,
                "labels": [t["label"] for t in row["types"] if t["label"]]}

    def remove_association(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        self.db.delete("assoc", self._assoc_id(from_type, from_id, to_type, to_id))
        self.db.delete("assoc", self._assoc_id(to_type, to_id, from_type, from_id))

    def list_associations(self, from_type: str, from_id: str, to_type: str, limit: int,
                          after: str | None) -> dict[str, Any]:
        self.resolve(from_type, from_id)
        rows = sorted(self._links(from_type, from_id, to_type), key=lambda a: int(a["to_id"]))
        start = int(after) if after and after.isdigit() else 0
        chunk = rows[start:start + limit]
        out: dict[str, Any] = {"results": [
            # v4 answers toObjectId as a number [doc: developers.hubspot.com/docs/api/crm/associations]
            {"toObjectId": int(a["to_id"]), "associationTypes": a["types"]} for a in chunk]}
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return out

    @staticmethod
    def labels(from_type: str, to_type: str) -> dict[str, Any]:
        types = ASSOC_TYPES.get((from_type, to_type), [])
        return {"results": [{"category": "HUBSPOT_DEFINED", "typeId": t, "label": label} for t, label in types]}

    # ---------- owners
    def owners(self, email: str | None, limit: int, after: str | None, archived: bool) -> dict[str, Any]:
        rows = [o for o in self.db.list("owner") if o["archived"] == archived]
        if email:
            rows = [o for o in rows if o["email"].lower() == email.lower()]
        start = int(after) if after and after.isdigit() else 0
        out: dict[str, Any] = {"results": rows[start:start + limit]}
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return out

    def owner(self, owner_id: str, id_property: str) -> dict[str, Any]:
        for o in self.db.list("owner"):
            if (str(o["userId"]) if id_property == "userId" else o["id"]) == owner_id:
                return o
        raise not_found(owner_id)

    # ---------- pipelines
    def _pipeline_kind(self, otype: str) -> str:
        if otype != "deals":
            raise validation(f"Object type {otype} does not support pipelines in this sandbox")
        return f"pipeline:{otype}"

    def pipelines(self, otype: str) -> dict[str, Any]:
        return {"results": [p for p in self.db.list(self._pipeline_kind(otype)) if not p["archived"]]}

    def pipeline(self, otype: str, pipeline_id: str) -> dict[str, Any]:
        p = self.db.get(self._pipeline_kind(otype), pipeline_id)
        if p is None or p["archived"]:
            raise error(404, "OBJECT_NOT_FOUND", f"Unable to find pipeline {pipeline_id}")
        return p

    def pipeline_limits(self) -> dict[str, Any]:
        """``GET /crm/v3/limits/pipelines``: limit and usage per HubSpot-defined object type
        [doc: developers.hubspot.com/docs/api-reference/crm-limits-tracking-v3/guide]."""
        usage = len([p for p in self.db.list("pipeline:deals") if not p["archived"]])
        limit = DEAL_PIPELINES[self.ctx.hubspot_tier]
        return {"hubspotDefinedObjectTypes": [
            {"objectTypeId": TYPE_IDS["deals"], "pluralLabel": "Deals", "singularLabel": "Deal", "limit": limit,
             "usage": usage, "percentage": round(100 * usage / limit, 1)}]}

    def create_pipeline(self, otype: str, body: dict[str, Any]) -> dict[str, Any]:
        kind = self._pipeline_kind(otype)
        label, stages = body.get("label"), body.get("stages")
        if not label or not isinstance(stages, list) or not stages or body.get("displayOrder") is None:
            raise validation("Invalid input JSON: label, displayOrder and a non-empty stages list are required")
        if any(p["label"].lower() == label.lower() for p in self.db.list(kind) if not p["archived"]):
            raise error(409, "CONFLICT", f"A pipeline with label {label} already exists")
        limits = self.pipeline_limits()["hubspotDefinedObjectTypes"][0]
        if otype == "deals" and limits["usage"] >= limits["limit"]:
            # the limit is documented (pipelines per tier), the wording of the refusal is the sandbox's
            raise error(400, "VALIDATION_ERROR", f"The maximum number of deal pipelines for this account "
                        f"({limits['limit']}) has been reached", subCategory="PipelineError.PIPELINE_LIMIT_REACHED")
        now, out_stages = self.now(), []
        for s in stages:
            meta = {k: stringify(v) for k, v in (s.get("metadata") or {}).items()}
            prob = meta.get("probability")
            try:
                ok = prob is not None and 0.0 <= float(prob) <= 1.0
            except ValueError:
                ok = False
            if not s.get("label") or s.get("displayOrder") is None or not ok:
                raise validation("Each deal stage needs label, displayOrder and metadata.probability "
                                 "between 0.0 and 1.0")
            meta.setdefault("isClosed", "false")
            out_stages.append({"id": str(self.db.next_int("stage", 100_000_001)), "label": s["label"],
                               "displayOrder": s["displayOrder"], "metadata": meta, "archived": False,
                               "createdAt": now, "updatedAt": now, "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"})
        pid = str(self.db.next_int("pipeline", 700_000_001))
        return self.db.put(kind, pid, {"id": pid, "label": label, "displayOrder": body["displayOrder"],
                                       "archived": False, "createdAt": now, "updatedAt": now, "stages": out_stages})


def _eq(actual: str, wanted: Any, ptype: str) -> bool:
    w = stringify(wanted) or ""
    if ptype == "number":
        try:
            return float(actual) == float(w)
        except ValueError:
            return False
    if ptype in ("date", "datetime"):
        return to_epoch_ms(actual) == to_epoch_ms(w)
    return actual.lower() == w.lower()  # HubSpot string equality ignores case


_SQL_OPS = {"EQ": "=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _index_lookup(f: dict[str, Any], registry: dict[str, Any]) -> tuple[str, str, str, bool] | None:
    """(field, operator, value, fold case) of a store lookup that admits every record ``f`` matches, or
    None: equality on text (ASCII, case ignored as HubSpot does), and comparisons on a date property
    with an ISO date (stored dates are ISO dates, so their text sorts as the dates do)."""
    name, op, value = f["propertyName"], f["operator"], f.get("value")
    if name.startswith("associations.") or op not in _SQL_OPS or not isinstance(value, str):
        return None
    ptype = registry[name]["type"]
    if op == "EQ" and ptype in ("string", "enumeration", "phone_number") and value.isascii():
        return f"properties.{name}", "=", value, True
    if ptype == "date" and _ISO_DATE.fullmatch(value):
        return f"properties.{name}", _SQL_OPS[op], value, False
    return None


def _typed(value: str | None, ptype: str) -> Any:
    """A stored value as something comparable: float, epoch ms or lower-case text; None if unset/unparsable."""
    if value in (None, ""):
        return None
    if ptype == "number":
        try:
            return float(value)
        except ValueError:
            return None
    if ptype in ("date", "datetime"):
        return to_epoch_ms(value)
    return value.lower()


def _sort_key(value: str | None, ptype: str) -> tuple:
    v = _typed(value, ptype)
    return (1, 0) if v is None else (0, v)  # unset values sort last


# ---------- batch endpoints: 200 when every input worked, 207 + errors[] otherwise
BATCH_MAX_INPUTS = 100


def batch_inputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise validation("Invalid input JSON: 'inputs' must be a list")
    if len(inputs) > BATCH_MAX_INPUTS:
        raise validation(f"Batch inputs are limited to {BATCH_MAX_INPUTS}, got {len(inputs)}")
    return inputs


def batch_result(backend: HubSpotBackend, results: list[dict[str, Any]], errors: list[dict[str, Any]],
                 started: str) -> tuple[int, dict[str, Any]]:
    out: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                           "completedAt": backend.now()}
    if errors:
        out.update(errors=errors, numErrors=len(errors))
        return 207, out
    return 200, out


def batch_create(backend: HubSpotBackend, otype: str, body: dict[str, Any]) -> dict[str, Any]:
    """All or nothing, like HubSpot: every input is validated before anything is written."""
    inputs, started = batch_inputs(body), backend.now()
    for item in inputs:
        backend.clean(otype, item.get("properties") or {})
    created = [backend.create(otype, item) for item in inputs]
    return {"status": "COMPLETE", "results": [backend.view(otype, r, written=True) for r in created],
            "startedAt": started, "completedAt": backend.now()}


def batch_read(backend: HubSpotBackend, otype: str, body: dict[str, Any], archived: bool) -> tuple[int, dict[str, Any]]:
    inputs, started = batch_inputs(body), backend.now()
    results, missing = [], []
    for item in inputs:
        try:
            rec = backend.resolve(otype, str(item.get("id")), body.get("idProperty"), archived)
            results.append(backend.view(otype, rec, body.get("properties")))
        except VendorError as exc:
            if exc.status != 404:
                raise
            missing.append(str(item.get("id")))
    errors = []
    if missing:
        errors.append(batch_not_found(_SINGULAR[otype], missing))
    return batch_result(backend, results, errors, started)


def batch_update(backend: HubSpotBackend, otype: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    inputs, started = batch_inputs(body), backend.now()
    results, errors = [], []
    for item in inputs:
        try:
            rec = backend.update(otype, str(item.get("id")), item, item.get("idProperty"))
            results.append(backend.view(otype, rec, written=True))
        except VendorError as exc:
            errors.append(batch_error(exc))
    return batch_result(backend, results, errors, started)


def batch_upsert(backend: HubSpotBackend, otype: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Update the record whose unique ``idProperty`` equals ``id``, or create it (``new: true``)."""
    inputs, started = batch_inputs(body), backend.now()
    results, errors = [], []
    for item in inputs:
        id_prop, key = item.get("idProperty") or "hs_object_id", str(item.get("id", ""))
        try:
            try:
                rec = backend.resolve(otype, key, id_prop)
                rec, new = backend.update(otype, rec["id"], item), False
            except VendorError as exc:
                if exc.status != 404 or id_prop == "hs_object_id":
                    raise
                props = {**(item.get("properties") or {}), id_prop: key}
                rec, new = backend.create(otype, {"properties": props}), True
            results.append({**backend.view(otype, rec, written=True), "new": new})
        except VendorError as exc:
            errors.append(batch_error(exc))
    return batch_result(backend, results, errors, started)


def batch_archive(backend: HubSpotBackend, otype: str, body: dict[str, Any]) -> None:
    for item in batch_inputs(body):
        backend.archive(otype, str(item.get("id")))
