"""The waits sweep: every few minutes, each suspended run waiting on a person is looked at once.

A suspended run holds no process, so nothing of it can remind anyone or notice the deadline: this
flow does, from the run's ``WaitRecord`` (``flows/people/waits.py``). For each suspended run it
- resumes the run when the client has answered (a response to the wait's Google Form, or the
  wait's Dropbox Sign request signed by both, declined or expired);
- resumes a run waiting for its wait to start (a wait about a meeting, from the meeting's end) once
  that time has come, marking the wait started (the run's input ``started-<name>``): the run then
  tells the person and waits for the answer;
- past the wait's deadline, marks the wait timed out (the run's input ``timeout-<name>``) and
  resumes the run, which then follows the wait's ``on_timeout`` path (escalate, decline, end);
- else sends the reminder that is due (staff: Slack DM and email with the link to answer; client:
  the wait's reminder email), once (the run's input ``reminded-<name>-<n>`` records it).
A run cancelled (the UI's Cancel) while suspended has no process to stop: Prefect ends it Cancelled
at once ("Suspended flow run has no infrastructure to terminate"), and nothing runs its cancellation
hooks. The sweep runs them, once (the new-client run's hook archives what the run made).
It never waits on anyone and is idempotent: a second sweep at the same moment changes nothing. Staff
answers need no sweep: Prefect resumes a run as soon as its form is submitted.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterEndTime, FlowRunFilterState,
                                            FlowRunFilterStateName, FlowRunFilterStateType)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.flows import load_flow_from_entrypoint
from prefect.input import read_flow_run_input
from prefect.states import Scheduled

import services
from flows.people.waits import (WaitRecord, before_key, create_once, local_time, remind, remind_client,
                                started_input, timeout_input, wait_input)
from services import Services
from tasks import esign, forms


def suspended_runs() -> list[FlowRun]:
    """Runs suspended by a wait (Prefect's "Suspended" state: paused, to be rescheduled when resumed)."""
    with get_client(sync_client=True) as prefect:
        return prefect.read_flow_runs(flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Suspended"]))))


def wait_of(run: FlowRun) -> WaitRecord | None:
    key = run.state.state_details.pause_key if run.state else None
    if not key:
        return None
    stored = read_flow_run_input(wait_input(key.rsplit("-", 1)[0]), flow_run_id=run.id)
    return WaitRecord.model_validate(stored) if stored else None


def resume(run: FlowRun) -> None:
    """Reschedule the run now, as Prefect's own resume does (forced: a staff form's schema would ask
    for an answer the timeout has not got)."""
    with get_client(sync_client=True) as prefect:
        prefect.set_flow_run_state(run.id, Scheduled(name="Resuming", scheduled_time=datetime.now(UTC)), force=True)


def send_reminder(svc: Services, record: WaitRecord, n: int) -> None:
    if record.reminder is not None or record.signature_request_id:  # the client (or the signers)
        remind_client(svc, record, n)
        return
    approver = next((p for p in svc.profile.everyone() if str(p.email) == record.waits_on), None)
    if approver is not None:
        remind(svc, approver, record.what, record.client, record.domain, local_time(svc, record.deadline),
               record.on_timeout, n, url=record.link, step=record.step)


def sweep_one(svc: Services, run: FlowRun, record: WaitRecord, now: datetime) -> str:
    """What the sweep did for one waiting run: started | answered | timed_out | reminded | waiting."""
    if run.state.state_details.pause_key == before_key(record.name):  # the wait starts at asked_at (a meeting's end)
        if now < record.asked_at:
            return "waiting"
        create_once(started_input(record.name), {"at": now.isoformat()}, flow_run_id=run.id)
        resume(run)
        return "started"
    if record.client_form_id and forms.read_responses(svc.clients.forms, record.client_form_id):
        resume(run)
        return "answered"
    if record.signature_request_id and esign.settled(svc.clients.esign, record.signature_request_id):
        resume(run)  # signed by both, declined, expired or cancelled: the run takes it from there
        return "answered"
    if now >= record.deadline:
        create_once(timeout_input(record.name), {"at": now.isoformat()}, flow_run_id=run.id)
        resume(run)
        return "timed_out"
    n = record.reminders_due(now)
    marker = f"reminded-{record.name}-{n}"
    if n and read_flow_run_input(marker, flow_run_id=run.id) is None:
        send_reminder(svc, record, n)  # keyed per reminder: two sweeps at once send it once
        create_once(marker, {"at": now.isoformat()}, flow_run_id=run.id)
        return "reminded"
    return "waiting"


HOOKS_RAN = "cancellation-hooks-ran"


def cancelled_while_suspended(now: datetime) -> list[FlowRun]:
    """Runs of a deployment cancelled in the last week straight from Suspended, whose hooks have not run."""
    with get_client(sync_client=True) as prefect:
        cancelled = prefect.read_flow_runs(flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CANCELLED])),
            end_time=FlowRunFilterEndTime(after_=now - timedelta(days=7))))
        found = []
        for run in cancelled:
            if not run.deployment_id or read_flow_run_input(HOOKS_RAN, flow_run_id=run.id) is not None:
                continue
            states = sorted(prefect.read_flow_run_states(run.id), key=lambda s: s.timestamp)
            if len(states) >= 2 and states[-2].name == "Suspended":
                found.append(run)
        return found


def run_cancellation_hooks(run: FlowRun) -> None:
    """Run the cancelled run's flow's cancellation hooks, as Prefect's runner does for a run it stops
    (the deployment's entrypoint is a path in this checkout, as for the runner); once."""
    with get_client(sync_client=True) as prefect:
        entrypoint = prefect.read_deployment(run.deployment_id).entrypoint
    cancelled_flow = load_flow_from_entrypoint(entrypoint)
    for hook in cancelled_flow.on_cancellation_hooks:
        hook(cancelled_flow, run, run.state)
    create_once(HOOKS_RAN, {"at": datetime.now(UTC).isoformat()}, flow_run_id=run.id)


@flow(name="waits-sweep", flow_run_name="waits sweep", log_prints=True)
def sweep_waits(as_of: datetime | None = None) -> dict[str, int]:
    """Remind, notice client answers and end expired waits of every suspended run (``as_of``: now)."""
    log = get_run_logger()
    with services.use_services(services.current()) as svc:
        now = as_of or svc.now()
        done: Counter[str] = Counter()
        for run in suspended_runs():
            record = wait_of(run)
            if record is None:
                continue  # suspended by something else than a wait for a person
            outcome = sweep_one(svc, run, record, now)
            if outcome != "waiting":
                log.info("%s: %s (%s)", run.name, outcome, record.what)
            done[outcome] += 1
        for run in cancelled_while_suspended(now):
            run_cancellation_hooks(run)
            log.info("%s: cancelled while it waited; its cancellation hooks ran", run.name)
            done["cancelled"] += 1
        return dict(done)
