"""The KPI report flow: outcomes read back from HubSpot companies, a table artifact and a PNG chart."""

from datetime import date

from PIL import Image

from flows.engagement.kpi_report import kpi_report, outcome_of
from integrations.hubspot import Record


def test_outcome_of_reads_the_recorded_milestones():
    company = Record(id="1", object_type="companies", properties={
        "createdate": "2026-01-05T10:00:00Z", "client_id": "ACME-0001", "qualification": "qualified: fine",
        "kickoff_date": "2026-01-20", "service_start_date": "2026-01-21", "onboarding_completed_date": "2026-03-18",
        "csat_scores": "5;3", "onboarding_csat": "4", "onboarding_status": "ongoing_support"})
    o = outcome_of(company)
    assert (o.client_id, o.lead_captured_at, o.qualified) == ("ACME-0001", date(2026, 1, 5), True)
    assert (o.service_start, o.onboarding_completed_at) == (date(2026, 1, 21), date(2026, 3, 18))
    assert (o.csat_scores, o.project_csat_scores) == ([4], [5, 3])  # the onboarding survey's; the halfway's apart
    assert not o.declined and o.churned_at is None
    assert outcome_of(Record(id="2", object_type="companies", properties={})) is None


def test_kpi_report_publishes_table_and_chart(eng_sandbox, tmp_path):
    chart = tmp_path / "kpi.png"
    out = kpi_report(as_of=date.today(), chart_path=str(chart))
    assert [r["kpi"] for r in out["kpis"]] and len(out["kpis"]) == 4
    leads = dict(out["funnel"])
    assert leads and list(leads.values()) == sorted(leads.values(), reverse=True)  # a funnel narrows
    with Image.open(chart) as img:
        assert img.format == "PNG" and img.size[0] > 600


def test_sweep_and_report_work_on_an_account_with_no_clients_yet(tmp_path, monkeypatch):
    """A fresh HubSpot account has none of the custom properties the search filters on."""
    from app.sandbox import sandbox_server
    from flows.engagement.sweep import engagement_sweep

    with sandbox_server(rate_limits="off") as empty:
        monkeypatch.setenv("ONBOARD_SANDBOX_URL", empty.root)
        assert engagement_sweep(as_of=date.today())["actions"] == 0
        assert kpi_report(as_of=date.today(), chart_path=str(tmp_path / "k.png"))["kpis"][0]["n"] == 0
