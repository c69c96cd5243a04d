"""SOP-A 5.1: completion of onboarding, once every initial deliverable is done, and the hand-over to ongoing support.

Runs alone for one client: ``complete_onboarding(client_domain, as_of, key=None)``. ``as_of`` is the local date
the action is for (the injected clock: nothing here asks the system for the date); ``key`` is the
timeline key being run, defaulting to the one ``as_of`` implies.
"""

from __future__ import annotations

from datetime import date

from prefect import flow

import services
from flows.engagement.channels import note, post
from flows.engagement.record import DONE, PENDING, ClientRecord, load_record
from services import Services
from tasks import asana, hubspot


def run_complete_onboarding(svc: Services, rec: ClientRecord, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.1: once the plan's deliverables are done, hand over to the account manager; ongoing support."""
    if rec.get("onboarding_completed_date"):
        return DONE
    gid = rec.get("asana_project_gid")
    open_ = [t.name for t in asana.deliverable_tasks(svc.clients.asana, gid) if not t.completed] if gid else []
    if open_:
        post(svc, rec, "slack/completion_waiting.md.j2", f"complete-waiting:{as_of.isoformat()}",
             open_deliverables=open_)
        return PENDING
    hub, manager = svc.clients.hubspot, str(rec.manager.email)
    owner = hubspot.owner_ids(hub, [manager]).get(manager)
    if owner:
        hubspot.set_owner(hub, owner, {"companies": rec.id, **({"contacts": rec.contact_id} if rec.contact_id else {})})
    if gid:
        asana.follow_tasks(svc.clients.asana, gid, manager)
    post(svc, rec, "slack/onboarding_complete.md.j2", "onboarding-complete")
    rec.update(svc, {"onboarding_status": "ongoing_support", "onboarding_completed_date": as_of.isoformat()})
    note(svc, rec, f"Onboarding complete on {as_of.isoformat()}; handed from {rec.specialist.name} to "
         f"{rec.manager.name} (ongoing support).", "onboarding-complete", as_of)
    return DONE


@flow(name="complete-onboarding", flow_run_name="complete-onboarding {client_domain} {as_of}", log_prints=True)
def complete_onboarding(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.1: completion of onboarding and the hand-over to ongoing support."""
    svc = services.current()
    return run_complete_onboarding(svc, load_record(svc, client_domain), as_of, key)
