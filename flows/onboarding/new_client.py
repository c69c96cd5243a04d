"""The new-client run: SOP phases 1-3 in order, in one run."""

from __future__ import annotations

import time
from contextlib import contextmanager

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext

import services
from flows.engagement.plan import plan_engagement
from flows.onboarding.cancel import archive_when_cancelled
from flows.onboarding.client_runs import crashed_here, tag_run, unfinished_runs
from flows.onboarding.initial_contact import initial_contact
from flows.onboarding.phase import phase_of
from flows.onboarding.proposal import proposal_and_agreement
from flows.onboarding.service_setup import service_setup
from flows.people.waits import run_url
from flows.preflight import require_ready
from sop.client import NewClient
from sop.outcomes import OnboardingResult, Outcome


@flow(name="onboard-client", flow_run_name="onboard {client.company_name}", log_prints=True,
      on_cancellation=[archive_when_cancelled])
def onboard_client(client: NewClient) -> OnboardingResult:
    """Carry a new client from first contact to kick-off (SOP-A 1-3, SOP-B 1-3).

    Every step is idempotent: running the same client again finds what exists and creates nothing twice.
    One run per client: while one is unfinished, another for the same client ends at once, naming it.
    Cancelled, the run archives what it made (``flows/onboarding/cancel.py``)."""
    earlier = earlier_unfinished_run(client)
    if earlier:
        get_run_logger().warning("%s is already being onboarded by %s; this run does nothing", client.company_name,
                                 earlier)
        return OnboardingResult(outcome=Outcome.ALREADY_IN_PROGRESS, company=client.company_name,
                                detail=f"already being onboarded by {earlier}")
    with services.use_services(services.build_services()):
        check_accounts_once(services.current())
        with phase_of(client):
            return run_phases(client)


PREFLIGHT_PASSED = "preflight-passed"


def check_accounts_once(svc: services.Services) -> None:
    """Before the run's first side effect: the accounts can carry it (the doctor's checks; a run resumed
    after a wait has passed them already). If not, the run fails here, naming each fix, with nothing
    written or sent; fixed, a Retry goes on."""
    from prefect.input import create_flow_run_input, read_flow_run_input

    run_id = FlowRunContext.get().flow_run.id
    if read_flow_run_input(PREFLIGHT_PASSED, flow_run_id=run_id) is not None:
        return
    require_ready(svc)
    create_flow_run_input(PREFLIGHT_PASSED, True, flow_run_id=run_id)


def earlier_unfinished_run(client: NewClient) -> str | None:
    """Tag this run with the client; the earliest other unfinished run of the client, if any, as
    "'name' (state, link)". Of two runs started at once, the later-created one gives way."""
    me = FlowRunContext.get().flow_run
    tag_run(me, client.domain)
    earlier = [r for r in unfinished_runs(client.domain) if r.id != me.id
               and (r.created, str(r.id)) < (me.created, str(me.id)) and not crashed_here(r)]
    if not earlier:
        return None
    run = earlier[0]
    return f"'{run.name}' ({run.state.name if run.state else 'unknown'}, {run_url(str(run.id))})"


def run_phases(client: NewClient) -> OnboardingResult:
    """The phases' flow bodies, in this run: Prefect suspends only a top-level run (a wait of days then
    holds no process), and a Retry of this run finds every answer and step of its phases already here."""
    svc = services.current()
    result = OnboardingResult(outcome=Outcome.ONBOARDED, company=client.company_name)
    timings = result.seconds_per_phase

    with stopwatch(timings, "phase 1"):
        outcome, result.lead = initial_contact.fn(client)
    if outcome is not None:
        result.outcome, result.detail = outcome, "not qualified: declined politely"
        return result
    with stopwatch(timings, "phase 2"):
        outcome, result.agreement = proposal_and_agreement.fn(client, result.lead)
    if outcome is not None:
        result.outcome = outcome
        return result
    with stopwatch(timings, "phase 3"):
        result.setup = service_setup.fn(client, result.lead, result.agreement)
        # the follow-ups' timeline: the plan-engagement flow's body, inline (a subflow run costs ~0.2-0.4 s)
        plan_engagement.fn(client.domain, svc.now().astimezone(svc.profile.tz).date())
    get_run_logger().info("%s onboarded as %s", client.company_name, result.setup.client_id)
    return result


@contextmanager
def stopwatch(timings: dict[str, float], name: str):
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - t0, 2)
