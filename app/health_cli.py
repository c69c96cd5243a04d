"""`onboard health`: every client's health (SOP-B 4.2) as the weekly health checks left it on HubSpot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from rich.console import Console
from rich.table import Table

from sop.health import HealthRow

STYLE = {"red": "bold red", "amber": "dark_orange", "green": "green"}


def main(as_of: str | None) -> int:
    from flows.engagement.health import health_rows
    from services.clients import build_clients
    from services.settings import load_settings

    console = Console()
    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        console.print(f"[red]--as-of {as_of!r} is not a date (YYYY-MM-DD)[/red]", highlight=False)
        return 2
    try:
        clients = build_clients(load_settings())
    except Exception as exc:  # noqa: BLE001 - a configuration problem: say what, exit 2
        console.print(f"[red]{exc}[/red]", highlight=False)
        return 2
    console.print(format_terminal(health_rows(clients.hubspot, day), day))
    return 0


def format_terminal(rows: Sequence[HealthRow], as_of: date | None) -> Table:
    """A rich table: one row per client, red first."""
    table = Table(title=f"Client health (SOP-B 4.2){f' as of {as_of}' if as_of else ''}", title_justify="left")
    for col, justify in (("Client", "left"), ("Status", "left"), ("Overdue", "right"), ("Missed", "right"),
                         ("Survey scores", "left"), ("Reasons", "left"), ("Last checked", "left"),
                         ("History", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for r in rows:
        style = STYLE.get(r.status, "dim")
        table.add_row(r.company, f"[{style}]{r.status}[/]", r.overdue or "—", r.missed or "—", r.scores,
                      r.reasons or "—", r.checked or "—", r.history or "—")
    if not rows:
        table.caption = "no client past kick-off"
    return table
