"""Waiting on people: staff answer a typed form in the Prefect UI; clients answer a Google Form.

Every wait is written down when it starts (``WaitRecord``: who, what, since when, until when, the
link; a Prefect flow-run input of the waiting run, so it outlives any process), the person asked is
told at once (Slack DM and email), reminders follow at the configured interval, and the wait ends
after the configured timeout: the caller then follows the wait's ``on_timeout`` path (escalate,
decline or end), never silently. A wait about a meeting (``not_before``: the meeting's end) starts
only then: the run first waits, as below, for that time; the person is told, reminded and timed out
from it.

How a run waits (``Settings.waits``):
- ``suspend`` (default): a run of a deployment suspends (``suspend_flow_run``): it ends its process
  and holds nothing while it waits. The waits sweep (``flows/people/sweep_waits.py``, scheduled) sends
  the reminders, notices a client's answer, and resumes the run at its deadline (and a wait about a
  meeting when it starts); staff resume it by answering. The resumed run starts again from the top
  and skips every step already done (task results persisted per run, ``tasks.base.run_scope``); the
  same pause key returns the answer.
- ``pause``, and any run that is not a deployment's top-level run (Prefect suspends only those): the
  run pauses in its process and checks for the answer itself (the demo and the tests).

An answer Prefect accepted but the form's model refuses (a typo the JSON schema cannot catch) is
asked again with the error shown in the form, under the next key; it never fails the run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout, PrefectHTTPStatusError
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput, create_flow_run_input, read_flow_run_input
from prefect.input.run_input import keyset_from_base_key
from prefect.settings import PREFECT_UI_URL
from prefect.states import Running
from pydantic import BaseModel, ValidationError

from flows.journal import waited, waiting
from flows.steps import current_phase
from services import Services
from services.rendering import Rendered
from sop.profile import Person, Role
from sop.rules import Wait
from tasks import esign, gmail, slack
from tasks.base import current_sop_steps

T = TypeVar("T", bound=RunInput)


def slug(text: str) -> str:
    """Pause keys allow only lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def run_url(run_id: str | None = None) -> str:
    ctx = FlowRunContext.get()
    base = (PREFECT_UI_URL.value() or "http://127.0.0.1:4200").rstrip("/")
    run_id = run_id or (str(ctx.flow_run.id) if ctx else None)
    return f"{base}/runs/flow-run/{run_id}" if run_id else base


class ClientReminder(BaseModel):
    """The reminder email to a client, rendered when the wait starts, for whoever sends it."""

    to: str
    sender: str
    subject: str
    body: str
    key: str  # reminder n is sent once under f"{key}-{n}"


