"""Zoom and Google Calendar side effects: discovery, kick-off and recurring check-in meetings."""

from __future__ import annotations

from datetime import datetime, timedelta

from integrations.google import Calendar, Event, event_id_for
from integrations.zoom import Meeting, ZoomMeetings

from .base import step


@step()
def busy_times(calendar: Calendar, calendar_id: str, start: datetime, days: int) -> list[tuple[datetime, datetime]]:
    """Busy intervals of a calendar over the next ``days`` (to find a free slot)."""
    events = calendar.list_events(calendar_id, start, start + timedelta(days=days))
    return [(datetime.fromisoformat(e.start), datetime.fromisoformat(e.end))
            for e in events if e.status != "cancelled" and "T" in e.start]


@step(done_key=lambda p: f"{p['host_email']}:{p['topic']}:{p['start'].isoformat()}")
def schedule_zoom(zoom: ZoomMeetings, host_email: str, topic: str, start: datetime, minutes: int,
                  timezone: str, agenda: str) -> Meeting:
    """A Zoom meeting hosted by the team member; adopted, not duplicated, on a re-run."""
    return zoom.find_or_create_meeting(host_email, topic, start, minutes, timezone, agenda)


@step()
def put_calendar_event(calendar: Calendar, calendar_id: str, key: tuple[str, ...], summary: str, description: str,
                       start: datetime, minutes: int, timezone: str, attendees: list[str],
                       location: str | None = None, recurrence: list[str] | None = None) -> Event:
    """A Calendar invite with a deterministic id (``key``), so a re-run updates rather than duplicates."""
    return calendar.upsert_event(calendar_id, event_id_for(*key), summary, description, start,
                                 start + timedelta(minutes=minutes), timezone, attendees, location=location,
                                 recurrence=recurrence, meet=False)


@step()
def cancel_zoom(zoom: ZoomMeetings, meeting_id: int) -> bool:
    return zoom.delete_meeting(meeting_id)


@step()
def cancel_calendar_event(calendar: Calendar, calendar_id: str, key: tuple[str, ...]) -> bool:
    return calendar.delete_event(calendar_id, event_id_for(*key))


@step()
def existing_event(calendar: Calendar, calendar_id: str, key: tuple[str, ...]) -> Event | None:
    """The invite an earlier run made for ``key``, if it is still on (so a re-run keeps its time)."""
    from integrations.errors import NotFound

    try:
        event = calendar.get_event(calendar_id, event_id_for(*key))
    except NotFound:
        return None
    return event if event.status != "cancelled" else None
