"""Email marketing at an SOP stage (config/company.yaml ``email_marketing``): the lead or client as a
Keap contact, tagged with the stage's tag so that the company's own Keap campaign for it starts.

One call per stage from the flows (``at_stage``); nothing when the company uses no email-marketing
system. A contact Keap would not email (unsubscribed, bounced, never opted in) gets no campaign tag, and
the run's journal says so and why."""

from __future__ import annotations

from flows.journal import record
from services import Services
from sop.profile import MarketingStage
from tasks import keap as keap_tasks


def at_stage(svc: Services, stage: MarketingStage, sop: str, email: str, name: str,
             lead_source: str | None = None) -> None:
    """The contact for ``email`` tagged for ``stage`` (SOP step ``sop``), when it may be emailed."""
    keap, config = svc.clients.keap, svc.profile.email_marketing
    if keap is None or config.system == "none":
        return
    contact = keap_tasks.add_contact(keap, email, name, config.opt_in_reason)
    tag = config.tag(stage)
    if not keap.is_marketable(contact):
        record(sop, f"Keap: not tagged '{tag}'", f"{email} is {contact.email_status or 'not marketable'} in Keap: "
                                                  "no campaign email goes to them", status="skipped",
               contact=str(contact.id))
        return
    tags = [tag]
    if contact.created and lead_source and config.lead_source_tag:
        tags.append(config.lead_source_tag.format(source=lead_source))
    applied = [t for t in tags if keap_tasks.tag_contact(keap, contact.id, t)]
    record(sop, f"Keap: tagged '{tag}'", ("applied " + ", ".join(applied)) if applied else "already tagged",
           contact=str(contact.id))
