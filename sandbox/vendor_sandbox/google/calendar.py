"""Calendar v3: events insert/get/patch/delete/list, with client ids, Meet links and recurrence.

Follows discovery calendar.v3 (rev 20261030) and developers.google.com/calendar/api/v3/reference/events.
"""

from __future__ import annotations

import base64
import copy
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule

from .common import BASE32HEX, Api, make_id, page_size, paginate, parse_time, public, rfc3339
from .errors import bad_request, event_not_found, gerror

WRITABLE = {"summary", "description", "location", "start", "end", "attendees", "recurrence", "conferenceData",
            "status", "transparency", "visibility", "reminders", "colorId", "guestsCanModify",
            "guestsCanInviteOthers", "guestsCanSeeOtherGuests", "extendedProperties", "source", "id", "kind",
            "etag", "eventType", "anyoneCanAddSelf", "attachments", "originalStartTime", "sequence"}
RESPONSES = ("needsAction", "declined", "tentative", "accepted")


class CalendarApi(Api):
    def ensure_calendar(self, email: str, name: str) -> None:
        """A colleague's primary calendar; on a ready account shared with the delegated user ("me"), on a
        fresh one only "me"'s own is reachable [CONTRACTS §6]."""
        if self.db.get("calendar", email.lower()) is None:
            shared = self.ctx.account == "ready" or email.lower() == self.me.lower()
            self.db.put("calendar", email.lower(), {"id": email.lower(), "summary": email.lower(), "owner": name,
                                                    "timeZone": "UTC", "sharedWithMe": shared})

    def require_access(self, calendar_id: str) -> None:
        """The API's view: a calendar not shared with the delegated user is not found (404 notFound), as
        Google answers for a calendar the caller cannot see."""
        row = self.calendar(calendar_id)
        if not row.get("sharedWithMe", True):
            raise event_not_found()

    def share_with_me(self, email: str) -> dict[str, Any]:
        """The colleague shares their calendar with the delegated user ("Make changes to events")."""
        row = self.calendar(email)
        self.db.put("calendar", row["id"], {**row, "sharedWithMe": True})
        return {"calendar": row["id"], "sharedWith": self.me}

    def calendar(self, calendar_id: str) -> dict[str, Any]:
        cid = self.me if calendar_id == "primary" else calendar_id
        row = self.db.get("calendar", cid.lower())
        if row is None:
            raise event_not_found()
        return row

    def _key(self, cal: dict[str, Any], event_id: str) -> str:
        return f"{cal['id']}/{event_id}"

    def _event(self, cal: dict[str, Any], event_id: str) -> dict[str, Any]:
        row = self.db.get("event", self._key(cal, event_id))
        if row is None:
            raise event_not_found()
        return row

    # --- validation -----------------------------------------------------------------------------

    def _check_times(self, ev: dict[str, Any]) -> None:
        for which in ("start", "end"):
            t = ev.get(which)
            if not t:
                raise bad_request(f"Missing {which} time.", reason="required")
            if "dateTime" in t:
                has_offset = re.search(r"(Z|[+-]\d\d:\d\d)$", t["dateTime"]) is not None
                if not has_offset and not t.get("timeZone"):
                    raise bad_request(f"Missing time zone definition for {which} time.", reason="required")
                _event_dt(t)
            elif "date" not in t:
                raise bad_request(f"Missing {which} time.", reason="required")
            if t.get("timeZone"):
                try:
                    ZoneInfo(t["timeZone"])
                except (ZoneInfoNotFoundError, ValueError):
                    raise bad_request(f"Invalid time zone definition for {which} time.",
                                      reason="timeRangeEmpty") from None
        if ev.get("recurrence") and not (ev["start"].get("timeZone") or "date" in ev["start"]):
            raise bad_request("Missing time zone definition for start time.", reason="required")
        if _event_dt(ev["end"]) < _event_dt(ev["start"]):
            raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")
        for rule in ev.get("recurrence") or []:
            if not re.match(r"^(RRULE|EXRULE|RDATE|EXDATE):", rule):
                raise bad_request("Invalid recurrence rule.", reason="invalid")
            if rule.startswith("RRULE:"):
                try:
                    rrule.rrulestr(rule, dtstart=_event_dt(ev["start"]).replace(tzinfo=None), ignoretz=True)
                except (ValueError, TypeError):
                    raise bad_request("Invalid recurrence rule.", reason="invalid") from None
        for a in ev.get("attendees") or []:
            if not a.get("email") or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", a["email"]):
                raise bad_request("Invalid attendee email.", reason="invalid")

    # --- operations -----------------------------------------------------------------------------

    def insert(self, calendar_id: str, body: dict[str, Any], send_updates: str | None,
               conference_version: str | None) -> dict[str, Any]:
        cal = self.calendar(calendar_id)
        unknown = set(body) - WRITABLE
        if unknown:
            raise bad_request(f"Invalid field: {sorted(unknown)[0]}", reason="invalid")
        event_id = body.get("id")
        if event_id is not None:
            if not re.fullmatch(r"[a-v0-9]{5,1024}", event_id):
                raise bad_request("Invalid resource id value.", reason="invalid")
            if self.db.get("event", self._key(cal, event_id)) is not None:
                raise gerror(409, "The requested identifier already exists.", "duplicate")
        else:
            n = self.db.next_int("event", 1)
            event_id = make_id(f"event-{n}", 26, BASE32HEX)
        self._check_times(body)
        now = rfc3339(self.now())
        ev = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("kind", "etag", "id", "sequence")}
        ev.update({
            "kind": "calendar#event",
            "id": event_id,
            "status": body.get("status", "confirmed"),
            "htmlLink": "https://www.google.com/calendar/event?eid="
                        + base64.urlsafe_b64encode(f"{event_id} {cal['id']}".encode()).decode().rstrip("="),
            "created": now,
            "updated": now,
            "creator": {"email": self.me, "self": True},
            "organizer": {"email": cal["id"], "self": cal["id"] == self.me.lower()},
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "reminders": body.get("reminders") or {"useDefault": True},
            "eventType": "default",
            "_calendar": cal["id"],
        })
        ev["attendees"] = self._attendees(body.get("attendees"), cal["id"])
        if not ev["attendees"]:
            ev.pop("attendees")
        ev.pop("conferenceData", None)
        self._conference(ev, body.get("conferenceData"), conference_version)
        self._etag(ev)
        self.db.put("event", self._key(cal, event_id), ev)
        self._notify(ev, send_updates, "invitation")
        return public(ev)

    def _attendees(self, attendees: list[dict[str, Any]] | None, organizer: str) -> list[dict[str, Any]]:
        out = []
        for a in attendees or []:
            entry = {k: v for k, v in a.items() if k in ("email", "displayName", "optional", "responseStatus",
                                                         "comment", "additionalGuests", "resource")}
            entry["email"] = entry["email"].lower()
            entry.setdefault("responseStatus", "needsAction")
            if entry["email"] == organizer:
                entry["organizer"] = True
                entry["self"] = True
            out.append(entry)
        return out

    def _conference(self, ev: dict[str, Any], data: dict[str, Any] | None, version: str | None) -> None:
        """A Meet link only for ``createRequest`` with ``conferenceDataVersion=1`` (ignored otherwise)."""
        if version not in ("1",) or not data:
            return
        req = data.get("createRequest")
        if not req:
            return
        if not req.get("requestId"):
            raise bad_request("Invalid conference request: requestId is required.", reason="invalid")
        key = (req.get("conferenceSolutionKey") or {}).get("type", "hangoutsMeet")
        if key != "hangoutsMeet":
            raise bad_request("Invalid conference type value.", reason="invalid")
        code = make_id(f"meet-{req['requestId']}", 10, "abcdefghijklmnopqrstuvwxyz")
        code = f"{code[:3]}-{code[3:7]}-{code[7:]}"
        ev["conferenceData"] = {
            "createRequest": {"requestId": req["requestId"], "conferenceSolutionKey": {"type": key},
                              "status": {"statusCode": "success"}},
            "entryPoints": [{"entryPointType": "video", "uri": f"https://meet.google.com/{code}",
                             "label": f"meet.google.com/{code}"}],
            "conferenceSolution": {"key": {"type": key}, "name": "Google Meet",
                                   "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/web-512dp/logo_meet_2020q4_color_2x_web_512dp.png"},
            "conferenceId": code,
        }
        ev["hangoutLink"] = f"https://meet.google.com/{code}"

    def _etag(self, ev: dict[str, Any]) -> None:
        n = self.db.next_int("etag", 3400000000000000)
        ev["etag"] = f'"{n}"'

    def _notify(self, ev: dict[str, Any], send_updates: str | None, kind: str) -> None:
        """Record the emails Calendar would send (visible on the inspection page)."""
        mode = send_updates or "none"
        if mode not in ("all", "externalOnly", "none"):
            raise bad_request(f"Invalid value for sendUpdates: {mode}", "sendUpdates")
        if mode == "none":
            return
        team = {c["id"] for c in self.db.list("calendar")}
        for a in ev.get("attendees", []):
            if a.get("self") or (mode == "externalOnly" and a["email"] in team):
                continue
            n = self.db.next_int("invite", 1)
            self.db.put("calendar_notification", str(n), {"to": a["email"], "kind": kind, "event": ev["id"],
                                                          "summary": ev.get("summary", ""),
                                                          "sent": rfc3339(self.now())})

    def get(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        return public(self._event(self.calendar(calendar_id), event_id))

    def patch(self, calendar_id: str, event_id: str, body: dict[str, Any], send_updates: str | None,
              conference_version: str | None) -> dict[str, Any]:
        cal = self.calendar(calendar_id)
        ev = self._event(cal, event_id)
        unknown = set(body) - WRITABLE
        if unknown:
            raise bad_request(f"Invalid field: {sorted(unknown)[0]}", reason="invalid")
        if "id" in body and body["id"] != event_id:
            raise bad_request("Invalid resource id value.", reason="invalid")
        merged = copy.deepcopy(ev)
        for key, value in body.items():
            if key in ("kind", "etag", "id", "sequence", "conferenceData"):
                continue
            if key == "attendees":
                old = {a["email"]: a for a in ev.get("attendees", [])}
                new = self._attendees(value, cal["id"])
                for a in new:  # a patched list keeps the answers attendees already gave
                    if a["email"] in old and "responseStatus" not in next(
                            (x for x in value if x["email"].lower() == a["email"]), {}):
                        a["responseStatus"] = old[a["email"]]["responseStatus"]
                merged["attendees"] = new
            elif isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in ("start", "end"):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = copy.deepcopy(value)
        self._check_times(merged)
        if "conferenceData" in body:
            self._conference(merged, body["conferenceData"], conference_version)
        if merged.get("start") != ev.get("start") or merged.get("end") != ev.get("end"):
            merged["sequence"] = ev.get("sequence", 0) + 1
        merged["updated"] = rfc3339(self.now())
        self._etag(merged)
        self.db.put("event", self._key(cal, event_id), merged)
        self._notify(merged, send_updates, "update")
        return public(merged)

    def delete(self, calendar_id: str, event_id: str, send_updates: str | None) -> None:
        cal = self.calendar(calendar_id)
        ev = self._event(cal, event_id)
        if ev["status"] == "cancelled":
            raise gerror(410, "Resource has been deleted", "deleted")
        ev["status"] = "cancelled"
        ev["updated"] = rfc3339(self.now())
        self._etag(ev)
        self.db.put("event", self._key(cal, event_id), ev)
        self._notify(ev, send_updates, "cancellation")

    def respond(self, calendar_id: str, event_id: str, email: str, status: str) -> dict[str, Any]:
        """An attendee answers the invitation (people route)."""
        ev = self._event(self.calendar(calendar_id), event_id)
        if status not in RESPONSES:
            raise bad_request(f"responseStatus must be one of {', '.join(RESPONSES)}")
        for a in ev.get("attendees", []):
            if a["email"] == email.lower():
                a["responseStatus"] = status
                break
        else:
            raise bad_request(f"{email} is not invited to {event_id}")
        ev["updated"] = rfc3339(self.now())
        self._etag(ev)
        self.db.put("event", f"{ev['_calendar']}/{event_id}", ev)
        return public(ev)

    def list(self, calendar_id: str, params: dict[str, str]) -> dict[str, Any]:
        cal = self.calendar(calendar_id)
        single = params.get("singleEvents", "false") == "true"
        show_deleted = params.get("showDeleted", "false") == "true"
        order = params.get("orderBy")
        if order not in (None, "startTime", "updated"):
            raise bad_request(f"Invalid value for orderBy: {order}", "orderBy")
        if order == "startTime" and not single:
            raise bad_request("The requested ordering is not available for the particular query.", "orderBy",
                              reason="badRequest")
        tmin = parse_time(params["timeMin"], "timeMin") if params.get("timeMin") else None
        tmax = parse_time(params["timeMax"], "timeMax") if params.get("timeMax") else None
        if tmin and tmax and tmax < tmin:
            raise bad_request("The specified time range is empty.", "timeMax", reason="timeRangeEmpty")
        q = (params.get("q") or "").lower()
        events = [e for e in self.db.list("event") if e["_calendar"] == cal["id"]]
        events = [e for e in events if show_deleted or e["status"] != "cancelled"]
        if q:
            events = [e for e in events if all(w in _searchable(e) for w in q.split())]
        items: list[dict[str, Any]] = []
        for e in events:
            if single and e.get("recurrence"):
                items.extend(_instances(e, tmin, tmax))
            elif _overlaps(e, tmin, tmax):
                items.append(e)
        if order == "startTime":
            items.sort(key=lambda e: _event_dt(e["start"]))
        elif order == "updated":
            items.sort(key=lambda e: e["updated"])
        page, nxt = paginate([public(e) for e in items], params.get("pageToken"),
                             page_size(params.get("maxResults"), 250, 2500, "maxResults"))
        out: dict[str, Any] = {"kind": "calendar#events", "etag": f'"p{len(items)}"', "summary": cal["id"],
                               "description": "", "updated": rfc3339(self.now()), "timeZone": cal["timeZone"],
                               "accessRole": "owner", "defaultReminders": [], "items": page}
        if nxt:
            out["nextPageToken"] = nxt
        else:
            out["nextSyncToken"] = "CP" + make_id(f"sync-{len(items)}-{out['updated']}", 20, BASE32HEX)
        return out


def _event_dt(t: dict[str, Any]) -> datetime:
    """An EventDateTime as an aware datetime (all-day dates at midnight in UTC)."""
    if "dateTime" in t:
        raw = t["dateTime"].replace("Z", "+00:00")
        try:
            dt = datetime.fromisoformat(raw)
        except ValueError:
            raise bad_request(f"Invalid start time: {t['dateTime']}", reason="invalid") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=ZoneInfo(t.get("timeZone") or "UTC"))
        return dt
    try:
        return datetime.fromisoformat(t["date"]).replace(tzinfo=UTC)
    except ValueError:
        raise bad_request(f"Invalid date: {t['date']}", reason="invalid") from None


