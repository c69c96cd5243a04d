"""SOP-B 4.1: the monthly report: a Doc in Drive from the project's progress and the meetings held.

Runs alone for one client: ``monthly_report(client_domain, as_of, key=None)``. ``as_of`` is the local date
the action is for (the injected clock: nothing here asks the system for the date); ``key`` is the
timeline key being run, defaulting to the one ``as_of`` implies.
"""

from __future__ import annotations

from datetime import date, timedelta

from prefect import flow

import services
from flows.engagement.channels import post, progress, send
from flows.engagement.record import DONE, ClientRecord, load_record
from services import Services
from sop.timeline import ActionKind
from tasks import storage


def meetings_held(rec: ClientRecord, since: date, until: date) -> list[str]:
    """Check-ins done in (since, until], from the engagement's record of done actions."""
    held = []
    for k in sorted(rec.done_keys()):
        kind, _, slot = k.partition(":")
        if kind in (ActionKind.CHECK_IN, ActionKind.POST_PROJECT_CHECK_IN):
            try:
                day = date.fromisoformat(slot)
            except ValueError:
                continue
            if since < day <= until:
                held.append(f"{'Check-in' if kind == ActionKind.CHECK_IN else 'Periodic check-in'} {day.isoformat()}")
    return held


def run_monthly_report(svc: Services, rec: ClientRecord, as_of: date, key: str | None = None) -> str:
    """SOP-B 4.1: a report Doc in Drive from Asana progress and the meetings held; emailed and posted."""
    key = key or f"monthly_report:{as_of:%Y-%m}"
    period = key.split(":", 1)[1]
    p = progress(svc, rec, as_of)
    held = meetings_held(rec, as_of - timedelta(days=31), as_of)
    doc = svc.renderer.render("docs/monthly_report.html.j2", client=rec.client, period=period, progress=p,
                             meetings=held, account_manager=rec.manager, date=as_of.isoformat())
    folder = rec.get("drive_folder_id")
    file = storage.store_document(svc.clients.documents, folder, f"Monthly report {period} — {rec.client.company_name}",
                                    doc.body, rec.domain, f"monthly-report-{period}")
    send(svc, rec, "email/monthly_report.html.j2", f"monthly-report-{period}", period=period, progress=p,
         meetings=held, report_url=file.web_view_link)
    post(svc, rec, "slack/monthly_report.md.j2", key, period=period, progress=p, meetings=held,
         report_url=file.web_view_link)
    return DONE


@flow(name="monthly-report", flow_run_name="monthly-report {client_domain} {as_of}", log_prints=True)
def monthly_report(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-B 4.1: the monthly report."""
    svc = services.current()
    return run_monthly_report(svc, load_record(svc, client_domain), as_of, key)
