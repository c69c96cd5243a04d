"""The new-client run: SOP phases 1-3 in order, one subflow per phase."""

from __future__ import annotations

import time
from contextlib import contextmanager

from prefect import flow, get_run_logger

import services
from flows.engagement.plan import plan_engagement
from flows.onboarding.cancel import archive_when_cancelled
from flows.onboarding.initial_contact import initial_contact
from flows.onboarding.phase import phase_of
from flows.onboarding.proposal import proposal_and_agreement
from flows.onboarding.service_setup import service_setup
from sop.client import NewClient
from sop.outcomes import OnboardingResult, Outcome


@flow(name="onboard-client", flow_run_name="onboard {client.company_name}", log_prints=True,
      on_cancellation=[archive_when_cancelled])
def onboard_client(client: NewClient) -> OnboardingResult:
    """Carry a new client from first contact to kick-off (SOP-A 1-3, SOP-B 1-3).

    Every step is idempotent: running the same client again finds what exists and creates nothing twice.
    Cancelled, the run archives what it made (``flows/onboarding/cancel.py``)."""
    with services.use_services(services.build_services()), phase_of(client):
        return run_phases(client)


def run_phases(client: NewClient) -> OnboardingResult:
    svc = services.current()
    result = OnboardingResult(outcome=Outcome.ONBOARDED, company=client.company_name)
    timings = result.seconds_per_phase

    with stopwatch(timings, "phase 1"):
        outcome, result.lead = initial_contact(client)
    if outcome is not None:
        result.outcome, result.detail = outcome, "not qualified: declined politely"
        return result
    with stopwatch(timings, "phase 2"):
        outcome, result.agreement = proposal_and_agreement(client, result.lead)
    if outcome is not None:
        result.outcome = outcome
        return result
    with stopwatch(timings, "phase 3"):
        result.setup = service_setup(client, result.lead, result.agreement)
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
