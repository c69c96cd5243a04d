"""Zoom side effects: the meetings of the SOP (discovery call, kick-off, check-ins, reviews)."""

from __future__ import annotations

from datetime import datetime

from integrations.zoom import Meeting, ZoomMeetings
from tasks.base import side_effect


@side_effect(done_key=lambda p: f"{p['host_email']}:{p['topic']}:{p['start'].isoformat()}")
def schedule_meeting(zoom: ZoomMeetings, host_email: str, topic: str, start: datetime, minutes: int,
                  timezone: str, agenda: str) -> Meeting:
    """A Zoom meeting hosted by the team member; adopted, not duplicated, on a re-run."""
    return zoom.find_or_create_meeting(host_email, topic, start, minutes, timezone, agenda)


@side_effect()
def cancel_meeting(zoom: ZoomMeetings, meeting_id: int) -> bool:
    return zoom.delete_meeting(meeting_id)
