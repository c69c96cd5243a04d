"""Waiting on people: staff answer a typed form in the Prefect UI; clients answer a Google Form.

Every wait sends reminders at the configured interval and ends after the configured timeout; the
caller then follows the wait's ``on_timeout`` path (escalate, decline or end), never silently.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.settings import PREFECT_UI_URL
from prefect.states import Running

from services import Services
from sop.profile import Person, Role
from sop.rules import Wait
from tasks import gmail, slack

T = TypeVar("T", bound=RunInput)


def slug(text: str) -> str:
    """Pause keys allow only lowercase letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def run_url() -> str:
    ctx = FlowRunContext.get()
    base = (PREFECT_UI_URL.value() or "http://127.0.0.1:4200").rstrip("/")
    return f"{base}/runs/flow-run/{ctx.flow_run.id}" if ctx else base


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


def remind(svc: Services, approver: Person, what: str, client_name: str, domain: str, deadline: str,
           outcome: str, n: int) -> None:
    """One reminder to the approver: a Slack DM and an email, both sent once per reminder number."""
    url = run_url()
    key = f"reminder-{slug(what)}-{n}"
    slack.remind_on_slack(svc.clients.slack, str(approver.email),
                    f"Reminder: *{what}* for {client_name} is waiting for you: {url}", key=f"{domain}:{key}")
    email = svc.renderer.render("email/reminder.html.j2", approver=approver, what=what, run_url=url,
                               deadline=deadline, outcome=outcome, client={"company_name": client_name})
    gmail.send_email(svc.clients.gmail, str(approver.email), email, key=key, domain=domain)


def escalate(svc: Services, client_name: str, domain: str, problem: str, path: str) -> None:
    """Tell the account manager (Slack DM and email) that a wait ran out and what the run does next."""
    manager = svc.person(Role.ACCOUNT_MANAGER)
    remind(svc, manager, f"Escalation: {problem}", client_name, domain, "now", path, 0)


def ask_staff(svc: Services, form: type[T], wait: Wait, *, what: str, approver: Person, client_name: str,
              domain: str) -> T | None:
    """Pause for ``form``; remind every ``remind_every_hours``; None once ``timeout_hours`` pass."""
    log = get_run_logger()
    interval = svc.wait_seconds(wait.remind_every_hours)
    deadline = time.monotonic() + svc.wait_seconds(wait.timeout_hours)
    reminders = 0
    while True:
        left = deadline - time.monotonic()
        try:
            key = f"{slug(what)}-{reminders}"
            answer = pause_flow_run(wait_for_input=form, timeout=max(1, round(min(interval, left))),
                                    poll_interval=max(0.05, min(svc.settings.poll_seconds, interval / 2)),
                                    key=key)
            log.info("%s answered by staff", what)
            return answer
        except FlowPauseTimeout:
            _back_to_running()
        if time.monotonic() >= deadline:
            log.warning("%s: no answer within %s hours -> %s", what, wait.timeout_hours, wait.on_timeout)
            return None
        reminders += 1
        remind(svc, approver, what, client_name, domain, f"{wait.timeout_hours:g} hours after the request",
               wait.on_timeout, reminders)


def wait_for_client(svc: Services, check: Callable[[], object | None], wait: Wait, remind_client: Callable[[int], None],
                    what: str) -> object | None:
    """Poll ``check`` until it returns something; ``remind_client(n)`` at each interval; None on timeout."""
    log = get_run_logger()
    start = time.monotonic()
    interval = svc.wait_seconds(wait.remind_every_hours)
    timeout = svc.wait_seconds(wait.timeout_hours)
    reminders = 0
    while True:
        found = check()
        if found is not None:
            return found
        elapsed = time.monotonic() - start
        if elapsed >= timeout:
            log.warning("%s: nothing within %s hours -> %s", what, wait.timeout_hours, wait.on_timeout)
            return None
        if elapsed >= (reminders + 1) * interval:
            reminders += 1
            remind_client(reminders)
        time.sleep(min(svc.settings.poll_seconds, max(0.2, timeout - elapsed)))


def answers_by_key(form, response, questions: list[dict[str, Any]]) -> dict[str, str]:
    """A client's form answers by each question's ``key`` (the questions as templates/ or config/ list
    them: ``{key, title, ...}``); several answers to one question joined with ``; ``."""
    by_qid = {qid: title for title, qid in form.question_ids.items()}
    keys = {q["title"]: q["key"] for q in questions}
    return {keys[by_qid[qid]]: "; ".join(v) for qid, v in response.answers.items() if by_qid.get(qid) in keys}
