"""The meetings the new-client run books (discovery call, kick-off): finding a slot, cancelling one.

Each meeting is a Calendar invite with a deterministic id (from the client's domain and the
meeting's key) whose location is the Zoom join link, so a re-run finds it and a cancellation
finds both halves."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows.engagement.channels import cancel_invite, free_slot
from services import Services
from tasks import calendar


def meeting_slot(svc: Services, calendar_id: str, key: tuple[str, ...], minutes: int,
                 also_busy: tuple[str, ...] = ()) -> datetime:
    """The time an earlier run booked for ``key``, else the next slot free for everyone attending, at the
    earliest ``meetings.earliest_days_ahead`` days from now."""
    now = svc.now()
    earliest = (now.astimezone(svc.profile.tz) + timedelta(days=svc.rules.meetings.earliest_days_ahead)).date()
    return free_slot(svc, calendar_id, key, now, minutes, also_busy, days=30, earliest_day=earliest)


def cancel_future_meeting(svc: Services, calendar_id: str, key: tuple[str, ...]) -> bool:
    """The Calendar invite booked for ``key`` and the Zoom meeting it links to, cancelled while still
    ahead (a meeting that took place is history); True when something was cancelled."""
    event = calendar.existing_event(svc.clients.calendar, calendar_id, key)
    if event is None or ("T" in event.start and datetime.fromisoformat(event.start) < svc.now()):
        return False
    return cancel_invite(svc, calendar_id, event)