def _overlaps(e: dict[str, Any], tmin: datetime | None, tmax: datetime | None) -> bool:
    """Calendar's filter: timeMin bounds the event's end, timeMax its start (both exclusive)."""
    start, end = _event_dt(e["start"]), _event_dt(e["end"])
    if e.get("recurrence"):
        return tmax is None or start < tmax  # the series is listed when it starts before timeMax
    return (tmin is None or end > tmin) and (tmax is None or start < tmax)


def _instances(e: dict[str, Any], tmin: datetime | None, tmax: datetime | None) -> list[dict[str, Any]]:
    """Expand RRULE/EXDATE into instances (capped at 730), as ``singleEvents=true`` does."""
    start, end = _event_dt(e["start"]), _event_dt(e["end"])
    tz = ZoneInfo(e["start"].get("timeZone") or "UTC")
    local_start = start.astimezone(tz).replace(tzinfo=None)
    rules = rrule.rruleset()
    for line in e["recurrence"]:
        if line.startswith("RRULE:"):
            rules.rrule(rrule.rrulestr(line, dtstart=local_start, ignoretz=True))
        elif line.startswith("EXDATE"):
            for value in line.split(":", 1)[1].split(","):
                rules.exdate(datetime.strptime(value.strip()[:15], "%Y%m%dT%H%M%S") if "T" in value
                             else datetime.strptime(value.strip(), "%Y%m%d"))
    out = []
    for i, occ in enumerate(rules):
        if i >= 730:
            break
        s = occ.replace(tzinfo=tz)
        en = s + (end - start)
        if tmax and s >= tmax:
            break
        if tmin and en <= tmin:
            continue
        inst = copy.deepcopy(e)
        inst.pop("recurrence", None)
        stamp = s.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        if "date" in e["start"]:
            inst["start"] = {"date": s.date().isoformat()}
            inst["end"] = {"date": en.date().isoformat()}
            stamp = s.strftime("%Y%m%d")
        else:
            inst["start"] = {"dateTime": s.isoformat(), "timeZone": tz.key}
            inst["end"] = {"dateTime": en.isoformat(), "timeZone": tz.key}
        inst["id"] = f"{e['id']}_{stamp}"
        inst["recurringEventId"] = e["id"]
        inst["originalStartTime"] = dict(inst["start"])
        out.append(inst)
    return out


def _searchable(e: dict[str, Any]) -> str:
    parts = [e.get("summary", ""), e.get("description", ""), e.get("location", "")]
    parts += [a.get("email", "") + " " + a.get("displayName", "") for a in e.get("attendees", [])]
    return " ".join(parts).lower()

