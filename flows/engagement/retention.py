"""SOP-A 5.4: the retention offers (loyalty, long-term discount, value-added for an at-risk CSAT)
and the first-90-day retention check (an SOP-B KPI).

Runs alone for one client: ``retention(client_domain, as_of, key=None)``. ``as_of`` is the local date
the action is for (the injected clock: nothing here asks the system for the date); ``key`` is the
timeline key being run, defaulting to the one ``as_of`` implies.
"""

from __future__ import annotations

from datetime import date, timedelta

from prefect import flow

import services
from flows.engagement.channels import note, send
from flows.engagement.record import DONE, SKIPPED, ClientRecord, load_record, timeline_for
from services import Services
from sop.timeline import ActionKind


def run_retention(svc: Services, rec: ClientRecord, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.4 offers (loyalty, long-term discount, value-added for at-risk CSAT) and the 90-day check.

    Without ``key``: every retention action of the client's timeline due by ``as_of`` and not done,
    plus the value-added offer when the latest CSAT is below ``csat.at_risk_below``."""
    if key is None:
        done = rec.done_keys()
        keys = [a.key for a in timeline_for(svc, rec) if a.kind in (ActionKind.RETENTION_OFFER, ActionKind.RETENTION_CHECK)
                and a.due <= as_of and a.key not in done]
        scores = rec.csat_scores()
        if scores and svc.engagement_rules.is_at_risk(scores[-1]):
            keys.append("retention_offer:value_added")
        for k in keys:
            run_retention(svc, rec, as_of, k)
        return DONE
    kind, _, slot = key.partition(":")
    churned = rec.day("churned_date")
    if kind == ActionKind.RETENTION_CHECK:
        start = rec.day("service_start_date") or as_of
        day_90 = start + timedelta(days=svc.engagement_rules.retention.check_after_days)
        status = "churned" if churned and churned < day_90 else "retained"
        rec.update(svc, {"retention_90d_status": status})
        note(svc, rec, f"First-{slot} retention check: {status}.", key.replace(":", "-"), as_of)
        return DONE
    if churned or rec.get("onboarding_status") == "churned":
        return SKIPPED
    mail = send(svc, rec, svc.engagement_rules.retention.offers[slot], f"retention-{slot}")
    note(svc, rec, f"<b>Retention offer sent</b> ({slot}): {mail.subject}.", f"retention-{slot}", as_of)
    return DONE


@flow(name="retention", flow_run_name="retention {client_domain} {as_of}", log_prints=True)
def retention(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.4 / B KPI: retention offers by the rules in config/engagement.yaml, and the 90-day check."""
    svc = services.current()
    return run_retention(svc, load_record(svc, client_domain), as_of, key)
