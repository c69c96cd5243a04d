"""A client leaving, recorded by staff (`onboard leaving DOMAIN --reason …`): the churn date and reason on
the CRM (the first-90-day retention KPI counts from them), the meetings still ahead cancelled, and the
engagement sweep stops for the client. Recording it again changes nothing (the first date stays)."""

from __future__ import annotations

from datetime import date

from prefect import flow

import services
from flows import email_marketing
from flows.engagement.channels import cancel_meetings_ahead, note
from flows.engagement.record import load_record
from sop.profile import MarketingStage


@flow(name="client-leaving", flow_run_name="client-leaving {client_domain}", log_prints=True)
def client_leaving(client_domain: str, reason: str, as_of: date | None = None) -> dict:
    """SOP-A 5.4 / the retention KPI: the client is leaving; ``reason`` is kept with the date."""
    svc = services.current()
    rec = load_record(svc, client_domain)
    as_of = as_of or svc.now().astimezone(svc.profile.tz).date()
    churned = rec.day("churned_date") or as_of
    cancelled = cancel_meetings_ahead(svc, str(rec.manager.email), rec.client.email)
    # a status the sweep's search leaves out, and no next action
    rec.update(svc, {"onboarding_status": "churned", "churned_date": churned.isoformat(), "churn_reason": reason,
                     "next_action_key": "", "next_action_date": ""})
    note(svc, rec, f"<b>Client leaving</b> ({churned.isoformat()}): {reason}.", "leaving", as_of)
    email_marketing.at_stage(svc, MarketingStage.CHURNED, "A5.4", rec.client.email, rec.client.first_name)
    return {"client": client_domain, "churned_date": churned.isoformat(), "reason": reason,
            "meetings_cancelled": cancelled}
