"""A cancelled onboarding: what its run made is archived (the new-client run's compensation).

Everything is found again from the client's HubSpot company (the ids each step records there at
once) and the deterministic keys (Calendar event ids, the deal's key), so the archive works from
any process: the run's own ``on_cancellation`` hook, which Prefect's runner calls in the serving or
a fresh process, or ``onboard cancel`` for a run started in-process. Archiving twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from prefect import flow

import services
from flows.engagement.channels import cancel_meetings_ahead
from flows.onboarding.client_runs import stop_run, unfinished_runs
from flows.onboarding.deal_pipeline import onboarding_pipeline
from flows.onboarding.meetings import cancel_future_meeting
from flows.steps import concurrently, sop_step
from services import Services
from sop.client import NewClient
from sop.profile import Role
from tasks import asana, hubspot, slack, storage

# the meetings a new-client run books: (calendar role, key); the check-ins after kick-off are found by listing
MEETINGS = ((Role.ONBOARDING_SPECIALIST, "discovery"), (Role.ACCOUNT_MANAGER, "kickoff"))


def undo(recorded: str | None, action: Callable[[str], object], what: str) -> str | None:
    """``action(recorded)`` when the run recorded that id; ``what`` was done, or None."""
    if not recorded:
        return None
    action(recorded)
    return what


@sop_step("cancel")
def archive_onboarding(svc: Services, domain: str, reason: str) -> list[str]:
    """Archive what the client's run made that must not outlive a cancelled onboarding: meetings
    still ahead (Zoom and Calendar), the Drive folder (to the bin), the Slack channel, the Asana
    project. Kept, as after a decline: the CRM records (the deal closed-lost, the company marked
    ``cancelled``, a note with the reason) and the emails already sent. Returns what it did."""
    hub = svc.clients.hubspot
    company_id = hubspot.company_with(hub, "domain", domain)
    if company_id is None:
        return []
    known, deal, contact = concurrently(lambda: hubspot.read_company(hub, company_id),
                                        lambda: hubspot.find_deal(hub, domain),
                                        lambda: hubspot.primary_contact(hub, company_id))
    recorded = {Role.ONBOARDING_SPECIALIST: "specialist_email", Role.ACCOUNT_MANAGER: "account_manager_email"}
    calendar_of = {role: known.get(prop) or str(svc.person(role).email) for role, prop in recorded.items()}
    client_email = (contact.properties.get("email") if contact else None) or ""
    done = concurrently(
        *(lambda r=role, k=key: f"{k} meeting cancelled" if cancel_future_meeting(svc, calendar_of[r], (domain, k))
          else None for role, key in MEETINGS),
        lambda: undo(known.get("drive_folder_id"), lambda f: storage.trash(svc.clients.documents, f),
                     "Drive folder trashed"),
        lambda: undo(known.get("slack_channel_id"), lambda c: slack.archive_channel(svc.clients.slack, c),
                     "Slack channel archived"),
        lambda: undo(known.get("asana_project_gid"), lambda p: asana.archive_project(svc.clients.asana, p),
                     "Asana project archived"),
        lambda: undo(deal.id if deal else None, lambda d: close_deal(svc, d), "deal closed-lost"))
    done = [d for d in done if d]
    # then whatever else is still ahead with the client (the check-ins, booked a week ahead each)
    n = cancel_meetings_ahead(svc, calendar_of[Role.ACCOUNT_MANAGER], client_email) if client_email else 0
    if n:
        done.append(f"{n} check-in meeting(s) cancelled")
    # out of the engagement sweep: no next action, and a status the sweep's search leaves out
    hubspot.update_company(hub, company_id, {"onboarding_status": "cancelled", "next_action_key": "",
                                             "next_action_date": ""})
    hubspot.add_note(hub, f"Onboarding cancelled: {reason}" + (f" ({'; '.join(done)})" if done else ""), svc.now(), None,
                 {"companies": company_id, **({"deals": deal.id} if deal else {})}, key=f"{domain}:cancelled")
    return [*done, "company marked cancelled"]


def close_deal(svc: Services, deal_id: str) -> None:
    """The deal to the onboarding pipeline's closed-lost stage."""
    pipeline, stage_ids = onboarding_pipeline(svc)
    hubspot.move_deal(svc.clients.hubspot, deal_id, pipeline.id, stage_ids["lost"])


def archive_when_cancelled(flow, flow_run, state) -> None:
    """``on_cancellation`` of the new-client run. Prefect's runner calls it (in the serving process,
    or a fresh one for a worker) after stopping the run, with these argument names."""
    domain = NewClient.model_validate(flow_run.parameters["client"]).domain
    # the runner hands over a state of its own; the message given with the cancel is on the run's
    reason = (flow_run.state.message if flow_run.state else None) or state.message or "the run was cancelled"
    archive_onboarding(services.build_services(), domain, reason)


@flow(name="cancel-onboarding", flow_run_name="cancel {domain}", log_prints=True)
def cancel_onboarding(domain: str, reason: str = "cancelled by staff") -> list[str]:
    """Stop the client's unfinished new-client runs and archive what its onboarding made
    (``onboard cancel DOMAIN``; a run served by a worker or ``onboard serve`` also archives itself
    when it is cancelled: archiving twice changes nothing)."""
    stopped = [stop_run(run, reason) for run in unfinished_runs(domain)]
    return [*stopped, *archive_onboarding(services.current(), domain, reason)]
