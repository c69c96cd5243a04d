"""`onboard kpi`: the SOP-B KPIs of the configured environment (sandbox at ONBOARD_SANDBOX_URL, or live)."""

from __future__ import annotations

from datetime import date
from pathlib import Path


def main(as_of: str | None, chart: Path | None) -> int:
    from rich.console import Console

    from flows.kpi import client_outcomes, kpi_snapshot, targets_from
    from integrations.clients import build_clients

    from .kpi import format_terminal, render_chart
    from .settings import load_settings

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
    from tasks.engagement import companies_with

    outcomes = client_outcomes(clients.hubspot, fetch=companies_with.fn)
    report, stages, trend = kpi_snapshot(outcomes, targets_from(settings.engagement), day)
    console.print(format_terminal(report, stages))
    if chart is not None:
        path = render_chart(report, stages, trend, chart)
        console.print(f"chart: {path}", highlight=False)
    return 0
