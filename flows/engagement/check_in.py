"""SOP-A 4.1 / SOP-B 4.1 (and A5.3 after the project): the check-in meeting, with a progress summary.

Runs alone for one client: ``check_in(client_domain, as_of, key=None)``. ``as_of`` is the local date
the action is for (the injected clock: nothing here asks the system for the date); ``key`` is the
timeline key being run, defaulting to the one ``as_of`` implies.
"""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, get_run_logger

import services
from flows.engagement.channels import free_slot, hold_meeting, local_at, post, progress, slot_date
from flows.engagement.record import DONE, SKIPPED, ClientRecord, load_record
from services import Services
from sop.timeline import ActionKind


def check_in_slot(svc: Services, rec: ClientRecord, key: str, wanted: datetime, minutes: int) -> datetime:
    """The time booked for ``key`` before (a re-run keeps it), else ``wanted`` or, when the account manager
    or the specialist is busy then, the next slot in working hours free for both."""
    return free_slot(svc, str(rec.manager.email), (rec.domain, key), wanted, minutes, (str(rec.specialist.email),),
                     days=7)


def run_check_in(svc: Services, rec: ClientRecord, as_of: date, key: str | None = None) -> str:
    """SOP-A 4.1 / B4.1 (and A5.3 after the project): the check-in of the series the key names, booked
    ahead (Zoom + invite at a slot free for the team), with the progress so far and a Slack reminder."""
    key = key or f"check_in:{as_of.isoformat()}"
    day = slot_date(key, as_of)  # the meeting's day; the action falls due when it is booked
    if day < as_of:  # a meeting whose day passed before any sweep could book it is not booked in the past
        get_run_logger().warning("%s: %s was not booked before its day (sweep on %s); skipped", rec.domain, key, as_of)
        return SKIPPED
    c = svc.engagement_rules.check_ins
    post_project = key.startswith(ActionKind.POST_PROJECT_CHECK_IN.value)
    topic = f"{'Periodic' if post_project else 'Progress'} check-in — {rec.client.company_name} — {day.isoformat()}"
    start = check_in_slot(svc, rec, key, local_at(svc, day, c.local_time), c.minutes)
    join_url, when = hold_meeting(svc, rec, key, topic, start, c.minutes,
                                  "Progress, updates, questions; anything not going as planned")
    p = progress(svc, rec, as_of)
    post(svc, rec, "slack/check_in_summary.md.j2", f"{key}:summary", when=when, progress=p, limit=5)
    post(svc, rec, "slack/check_in_reminder.md.j2", f"{key}:reminder", when=when, join_url=join_url)
    return DONE


@flow(name="check-in", flow_run_name="check-in {client_domain} {as_of}", log_prints=True)
def check_in(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 4.1 / B4.1 / A5.3: the check-in meeting with a progress summary before it."""
    svc = services.current()
    return run_check_in(svc, load_record(svc, client_domain), as_of, key)
