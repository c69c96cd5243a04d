"""How a follow-up reaches people: a CRM note, an email and a Slack post (each once per key), a
meeting (Zoom + Calendar invite), the project's progress, and a client's form answered or not.

Every side effect is idempotent per (client, action key): emails carry a Message-ID made from the
key (tasks/gmail.message_id), Calendar events an id made from it, notes a note key, Drive documents
appProperties {client, kind}, Slack posts a dedupe key; forms are made once and their id kept on
the company. Running a follow-up twice for the same key therefore creates nothing new.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from flows.engagement.record import ClientRecord
from flows.steps import concurrently
from services import Services
from services.rendering import Rendered
from sop.rules import Wait
from sop.scheduling import next_free_slot
from tasks import asana, calendar, forms, gmail, hubspot, slack, zoom

ZOOM_ID = re.compile(r"/j/(\d+)")  # an invite's location is its meeting's join link


def local_at(svc: Services, day: date, at: time) -> datetime:
    return datetime.combine(day, at, svc.profile.tz)


def slot_date(key: str | None, fallback: date) -> date:
    try:
        return date.fromisoformat(key.split(":", 1)[1]) if key else fallback
    except ValueError:
        return fallback


def note(svc: Services, rec: ClientRecord, body: str, key: str, as_of: date) -> None:
    hubspot.add_note(svc.clients.hubspot, body, local_at(svc, as_of, svc.engagement_rules.action_time), None, rec.ids(),
                 key=f"{rec.domain}:{key}")


def send(svc: Services, rec: ClientRecord, template: str, key: str, **context: Any) -> Rendered:
    """The client's email from ``template``, sent and signed by the account manager once per ``key``; the
    rendered email."""
    mail = svc.renderer.render(template, client=rec.client, account_manager=rec.manager, sender=rec.manager, **context)
    gmail.send_email(svc.clients.gmail, rec.client.email, mail, key=key, domain=rec.domain,
                     sender=str(rec.manager.email))
    return mail


def post(svc: Services, rec: ClientRecord, template: str, key: str, **context: Any) -> None:
    """A post to the client's channel from ``template``, once per ``key`` (nothing without a channel)."""
    channel = rec.get("slack_channel_id")
    if channel:
        text = svc.renderer.render(template, client=rec.client, account_manager=rec.manager,
                                   specialist=rec.specialist, **context).body
        slack.post(svc.clients.slack, channel, text, key=f"{rec.domain}:{key}")


def progress(svc: Services, rec: ClientRecord, as_of: date) -> asana.Progress:
    gid = rec.get("asana_project_gid")
    return asana.project_progress(svc.clients.asana, gid, as_of) if gid else asana.Progress()


def hold_meeting(svc: Services, rec: ClientRecord, key: str, topic: str, when: datetime, minutes: int,
                 agenda: str) -> tuple[str, str]:
    """A Zoom meeting + Calendar invite (event id from the key) for client, manager and specialist."""
    meeting = zoom.schedule_meeting(svc.clients.zoom, str(rec.manager.email), topic, when, minutes, svc.profile.timezone,
                                  agenda)
    calendar.put_event(svc.clients.calendar, str(rec.manager.email), (rec.domain, key), topic,
                                f"{agenda}\nJoin Zoom: {meeting.join_url}", when, minutes, svc.profile.timezone,
                                [rec.client.email, str(rec.manager.email), str(rec.specialist.email)],
                                location=meeting.join_url)
    return meeting.join_url, when.strftime("%A %d %B %Y, %H:%M %Z")


def free_slot(svc: Services, calendar_id: str, key: tuple[str, ...], after: datetime, minutes: int,
              also_busy: tuple[str, ...] = (), days: int = 30, earliest_day: date | None = None) -> datetime:
    """The time an earlier run booked for ``key`` (in ``calendar_id``: a re-run keeps it), else the first
    slot in working hours from ``after`` that is free in that calendar and in ``also_busy`` (the other team
    members attending) over the next ``days``."""
    booked = calendar.existing_event(svc.clients.calendar, calendar_id, key)
    if booked is not None:
        return datetime.fromisoformat(booked.start)
    calendars = dict.fromkeys((calendar_id, *also_busy))  # each once, in order
    busy = [b for found in concurrently(*(lambda c=c: calendar.busy_times(svc.clients.calendar, c, after, days)
                                          for c in calendars)) for b in found]
    return next_free_slot(after, minutes, busy, svc.profile.working_hours, svc.profile.tz, earliest_day=earliest_day)


def cancel_meetings_ahead(svc: Services, calendar_id: str, client_email: str) -> int:
    """Every meeting still ahead in ``calendar_id`` the client is invited to (the check-in series, booked
    ahead), cancelled with its Zoom meeting; how many. Again: none left, nothing done."""
    ahead = calendar.client_events_ahead(svc.clients.calendar, calendar_id, client_email, svc.now())
    for event in ahead:
        cancel_invite(svc, calendar_id, event)
    return len(ahead)


def cancel_invite(svc: Services, calendar_id: str, event) -> bool:
    """One Calendar invite and the Zoom meeting its location links to; False when the invite was gone."""
    zoom_id = ZOOM_ID.search(event.location or "")
    if zoom_id:
        zoom.cancel_meeting(svc.clients.zoom, int(zoom_id.group(1)))
    return calendar.cancel_event_id(svc.clients.calendar, calendar_id, event.id)


def collect_form(svc: Services, as_of: date, form_id: str, sent: date, wait: Wait,
                 remind) -> tuple[str, Any]:
    """("answered", response) | ("expired", None) | ("pending", None), counted in days of ``as_of``."""
    responses = forms.read_responses(svc.clients.forms, form_id)
    if responses:
        return "answered", responses[0]
    days = (as_of - sent).days
    if days * 24 >= wait.timeout_hours:
        return "expired", None
    n = int(days * 24 // wait.remind_every_hours)
    if n >= 1:
        remind(n)
    return "pending", None
