"""The meetings the new-client run books (discovery call, kick-off): finding a slot, cancelling one.

Each meeting is a Calendar invite with a deterministic id (from the client's domain and the
meeting's key) whose location is the Zoom join link, so a re-run finds it and a cancellation
finds both halves."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows.engagement.channels import cancel_invite
from flows.steps import concurrently
from services import Services
from sop.scheduling import next_free_slot
from tasks import calendar


def meeting_slot(svc: Services, calendar_id: str, key: tuple[str, ...], minutes: int,
                 also_busy: tuple[str, ...] = ()) -> datetime:
    """The time an earlier run booked for ``key`` (in ``calendar_id``), else the next slot in working
    hours that is free in that calendar and in ``also_busy`` (the other team members attending)."""
    booked = calendar.existing_event(svc.clients.calendar, calendar_id, key)
    if booked is not None:
        return datetime.fromisoformat(booked.start)
    now = svc.now()
    calendars = (calendar_id, *also_busy)
    busy = [b for found in concurrently(*(lambda c=c: calendar.busy_times(svc.clients.calendar, c, now, 30)
                                          for c in calendars)) for b in found]
    earliest = (now.astimezone(svc.profile.tz) + timedelta(days=svc.rules.meetings.earliest_days_ahead)).date()
    return next_free_slot(now, minutes, busy, svc.profile.working_hours, svc.profile.tz, earliest_day=earliest)


def cancel_future_meeting(svc: Services, calendar_id: str, key: tuple[str, ...]) -> bool:
    """The Calendar invite booked for ``key`` and the Zoom meeting it links to, cancelled while still
    ahead (a meeting that took place is history); True when something was cancelled."""
    event = calendar.existing_event(svc.clients.calendar, calendar_id, key)
    if event is None or ("T" in event.start and datetime.fromisoformat(event.start) < svc.now()):
        return False
    return cancel_invite(svc, calendar_id, event)
