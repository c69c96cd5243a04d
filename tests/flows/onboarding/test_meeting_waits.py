"""Waits about a meeting start at the meeting's end: the discovery call's notes (SOP-A 2.3) and the
kick-off's outcome (SOP-B 3.4) are asked, reminded and timed out from then, not from when the run got
there. Real hours here (as in production), with meetings that end a few seconds from now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.input import read_flow_run_input
from prefect.runtime import flow_run

from flows.onboarding.initial_contact import record_discovery_notes
from flows.onboarding.service_setup import record_kickoff
from flows.people.waits import WaitRecord, wait_input
from services import Services
from services.clients import sandbox_clients
from services.settings import Settings
from sop.profile import Role
from tests.flows.conftest import KICKOFF, NOTES, POLL_SECONDS, lead_for, new_client

ENDS_IN = timedelta(seconds=5)  # the meeting ends after the run got to the step


def real_hours(sandbox) -> Services:
    """Services whose waits and time to a meeting last real hours (a reminder a day, a deadline in days)."""
    settings = Settings(sandbox_url=sandbox.root, wait_hour_seconds=3600, meeting_hour_seconds=None,
                        poll_seconds=POLL_SECONDS)
    return Services(settings, sandbox_clients(sandbox.root))


@flow(name="meeting-wait-probe", flow_run_name="{run_name}", validate_parameters=False)
def meeting_wait_probe(step, run_name: str, args: tuple) -> str:
    """One step that waits on a person after a meeting, in a run of its own; the run's id."""
    step(*args)
    return str(flow_run.id)


def wait_of(run_id: str, name: str) -> WaitRecord:
    return WaitRecord.model_validate(read_flow_run_input(wait_input(name), flow_run_id=run_id))


def pause_keys(run_id: str) -> list[str]:
    """The run's pauses, in order, by key."""
    with get_client(sync_client=True) as prefect:
        states = sorted(prefect.read_flow_run_states(run_id), key=lambda s: s.timestamp)
    return [s.state_details.pause_key for s in states if s.is_paused()]


def told_at(view, email: str, what: str, company: str) -> datetime:
    """When the person was first told (the Slack DM saying what is asked, and by when)."""
    (dm,) = [m for m in view.dms_to(email) if m["text"].startswith(f"*{what}* for {company} needs your answer")]
    return datetime.fromtimestamp(float(dm["ts"]), UTC)


def assert_asked_after(run_id: str, name: str, what: str, ends: datetime, svc: Services, view, email: str) -> None:
    record = wait_of(run_id, name)
    timeout = timedelta(hours=svc.rules.wait(name_of_wait[name]).timeout_hours)
    assert record.not_before == record.asked_at == ends  # the wait starts at the meeting's end ...
    assert record.deadline == ends + timeout  # ... and its timeout counts from there
    assert told_at(view, email, what, record.client) >= ends  # nobody is told before it ended
    assert pause_keys(run_id) == [f"{name}-0"]  # in the process it slept until then (no pause), then asked
    description = read_flow_run_input(f"paused-{name}-0-description", flow_run_id=run_id)
    assert "about the meeting that ended" in description and "Answer by" in description


name_of_wait = {"discovery-call-notes": "discovery_notes", "kick-off-outcome": "kickoff_outcome"}


def test_the_discovery_notes_are_asked_after_the_call_and_time_out_from_its_end(flow_sandbox, staff, view):
    svc, client = real_hours(flow_sandbox), new_client()
    specialist = svc.person(Role.ONBOARDING_SPECIALIST)
    minutes = timedelta(minutes=svc.rules.meetings.discovery_minutes)
    staff({"discovery-call-notes": NOTES})
    lead = lead_for(client, svc)
    ends = (svc.now() + ENDS_IN).replace(microsecond=0)
    lead = lead.model_copy(update={"discovery_at": ends - minutes})

    run_id = meeting_wait_probe(record_discovery_notes, f"notes-{client.domain}", (client, svc, lead, specialist))

    assert_asked_after(run_id, "discovery-call-notes", "Discovery call notes", ends, svc, view(client),
                       str(specialist.email))
    assert view(client).note("discovery-notes")  # answered: the notes went on


def test_the_kickoff_outcome_is_asked_after_the_meeting_and_times_out_from_its_end(flow_sandbox, staff, view):
    svc, client = real_hours(flow_sandbox), new_client()
    manager = svc.person(Role.ACCOUNT_MANAGER)
    minutes = timedelta(minutes=svc.rules.meetings.kickoff_minutes)
    staff({"kick-off-outcome": KICKOFF})
    lead = lead_for(client, svc, folders=True)
    ends = (svc.now() + ENDS_IN).replace(microsecond=0)

    run_id = meeting_wait_probe(record_kickoff, f"kickoff-{client.domain}",
                                (client, svc, lead, manager, ends - minutes))

    assert_asked_after(run_id, "kick-off-outcome", "Kick-off outcome", ends, svc, view(client), str(manager.email))
    assert view(client).note("kickoff-outcome")
