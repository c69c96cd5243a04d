"""A client leaving, recorded by staff (`onboard leaving DOMAIN --reason …`) or noticed by the sweep (the
client's deal moved to closed-lost in HubSpot): the churn date and reason on the CRM (the first-90-day
retention KPI counts from them), the meetings still ahead cancelled, and the engagement sweep stops for
the client. Recording it again changes nothing (the first date stays). A declined renewal is the third
signal (flows/engagement/retention.py): the client leaves when the term ends."""

from __future__ import annotations

from datetime import date

from prefect import flow

import services
from flows import email_marketing
from flows.engagement.channels import cancel_meetings_ahead, note
from flows.engagement.record import ClientRecord, load_record
from integrations.errors import InvalidInput
from services import Services
from sop.profile import MarketingStage
from tasks import hubspot


@flow(name="client-leaving", flow_run_name="client-leaving {client_domain}", log_prints=True)
def client_leaving(client_domain: str, reason: str, as_of: date | None = None) -> dict:
    """SOP-A 5.4 / the retention KPI: the client is leaving; ``reason`` is kept with the date."""
    svc = services.current()
    return record_leaving(svc, load_record(svc, client_domain), reason,
                          as_of or svc.now().astimezone(svc.profile.tz).date())


def record_leaving(svc: Services, rec: ClientRecord, reason: str, as_of: date) -> dict:
    """The churn date (the first one recorded stays) and reason, the meetings ahead cancelled, the sweep stopped."""
    churned = rec.day("churned_date") or as_of
    cancelled = cancel_meetings_ahead(svc, str(rec.manager.email), rec.client.email)
    # a status the sweep's search leaves out, and no next action
    rec.update(svc, {"onboarding_status": "churned", "churned_date": churned.isoformat(), "churn_reason": reason,
                     "next_action_key": "", "next_action_date": ""})
    note(svc, rec, f"<b>Client leaving</b> ({churned.isoformat()}): {reason}.", "leaving", as_of)
    email_marketing.at_stage(svc, MarketingStage.CHURNED, "A5.4", rec.client.email, rec.client.first_name)
    return {"client": rec.domain, "churned_date": churned.isoformat(), "reason": reason,
            "meetings_cancelled": cancelled}


def deal_closed_lost(svc: Services, rec: ClientRecord) -> bool:
    """Staff moved the client's onboarding deal to the pipeline's closed-lost stage in HubSpot."""
    hub = svc.clients.hubspot
    try:
        deal = hubspot.find_deal(hub, rec.domain)
    except InvalidInput:  # no deal property in the account: no client has a deal there to close
        return False
    pipeline = hub.find_pipeline(svc.rules.pipeline.label) if deal else None
    lost = next(s.label for s in svc.rules.pipeline.stages if s.key == "lost")
    return bool(pipeline) and any(s.id == deal.properties.get("dealstage") and s.label == lost for s in pipeline.stages)
