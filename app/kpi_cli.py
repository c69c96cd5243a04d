"""`onboard kpi`: the SOP-B KPIs of the configured environment (sandbox at ONBOARD_SANDBOX_URL, or live)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sop.kpi import KpiReport, fmt_value, status_word


def main(as_of: str | None, chart: Path | None) -> int:
    from flows.engagement.kpi_chart import render_chart
    from flows.engagement.kpi_report import client_outcomes, kpi_snapshot
    from services.clients import build_clients
    from services.settings import load_settings

    console = Console()
    try:
        settings = load_settings()
        clients = build_clients(settings)
    except Exception as exc:  # noqa: BLE001 - a configuration problem: say what, exit 2
        console.print(f"[red]{exc}[/red]", highlight=False)
        return 2
    try:
        day = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        console.print(f"[red]--as-of {as_of!r} is not a date (YYYY-MM-DD)[/red]", highlight=False)
        return 2
    outcomes = client_outcomes(clients.hubspot)
    report, stages, trend = kpi_snapshot(outcomes, settings.engagement_rules.kpi_targets(), day)
    console.print(format_terminal(report, stages))
    if chart is not None:
        path = render_chart(report, stages, trend, chart)
        console.print(f"chart: {path}", highlight=False)
    return 0



def format_terminal(report: KpiReport, funnel: Sequence[tuple[str, int]]) -> Table:
    """A rich table for ``onboard kpi``: the KPIs against their targets, then the funnel."""
    t, c, r = report.onboarding_time, report.csat, report.retention_90d
    style = {True: "green", False: "red", None: "dim"}

    kpis = Table(title="KPIs", title_justify="left")
    for col, justify in (("KPI", "left"), ("Value", "right"), ("Target", "right"), ("Status", "left"), ("n", "right")):
        kpis.add_column(col, justify=justify)
    median = "" if t.median_days is None else f" (median {t.median_days:.1f})"
    kpis.add_row(
        "Onboarding completion time", fmt_value(t.mean_days, "days") + median, f"<= {t.target_days} days",
        f"[{style[t.met]}]{status_word(t.met)}[/]", f"{t.n} clients",
    )
    kpis.add_row(
        f"Onboarding CSAT (scores >= {report.satisfied_score})", fmt_value(c.percent, "%"), f">= {c.target_percent:g}%",
        f"[{style[c.met]}]{status_word(c.met)}[/]", f"{c.n} responses",
    )
    kpis.add_row(
        "First-90-day retention", fmt_value(r.percent, "%"), f">= {r.target_percent:g}%",
        f"[{style[r.met]}]{status_word(r.met)}[/]", f"{r.n} clients",
    )

    stages = Table(title="Onboarding funnel", title_justify="left")
    stages.add_column("Stage")
    stages.add_column("Clients", justify="right")
    stages.add_column("% of leads", justify="right")
    leads = funnel[0][1] if funnel else 0
    for name, count in funnel:
        stages.add_row(name, str(count), f"{100 * count / leads:.0f}%" if leads else "n/a")

    outer = Table.grid(padding=(1, 0))
    outer.title = f"Client onboarding KPIs as of {report.as_of:%Y-%m-%d}"
    outer.add_column()
    outer.add_row(kpis)
    outer.add_row(stages)
    return outer
