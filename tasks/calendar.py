"""Google Calendar side effects: free/busy, invites with deterministic ids, cancellations."""

from __future__ import annotations

from datetime import datetime, timedelta

from integrations.errors import NotFound
from integrations.google import Calendar, Event, event_id_for
from tasks.base import side_effect


@side_effect()
def put_event(calendar: Calendar, calendar_id: str, key: tuple[str, ...], summary: str, description: str,
                       start: datetime, minutes: int, timezone: str, attendees: list[str],
                       location: str | None = None, recurrence: list[str] | None = None) -> Event:
    """A Calendar invite with a deterministic id (``key``), so a re-run updates rather than duplicates."""
    return calendar.upsert_event(calendar_id, event_id_for(*key), summary, description, start,
                                 start + timedelta(minutes=minutes), timezone, attendees, location=location,
                                 recurrence=recurrence, meet=False)


@side_effect()
def cancel_event(calendar: Calendar, calendar_id: str, key: tuple[str, ...]) -> bool:
    return calendar.delete_event(calendar_id, event_id_for(*key))


# --- reads: plain functions, not task runs (they change nothing: nothing to remember or retry as a step)


@side_effect()
def cancel_event_id(calendar: Calendar, calendar_id: str, event_id: str) -> bool:
    """Cancel one event found by listing (attendees are told)."""
    return calendar.delete_event(calendar_id, event_id)


def client_events_ahead(calendar: Calendar, calendar_id: str, client_email: str, now: datetime,
                        days: int = 400) -> list[Event]:
    """The events of ``calendar_id`` still ahead that ``client_email`` is invited to."""
    return [e for e in calendar.list_events(calendar_id, now, now + timedelta(days=days))
            if e.status != "cancelled" and client_email.lower() in {a.lower() for a in e.attendees}
            and "T" in e.start and datetime.fromisoformat(e.start) > now]


def busy_times(calendar: Calendar, calendar_id: str, start: datetime, days: int) -> list[tuple[datetime, datetime]]:
    """Busy intervals of a calendar over the next ``days`` (to find a free slot)."""
    events = calendar.list_events(calendar_id, start, start + timedelta(days=days))
    return [(datetime.fromisoformat(e.start), datetime.fromisoformat(e.end))
            for e in events if e.status != "cancelled" and "T" in e.start]


def existing_event(calendar: Calendar, calendar_id: str, key: tuple[str, ...]) -> Event | None:
    """The invite an earlier run made for ``key``, if it is still on (so a re-run keeps its time)."""
    try:
        event = calendar.get_event(calendar_id, event_id_for(*key))
    except NotFound:
        return None
    return event if event.status != "cancelled" else None


def attendee_response(calendar: Calendar, calendar_id: str, key: tuple[str, ...], email: str) -> str | None:
    """``email``'s answer to the invite made for ``key`` (accepted, declined, tentative, needsAction), or
    None when there is no such invite (never booked, or cancelled) or ``email`` is not invited to it."""
    event = existing_event(calendar, calendar_id, key)
    if event is None:
        return None
    return next((status for who, status in event.attendees.items() if who.lower() == email.lower()), None)