class WaitRecord(BaseModel):
    """One wait of a run, stored as the run's input ``wait-<name>`` when the wait starts."""

    name: str  # the pause key without its attempt number, e.g. "discovery-call-notes"
    what: str
    step: str
    phase: str = ""  # the onboarding phase, e.g. "1 — initial contact" (empty for a follow-up)
    waits_on: str  # an email address (staff) or "client"
    client: str
    domain: str
    asked_at: datetime
    deadline: datetime
    remind_every_seconds: float
    on_timeout: str
    link: str  # where the answer is given: the run's page (staff) or the client's form
    client_form_id: str | None = None  # a client wait ends when this Google Form has a response
    not_before: datetime | None = None  # the end of the meeting the wait is about (asked_at: then, or later)
    signature_request_id: str | None = None  # ... or when this Dropbox Sign request is settled
    reminder: ClientReminder | None = None

    def reminders_due(self, now: datetime) -> int:
        return max(0, int((now - self.asked_at).total_seconds() // self.remind_every_seconds))


def wait_input(name: str) -> str:
    return f"wait-{name}"


def timeout_input(name: str) -> str:
    return f"timeout-{name}"


def before_key(name: str) -> str:
    """The pause key of a run waiting for its wait ``name`` to start (the waits sweep resumes it then)."""
    return f"{name}-before"


def started_input(name: str) -> str:
    return f"started-{name}"


def can_suspend(svc: Services) -> bool:
    """Prefect suspends only a deployment's top-level run (a subflow or a direct call pauses)."""
    ctx = FlowRunContext.get()
    return bool(svc.settings.waits == "suspend" and ctx and ctx.flow_run.deployment_id
                and not ctx.flow_run.parent_task_run_id)


def starts_at(svc: Services, now: datetime, not_before: datetime | None) -> datetime:
    """When a wait that may not start before ``not_before`` starts: now, or after the time until then,
    scaled as the settings scale it (real time in production; shrunk in the demo and tests)."""
    if not_before is None or not_before <= now:
        return now
    return now + (not_before - now) * (svc.wait_seconds(1, to_meeting=True) / 3600)


def open_wait(svc: Services, name: str, wait: Wait, not_before: datetime | None = None, **fields: Any) -> WaitRecord:
    """The run's record of this wait: the one written when it first started (a resumed or retried
    run keeps its times), else a new one, written now: asked at ``not_before`` if that is later."""
    stored = read_flow_run_input(wait_input(name))
    if stored:
        return WaitRecord.model_validate(stored)
    asked_at = starts_at(svc, svc.now(), not_before)
    record = WaitRecord(name=name, asked_at=asked_at,
                        deadline=asked_at + timedelta(seconds=svc.wait_seconds(wait.timeout_hours)),
                        remind_every_seconds=svc.wait_seconds(wait.remind_every_hours), on_timeout=wait.on_timeout,
                        step=" ".join(current_sop_steps()), phase=current_phase(), not_before=not_before, **fields)
    if not create_once(wait_input(name), record.model_dump(mode="json")):  # another process of the run wrote it first
        return WaitRecord.model_validate(read_flow_run_input(wait_input(name)))
    return record


def create_once(key: str, value: Any, flow_run_id: Any = None) -> bool:
    """Write the run's input ``key`` unless it exists (False then): two processes of one run (a retry
    racing a resume) or two sweeps at once write it once."""
    try:
        create_flow_run_input(key, value, flow_run_id=flow_run_id)
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code != 409:
            raise
        return False
    return True


def earlier_answer(form: type[T], key: str) -> T | None:
    """The answer given to the pause ``key`` of this run before, if any (loaded through ``form``).
    Prefect forgets a run's pause keys when the run is retried; the answers are still the run's inputs."""
    for state in ("suspended", "paused"):
        keyset = keyset_from_base_key(f"{state}-{key}")
        if read_flow_run_input(keyset["response"]) is not None:
            return form.load(keyset)
    return None


def timed_out(name: str) -> bool:
    """The waits sweep marked this wait as past its deadline before resuming the run."""
    return read_flow_run_input(timeout_input(name)) is not None


class RunCancelled(Exception):
    """Someone cancelled the run (or the run it belongs to) while it waited."""


def _back_to_running() -> None:
    """After a pause times out the run is still Paused; set it Running so the next pause is allowed,
    unless the run or one it belongs to was cancelled meanwhile (a pause does not notice: it waits
    out its time): then the run stops here, and the new-client run's cancellation hook archives."""
    ctx = FlowRunContext.get()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(ctx.flow_run.id)
        while run is not None:
            if run.state and (run.state.is_cancelling() or run.state.is_cancelled()):
                raise RunCancelled(f"{run.name} was cancelled")
            parent = client.read_task_run(run.parent_task_run_id) if run.parent_task_run_id else None
            run = client.read_flow_run(parent.flow_run_id) if parent and parent.flow_run_id else None
        client.set_flow_run_state(ctx.flow_run.id, Running(), force=True)


def wait_to_start(svc: Services, record: WaitRecord, durable: bool) -> None:
    """Until the wait's ``asked_at`` (a meeting's end): suspended (the waits sweep resumes the run
    then), else paused in the process."""
    left = (record.asked_at - svc.now()).total_seconds()
    if left <= 0:
        return
    if durable:
        # the waits sweep marks the wait started when it resumes the run: its clock decides, not this one
        if read_flow_run_input(started_input(record.name)) is None:
            suspend_flow_run(key=before_key(record.name))  # ends the process; resumed, it returns
        return
    # in the process (the demo, the tests) it sleeps: a pause made to time out races Prefect's expired-pause
    # service, which can fail the run between the timeout and its return to Running (seen under load)
    time.sleep(left)


def local_time(svc: Services, when: datetime) -> str:
    return when.astimezone(svc.profile.tz).strftime("%a %d %b %Y %H:%M %Z")


def remind(svc: Services, approver: Person, what: str, client_name: str, domain: str, deadline: str,
           outcome: str, n: int, url: str | None = None, step: str = "") -> None:
    """Tell the approver a wait is theirs (``n`` = 0, at once) or remind them (``n`` > 0): a Slack DM
    and an email, each sent once per number."""
    url = url or run_url()
    key = f"reminder-{slug(what)}-{n}"
    text = (f"Reminder: *{what}* for {client_name} is waiting for you: {url}" if n else
            f"*{what}* for {client_name} needs your answer by {deadline}: {url}")
    slack.remind_on_slack(svc.clients.slack, str(approver.email), text, key=f"{domain}:{key}")
    email = svc.renderer.render("email/reminder.html.j2", approver=approver, what=what, run_url=url, step=step,
                               deadline=deadline, outcome=outcome, client={"company_name": client_name},
                               reminder=bool(n))
    gmail.send_email(svc.clients.gmail, str(approver.email), email, key=key, domain=domain)


def escalate(svc: Services, client_name: str, domain: str, problem: str, path: str) -> None:
    """Tell the account manager (Slack DM and email) that a wait ran out and what the run does next."""
    manager = svc.person(Role.ACCOUNT_MANAGER)
    remind(svc, manager, f"Escalation: {problem}", client_name, domain, "now", path, 0)


def describe(record: WaitRecord, svc: Services, approver: Person, context: dict[str, str], error: str | None) -> str:
    """What the Resume dialog shows above the form: the approval, the client, the deadline, the
    context needed to answer, and the error of a refused answer."""
    asked = f"asked of {approver.name} <{approver.email}> on {local_time(svc, record.asked_at)}"
    if record.not_before:
        asked += f", about the meeting that ended {local_time(svc, record.not_before)}"
    lines = [f"**{record.what}**" + (f" — SOP step {record.step}" if record.step else ""),
             f"Client: **{record.client}** ({record.domain}) · {asked}",
             f"Answer by **{local_time(svc, record.deadline)}**; after that the run will {record.on_timeout}."]
    if error:
        lines.insert(0, f"⚠️ **Your last answer was not accepted**: {error}. Please correct it and resume again.")
    if context:
        lines.append("\n".join(f"- {k}: {v}" for k, v in context.items()))
    return "\n\n".join(lines)


def refused(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors())


def ask_staff(svc: Services, form: type[T], wait: Wait, *, what: str, approver: Person, client_name: str,
              domain: str, context: dict[str, str] | None = None, initial: dict[str, Any] | None = None,
              not_before: datetime | None = None) -> T | None:
    """Ask ``approver`` to answer ``form`` (``initial`` preselected, ``context`` shown above it), not
    before ``not_before`` (a meeting's end: told, reminded and timed out from then); the answer, or
    None once ``timeout_hours`` pass without one."""
    log = get_run_logger()
    name = slug(what)
    record = open_wait(svc, name, wait, not_before, what=what, waits_on=str(approver.email), client=client_name,
                       domain=domain, link=run_url())
    deadline_text = local_time(svc, record.deadline)
    waiting(record.step, what, f"on {approver.name} from {local_time(svc, record.asked_at)}; answer by {deadline_text}",
            answer=record.link)
    durable = can_suspend(svc)
    wait_to_start(svc, record, durable)
    remind(svc, approver, what, client_name, domain, deadline_text, wait.on_timeout, 0, step=record.step)
    interval = record.remind_every_seconds
    ends = time.monotonic() + max(0.0, (record.deadline - svc.now()).total_seconds())
    attempt, reminders, error = 0, 0, None
    while True:
        key = f"{name}-{attempt}"
        asked = form.with_initial_data(description=describe(record, svc, approver, context or {}, error),
                                       **(initial or {}))
        try:
            answer = earlier_answer(asked, key)  # a retried run: Prefect forgets its pauses, the answers stay
            if answer is None and durable and not timed_out(name):
                # the first time this ends the process; resumed, it returns the answer
                answer = suspend_flow_run(wait_for_input=asked, key=key)
            elif answer is None and not durable:
                answer = pause_flow_run(wait_for_input=asked, key=key,
                                        timeout=max(1, round(min(interval, ends - time.monotonic()))),
                                        poll_interval=max(0.05, min(svc.settings.poll_seconds, interval / 2)))
        except ValidationError as exc:  # asked again, with what was wrong
            error = refused(exc)
            log.warning("%s: answer refused (%s); asking again", what, error)
            attempt += 1
            continue
        except FlowPauseTimeout:
            _back_to_running()
            attempt += 1
            if time.monotonic() < ends:
                reminders += 1
                remind(svc, approver, what, client_name, domain, deadline_text, wait.on_timeout, reminders)
                continue
            answer = None
        if answer is None:
            log.warning("%s: no answer within %s hours -> %s", what, wait.timeout_hours, wait.on_timeout)
        else:
            log.info("%s answered by staff", what)
        waited(what, "timed_out" if answer is None else "answered")
        return answer


def remind_client(svc: Services, record: WaitRecord, n: int) -> None:
    """Reminder ``n`` of a client wait: its email, sent once per number (by the run or the waits sweep);
    for a signature request, Dropbox Sign's own reminder to whoever's turn it is to sign."""
    if record.signature_request_id:
        esign.remind_signer(svc.clients.esign, record.signature_request_id, n)
        return
    r = record.reminder
    gmail.send_email(svc.clients.gmail, r.to, Rendered(r.subject, r.body), key=f"{r.key}-{n}", domain=record.domain,
                     sender=r.sender)


def wait_for_client(svc: Services, check: Callable[[], object | None], wait: Wait, what: str, *, client_name: str,
                    domain: str, link: str, form_id: str | None = None, reminder: ClientReminder | None = None,
                    signature_request_id: str | None = None) -> object | None:
    """Until ``check`` returns something (the client's answer to the Google Form ``form_id``): the
    answer, or None after ``timeout_hours``. Suspended, the waits sweep checks the form and sends
    ``reminder``; pausing in-process, ``check`` is polled and ``reminder`` sent by the run."""
    log = get_run_logger()
    name = slug(what)
    record = open_wait(svc, name, wait, what=what, waits_on="client", client=client_name, domain=domain, link=link,
                       client_form_id=form_id, reminder=reminder, signature_request_id=signature_request_id)
    found = check()
    if found is not None:
        return found
    waiting(record.step, what, f"on the client since {local_time(svc, record.asked_at)}; "
                               f"until {local_time(svc, record.deadline)}", form=link)
    if can_suspend(svc):
        if not timed_out(name):
            suspend_flow_run(key=f"{name}-0")  # ends the process; the sweep resumes the run
        found = check()
        if found is None:
            log.warning("%s: nothing within %s hours -> %s", what, wait.timeout_hours, wait.on_timeout)
        waited(what, "timed_out" if found is None else "answered")
        return found
    ends = time.monotonic() + max(0.0, (record.deadline - svc.now()).total_seconds())
    start, reminders = time.monotonic(), 0
    interval = record.remind_every_seconds
    while True:
        found = check()
        if found is not None:
            waited(what, "answered")
            return found
        if time.monotonic() >= ends:
            log.warning("%s: nothing within %s hours -> %s", what, wait.timeout_hours, wait.on_timeout)
            waited(what, "timed_out")
            return None
        if time.monotonic() - start >= (reminders + 1) * interval:
            reminders += 1
            remind_client(svc, record, reminders)
        time.sleep(min(svc.settings.poll_seconds, max(0.2, ends - time.monotonic())))


def answers_by_key(form, response, questions: list[dict[str, Any]]) -> dict[str, str]:
    """A client's form answers by each question's ``key`` (the questions as templates/ or config/ list
    them: ``{key, title, ...}``); several answers to one question joined with ``; ``."""
    by_qid = {qid: title for title, qid in form.question_ids.items()}
    keys = {q["title"]: q["key"] for q in questions}
    return {keys[by_qid[qid]]: "; ".join(v) for qid, v in response.answers.items() if by_qid.get(qid) in keys}
