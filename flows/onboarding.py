"""The new-client run: SOP phases 1-3 in order, one subflow per phase."""

from __future__ import annotations

import time
from contextlib import contextmanager

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from onboard.models import NewClient
from onboard.outcomes import OnboardingResult, Outcome
from onboard.runtime import Journal, Runtime, build_runtime, using_runtime
from tasks.base import run_scope

from .cancel import archive_when_cancelled
from .contact import initial_contact
from .engagement import plan_engagement
from .proposal import proposal_and_agreement
from .setup import service_setup


@flow(name="onboard-client", flow_run_name="onboard {client.company_name}", log_prints=True,
      on_cancellation=[archive_when_cancelled])
def onboard_client(client: NewClient) -> OnboardingResult:
    """Carry a new client from first contact to kick-off (SOP-A 1-3, SOP-B 1-3).

    Every step is idempotent: running the same client again finds what exists and creates nothing twice.
    Cancelled, the run archives what it made (``flows.cancel``)."""
    rt = build_runtime()
    try:
        with using_runtime(rt), run_scope(flow_run.id):  # steps done in this run are not done again
            return run_phases(client, rt)
    finally:
        publish_journal(client, rt.journal)


def run_phases(client: NewClient, rt: Runtime) -> OnboardingResult:
    result = OnboardingResult(outcome=Outcome.ONBOARDED, company=client.company_name)
    timings = result.seconds_per_phase

    with stopwatch(timings, "phase 1"):
        outcome, result.lead = initial_contact(client, rt)
    if outcome is not None:
        result.outcome, result.detail = outcome, "not qualified: declined politely"
        return result
    with stopwatch(timings, "phase 2"):
        outcome, result.agreement = proposal_and_agreement(client, rt, result.lead)
    if outcome is not None:
        result.outcome = outcome
        return result
    with stopwatch(timings, "phase 3"):
        result.setup = service_setup(client, rt, result.lead, result.agreement)
        # the follow-ups' timeline: the plan-engagement flow's body, inline (a subflow run costs ~0.2-0.4 s)
        plan_engagement.fn(client.domain, rt.now().astimezone(rt.profile.tz).date())
    get_run_logger().info("%s onboarded as %s", client.company_name, result.setup.client_id)
    return result


@contextmanager
def stopwatch(timings: dict[str, float], name: str):
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - t0, 2)


def publish_journal(client: NewClient, journal: Journal) -> None:
    """The run's artifact: every SOP step with its status and links to what it created."""
    rows = ["| SOP step | what | status | detail | links |", "|---|---|---|---|---|"]
    for e in journal.entries:
        links = " ".join(f"[{k}]({v})" if v.startswith("http") else f"{k}: `{v}`" for k, v in e.links.items())
        rows.append(f"| {e.sop} | {e.step} | {e.status} | {e.detail.replace('|', '/')} | {links} |")
    key = "onboarding-" + "".join(ch if ch.isalnum() else "-" for ch in client.domain.lower())
    create_markdown_artifact("\n".join(rows), key=key[:100], description=f"SOP steps for {client.company_name}")
