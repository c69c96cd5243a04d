"""The client's side in a browser: the sandbox page lists what a client can do (answer a form, answer an
invitation), and a form opens as a page its respondent fills in, as Google's responder page would."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs, quote


def pending_actions(db) -> str:
    """The sandbox page's "the client's side" list: unanswered forms (a link to fill each in) and
    invitations awaiting an answer (accept / decline buttons per invited guest)."""
    answered = {r["formId"] for r in db.list("form_response")}
    items = [f'<li>Form <a href="/_sandbox/google/forms/{q(f["formId"])}/respond">{e(f["info"].get("title", ""))}</a>'
             " — answer it as the client</li>"
             for f in db.list("form") if f["formId"] not in answered
             and f["publishSettings"]["publishState"].get("isAcceptingResponses", True)]
    for ev in db.list("event"):
        if ev.get("status") == "cancelled":
            continue
        for guest in ev.get("attendees", []):
            if guest.get("responseStatus") == "needsAction" and not guest.get("organizer"):
                action = f"/_sandbox/google/calendars/{q(ev['_calendar'])}/events/{q(ev['id'])}/answer"
                buttons = "".join(f'<button name="responseStatus" value="{s}">{s}</button>'
                                  for s in ("accepted", "tentative", "declined"))
                items.append(f'<li>Invitation {e(ev.get("summary", ""))} for {e(guest["email"])}: '
                             f'<form method="post" action="{action}" style="display:inline">'
                             f'<input type="hidden" name="email" value="{e(guest["email"])}">{buttons}</form></li>')
    if not items:
        return ""
    return f"<h3>The client's side ({len(items)} to do)</h3><ul>{''.join(items)}</ul>"


def form_page(row: dict[str, Any], questions: list[tuple[str, dict[str, Any]]], *, error: str = "",
              values: dict[str, list[str]] | None = None) -> str:
    """The form for its respondent: one field per question (choices as radio buttons or check boxes),
    the refusal of a previous try above it, what was typed kept."""
    values = values or {}
    fields = []
    for title, question in questions:
        qid, mark = question["questionId"], " *" if question.get("required") else ""
        typed = values.get(qid, [])
        label = f"<p><b>{e(title)}</b>{mark}<br>"
        if "choiceQuestion" in question:
            kind = "checkbox" if question["choiceQuestion"]["type"] == "CHECKBOX" else "radio"
            opts = [o["value"] for o in question["choiceQuestion"].get("options", []) if "value" in o]
            fields.append(label + "".join(
                f'<label><input type="{kind}" name="{e(qid)}" value="{e(o)}"{" checked" if o in typed else ""}> '
                f"{e(o)}</label><br>" for o in opts) + "</p>")
        elif "scaleQuestion" in question:
            s = question["scaleQuestion"]
            fields.append(label + f'<input type="number" name="{e(qid)}" min="{s.get("low", 0)}" max="{s["high"]}" '
                          f'value="{e(typed[0] if typed else "")}"></p>')
        else:
            fields.append(label + f'<textarea name="{e(qid)}" rows="2" cols="60">{e(typed[0] if typed else "")}'
                          "</textarea></p>")
    collects = row["settings"].get("emailCollectionType", "DO_NOT_COLLECT") != "DO_NOT_COLLECT"
    email = (f'<p><b>Your email</b> *<br><input type="email" name="respondentEmail" size="40" '
             f'value="{e((values.get("respondentEmail") or [""])[0])}"></p>') if collects else ""
    refusal = f'<p style="color:#b00">{e(error)}</p>' if error else ""
    return _page(row["info"].get("title", ""), f'{refusal}<form method="post">{email}{"".join(fields)}'
                 '<button>Submit</button></form>')


def parse_answers(body: bytes) -> tuple[dict[str, list[str]], str | None]:
    """A submitted HTML form (urlencoded): answers by question id, and the respondent's email."""
    fields = {k: [v for v in vs if v.strip()] for k, vs in parse_qs(body.decode(), keep_blank_values=True).items()}
    email = (fields.pop("respondentEmail", None) or [None])[0]
    return {k: v for k, v in fields.items() if v}, email


def refusal(body: Any) -> str:
    """What the sandbox's refusal says (its ``{"detail"}`` or Google's ``{"error": {"message"}}``)."""
    if isinstance(body, dict):
        return str(body.get("detail") or (body.get("error") or {}).get("message") or body)
    return str(body)


def recorded_page(title: str) -> str:
    return _page(title, '<p>Your response has been recorded.</p><p><a href="/">Back to the sandbox page</a></p>')


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{e(title)}</title></head>'
            f'<body style="font-family:system-ui,sans-serif;margin:2em"><h1>{e(title)}</h1>{body}</body></html>')


def e(text: str) -> str:
    return html.escape(str(text), quote=True)


def q(part: str) -> str:
    return quote(part, safe="")
