"""The sandbox's records by natural key: what the fault benchmark and the durable-waits test count to
find a record made twice (a group with more than one member is a duplicate)."""

from __future__ import annotations

from collections import Counter


def natural_keys(state: dict) -> Counter:
    """(vendor/kind, key) -> how many live records carry it."""
    keys: Counter = Counter()
    hub = state["hubspot"]
    for kind, key in (("object:companies", "domain"), ("object:contacts", "email"), ("object:deals", "onboarding_key"),
                      ("object:notes", "onboarding_note_key"), ("object:invoices", "onboarding_invoice_key")):
        for o in hub.get(kind, []):
            value = o["properties"].get(key)
            if value and not o.get("archived"):
                keys[(f"hubspot/{kind}", value)] += 1
    asana = state["asana"]
    for p in asana.get("project", []):
        keys[("asana/project", p["name"])] += 1
    for t in asana.get("task", []):
        for m in t.get("memberships", []):
            keys[("asana/task", f"{m['project']}/{t['name']}")] += 1
    google = state["google"]
    for f in google.get("file", []):
        if not f.get("trashed"):
            keys[("google/file", f"{','.join(f.get('parents') or [])}/{f['name']}")] += 1
    for f in google.get("form", []):
        keys[("google/form", f["info"]["title"])] += 1
    for m in google.get("message", []):
        keys[("google/message", (m.get("_headers") or {}).get("message-id", m["id"]))] += 1
    for e in google.get("event", []):
        keys[("google/event", f"{e.get('_calendar')}/{e['id']}")] += 1
    parent_of = {a["from_id"]: f"{a['to_type']}:{a.get('to_id')}" for a in hub.get("assoc", [])
                 if a.get("from_type") == "line_items" and a.get("to_type") in ("deals", "invoices")}
    for o in hub.get("object:line_items", []):  # a line item is one per parent (deal or invoice) and name
        if not o.get("archived"):
            keys[("hubspot/line_item", f"{parent_of.get(o['id'])}/{o['properties'].get('name')}")] += 1
    for kind, messages in state["slack"].items():  # channel posts and DMs: by their dedupe key (metadata)
        if kind.startswith("messages."):
            for m in messages:
                payload = (m.get("_metadata") or m.get("metadata") or {}).get("event_payload") or {}
                keys[("slack/message", f"{kind}/{payload.get('dedupe_key') or m['ts']}")] += 1
    for c in state["slack"].get("channel", []):
        keys[("slack/channel", c["name"])] += 1
    for m in state["zoom"].get("meeting", []):
        keys[("zoom/meeting", f"{m['topic']}@{m.get('start_time')}")] += 1
    keap = state.get("keap", {})  # the new systems of issue 15: each by what a re-run finds it by
    emails = {c["id"]: ",".join(e["email"] for e in c.get("email_addresses", [])) for c in keap.get("contact", [])}
    for email in emails.values():
        keys[("keap/contact", email)] += 1
    for t in keap.get("tag", []):
        keys[("keap/tag", t["name"])] += 1
    for a in keap.get("applied", []):
        keys[("keap/applied", f"{emails.get(a['contact_id'])}/{a['tag_id']}")] += 1
    for r in state.get("dropbox_sign", {}).get("signature_request", []):
        meta = r.get("metadata") or {}
        keys[("dropbox_sign/signature_request", f"{meta.get('client_domain')}/{meta.get('onboarding_key') or r['signature_request_id']}")] += 1
    dropbox = state.get("dropbox", {})
    for e in dropbox.get("entry", []):
        keys[("dropbox/entry", e.get("path_lower") or e.get("path_display"))] += 1
    for r in dropbox.get("file_request", []):
        keys[("dropbox/file_request", r["destination"].lower())] += 1
    return keys
