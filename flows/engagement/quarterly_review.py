"""SOP-B 4.3: the quarterly business review: a meeting and its outline (progress, concerns, opportunities).

Runs alone for one client: ``quarterly_review(client_domain, as_of, key=None)``. ``as_of`` is the local date
the action is for (the injected clock: nothing here asks the system for the date); ``key`` is the
timeline key being run, defaulting to the one ``as_of`` implies.
"""

from __future__ import annotations

from datetime import date

from prefect import flow

import services
from flows.engagement.channels import hold_meeting, local_at, progress, send
from flows.engagement.record import DONE, ClientRecord, load_record
from services import Services
from sop.scheduling import next_working_day
from tasks import storage


def run_quarterly_review(svc: Services, rec: ClientRecord, as_of: date, key: str | None = None) -> str:
    """SOP-B 4.3: a review meeting (next working day) and its outline: progress, concerns, opportunities."""
    key = key or f"quarterly_review:{as_of.isoformat()}"
    quarter = key.split(":", 1)[1]
    p = progress(svc, rec, as_of)
    when_dt = local_at(svc, next_working_day(as_of, svc.profile.working_hours), svc.engagement_rules.check_ins.local_time)
    concerns = [f"Overdue: {t}" for t in p.overdue]
    if rec.get("feedback_areas_to_improve"):
        concerns.append(f"Client feedback: {rec.get('feedback_areas_to_improve')}")
    scores = rec.csat_scores()
    if scores and not svc.engagement_rules.is_satisfied(scores[-1]):
        concerns.append(f"Satisfaction {scores[-1]}/5 is below {svc.engagement_rules.csat.satisfied_at}")
    requested = set((rec.get("requested_services") or "").split(";"))
    opportunities = sorted({s.value.replace("_", " ") for pkg in svc.rules.service_packages for s in pkg.services
                            if s.value not in requested})
    done = rec.done_keys()
    outline = svc.renderer.render("docs/qbr_outline.html.j2", client=rec.client, quarter=quarter,
                                 when=when_dt.strftime("%A %d %B %Y, %H:%M %Z"), account_manager=rec.manager,
                                 progress=p, concerns=concerns, opportunities=opportunities,
                                 meetings=sum(k.startswith("check_in:") for k in done),
                                 reports=sum(k.startswith("monthly_report:") for k in done))
    file = storage.store_document(svc.clients.documents, rec.get("drive_folder_id"),
                                    f"Quarterly business review {quarter} — {rec.client.company_name}", outline.body,
                                    rec.domain, f"qbr-{quarter}")
    topic = f"Quarterly business review {quarter} — {rec.client.company_name}"
    join_url, when = hold_meeting(svc, rec, key, topic, when_dt, 60,
                                  f"Outline: {file.web_view_link}")
    send(svc, rec, "email/quarterly_review.html.j2", f"qbr-{quarter}", quarter=quarter, when=when, join_url=join_url,
         outline_url=file.web_view_link)
    return DONE


@flow(name="quarterly-review", flow_run_name="quarterly-review {client_domain} {as_of}", log_prints=True)
def quarterly_review(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-B 4.3: the quarterly business review."""
    svc = services.current()
    return run_quarterly_review(svc, load_record(svc, client_domain), as_of, key)
