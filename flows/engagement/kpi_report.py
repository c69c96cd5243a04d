"""SOP-B KPIs from the CRM: onboarding completion time, onboarding CSAT (the survey after the kick-off),
first-90-day retention, and the project's CSAT (the halfway survey) apart."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

import services
from flows.engagement.health import health_rows
from flows.engagement.kpi_chart import render_chart
from integrations.errors import InvalidInput
from integrations.hubspot import HubSpotCRM, Record
from sop.health import health_markdown
from sop.kpi import ClientOutcome, KpiReport, KpiTargets, compute_kpis, funnel, kpi_table, weekly_trend
from tasks import hubspot


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date() if "T" in value else date.fromisoformat(value[:10])
    except ValueError:
        return None


def outcome_of(company: Record) -> ClientOutcome | None:
    """One client's recorded milestones (None for a company with no create date)."""
    p = company.properties
    lead = _day(p.get("createdate"))
    if lead is None:
        return None
    status = p.get("onboarding_status") or ""
    qualification = (p.get("qualification") or "").split(":", 1)[0].strip()
    project_scores = [int(s) for s in (p.get("csat_scores") or "").split(";") if s.strip().isdigit() and 1 <= int(s) <= 5]
    onboarding_score = int(float(p.get("onboarding_csat") or 0))

    def after_lead(d: date | None) -> date | None:
        return max(d, lead) if d else None

    return ClientOutcome(
        client_id=p.get("client_id") or p.get("domain") or company.id,
        lead_captured_at=lead,
        qualified=True if qualification == "qualified" else False if qualification == "not_qualified" else None,
        won_at=after_lead(_day(p.get("won_date"))),
        kickoff_at=after_lead(_day(p.get("kickoff_date"))),
        service_start=after_lead(_day(p.get("service_start_date"))),
        onboarding_completed_at=after_lead(_day(p.get("onboarding_completed_date"))),
        csat_scores=[onboarding_score] if 1 <= onboarding_score <= 5 else [],
        project_csat_scores=project_scores,
        churned_at=after_lead(_day(p.get("churned_date"))),
        declined=status == "declined",
    )


def client_outcomes(hub: HubSpotCRM, domains: set[str] | None = None) -> list[ClientOutcome]:
    """Every onboarding lead's outcome: companies with a specialist assigned (every captured lead gets one);
    ``domains`` limits it to some clients."""
    try:
        companies = hubspot.companies_with(hub, "specialist_email")
    except InvalidInput:  # the onboarding properties do not exist yet: no client was ever onboarded
        return []
    return [o for c in companies if (domains is None or c.properties.get("domain") in domains)
            and (o := outcome_of(c))]


def kpi_snapshot(outcomes: list[ClientOutcome], targets: KpiTargets, as_of: date, weeks: int = 12):
    report = compute_kpis(outcomes, targets, as_of)
    start = as_of - timedelta(weeks=weeks) + timedelta(days=1)
    return report, funnel(outcomes, as_of), weekly_trend(outcomes, targets, start, weeks)


@flow(name="kpi-report", flow_run_name="kpi-report {as_of}", log_prints=True)
def kpi_report(as_of: date | None = None, chart_path: str | None = None) -> dict:
    """SOP-B KPIs as of ``as_of``: a table artifact, a PNG chart (funnel + weekly trend) and a markdown artifact;
    and the clients' health (SOP-B 4.2, as the weekly health checks left it) as the ``client-health`` artifact."""
    svc = services.current()
    as_of = as_of or svc.now().astimezone(svc.profile.tz).date()
    targets = svc.engagement_rules.kpi_targets()
    outcomes = client_outcomes(svc.clients.hubspot)
    report, stages, trend = kpi_snapshot(outcomes, targets, as_of)
    rows = kpi_table(report)
    create_table_artifact(rows, key="kpi-table", description=f"SOP-B KPIs as of {as_of}")
    path = render_chart(report, stages, trend, Path(chart_path or f"kpi-{as_of.isoformat()}.png"))
    lines = [f"# Client onboarding KPIs as of {as_of}", "", "| KPI | value | target | met | n |", "|---|---|---|---|---|"]
    lines += [f"| {r['kpi']} | {r['value']} | {r['target']} | {r['met']} | {r['n']} |" for r in rows]
    lines += ["", "| stage | clients |", "|---|---|"] + [f"| {s} | {n} |" for s, n in stages]
    lines += ["", f"Chart: `{path.resolve()}`", "", f"![KPI chart]({path.resolve().as_uri()})"]
    create_markdown_artifact("\n".join(lines), key="kpi-report", description=f"KPIs and funnel as of {as_of}")
    health = health_rows(svc.clients.hubspot, as_of)
    create_markdown_artifact(health_markdown(health, as_of), key="client-health",
                             description=f"Client health (SOP-B 4.2) as of {as_of}")
    get_run_logger().info("KPIs as of %s: %s", as_of, rows)
    return {"as_of": as_of.isoformat(), "kpis": rows, "funnel": stages, "chart": str(path),
            "health": [asdict(r) for r in health]}


__all__ = ["KpiReport", "client_outcomes", "kpi_report", "kpi_snapshot", "outcome_of"]
