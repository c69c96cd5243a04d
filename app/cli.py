"""The `onboard` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

# Commands import what they need when they run: `onboard --help` does not pay for importing Prefect (~4 s).
app = typer.Typer(help="Client onboarding and engagement, as Prefect flows.", no_args_is_help=True)
console = Console()


@app.callback()
def main() -> None:
    """Client onboarding and engagement, as Prefect flows (offline sandbox by default)."""


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="port to serve on")] = 8765,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    state: Annotated[Path | None, typer.Option(help="SQLite file for state (in memory if unset)")] = None,
    rate_limits: Annotated[str, typer.Option(help="'vendor' (documented limits) or 'off'")] = "vendor",
    time_scale: Annotated[float, typer.Option(help="multiplies every rate-limit window")] = 1.0,
    seed: Annotated[int, typer.Option(help="seed for fault injection")] = 0,
    account: Annotated[str, typer.Option(help="'ready' (an administrator's steps done) or 'fresh' (a newly "
                                              "bought account: check it with `onboard doctor`)")] = "ready",
    without_scope: Annotated[list[str] | None, typer.Option(
        help="VENDOR:SCOPE the vendor's app was not granted, e.g. slack:users:read.email (repeatable)")] = None,
) -> None:
    """Serve the offline sandbox of all vendors in the foreground; prints each SDK's base URL."""
    import uvicorn

    from app.sandbox import create_app, sandbox_config
    from integrations.sandbox_urls import sdk_urls

    withheld: dict[str, list[str]] = {}
    for item in without_scope or []:
        vendor, sep, scope = item.partition(":")
        if not sep or not scope or vendor not in ("hubspot", "asana", "google", "slack", "zoom"):
            raise typer.BadParameter(f"{item!r}: write VENDOR:SCOPE with VENDOR one of hubspot, asana, google, "
                                     "slack, zoom, e.g. slack:users:read.email")
        withheld.setdefault(vendor, []).append(scope)
    config = sandbox_config(state, rate_limits=rate_limits, time_scale=time_scale, seed=seed, account=account,
                            withheld_scopes=withheld)
    root = f"http://{host}:{port}"
    for name, url in sdk_urls(root).items():
        print(f"{name} {url}", flush=True)
    console.print(f"[dim]state: {root}/_sandbox/state   page: {root}/   Ctrl-C stops[/dim]", highlight=False)
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning")


@app.command()
def demo(
    state: Annotated[Path | None, typer.Option(help="keep the sandbox state in this SQLite file")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    client: Annotated[Path | None, typer.Option(help="the client YAML (default: examples/client.yaml)")] = None,
    sandbox: Annotated[str | None, typer.Option(help="a sandbox already running (e.g. a fresh account made ready "
                                                     "with `onboard setup`) instead of a new one")] = None,
    esign: Annotated[str | None, typer.Option(help="how the contract is signed: dropbox_sign (the client and the "
                                                   "manager sign in the sandbox's Dropbox Sign) or "
                                                   "staff_confirmation; default: config/onboarding.yaml's")] = None,
    storage: Annotated[str | None, typer.Option(help="where the client's documents live: google_drive or dropbox "
                                                     "(PDFs with view-only links in the sandbox's Dropbox); "
                                                     "default: config/company.yaml's")] = None,
) -> None:
    """The main job: onboard a sample client end to end on the offline sandbox."""
    from app.demo import SAMPLE_CLIENT, run_demo

    if sandbox and state:
        raise typer.BadParameter("--state is the state of the demo's own sandbox; --sandbox has its own")
    if esign not in (None, "dropbox_sign", "staff_confirmation"):
        raise typer.BadParameter(f"--esign {esign!r}: dropbox_sign or staff_confirmation")
    if storage not in (None, "google_drive", "dropbox"):
        raise typer.BadParameter(f"--storage {storage!r}: google_drive or dropbox")
    raise typer.Exit(run_demo(state, json_out, client or SAMPLE_CLIENT, sandbox, esign=esign, storage=storage))


@app.command("new-client")
def new_client(
    file: Annotated[Path, typer.Argument(help="YAML with the client's details (see examples/client.yaml)")],
    deployment: Annotated[str | None, typer.Option(help="start it on this deployment (e.g. onboard-client/new-client) "
                                                        "instead of in this process")] = None,
) -> None:
    """Start a new-client run from a file; the details are validated before anything is created."""
    from pydantic import ValidationError

    from app.demo import load_client

    try:
        client = load_client(file)
    except (OSError, ValidationError) as exc:
        console.print(f"[red]{file}: not a valid new client[/red]\n{exc}", highlight=False)
        raise typer.Exit(2) from None
    if deployment:
        from prefect.deployments import run_deployment

        run = run_deployment(deployment, parameters={"client": client.model_dump(mode="json")}, timeout=0,
                             flow_run_name=f"onboard {client.company_name}")  # named after the client at once
        console.print(f"started flow run {run.id} ({run.name}) on {deployment}")
        return
    from services.settings import load_settings

    settings = load_settings()
    if settings.mode == "sandbox" and settings.sandbox_url is None:
        console.print("[red]sandbox mode needs a running sandbox: start `onboard sandbox` and set "
                      "ONBOARD_SANDBOX_URL (or use `onboard demo`, or --deployment)[/red]")
        raise typer.Exit(2)
    from flows.onboarding.new_client import onboard_client

    result = onboard_client(client)
    console.print(result.model_dump_json(indent=2, exclude={"lead", "agreement"}))
    raise typer.Exit(0 if result.outcome.value == "onboarded" else 1)


@app.command()
def cancel(
    domain: Annotated[str, typer.Argument(help="the client's website domain, e.g. acme.example")],
    reason: Annotated[str, typer.Option(help="noted on the client's HubSpot company")] = "cancelled by staff",
) -> None:
    """Cancel a client's onboarding: archive its meetings still ahead, Drive folder, Slack channel and
    Asana project, close the deal lost. (A run served by a worker does this itself when cancelled.)"""
    from flows.onboarding.cancel import cancel_onboarding

    for line in cancel_onboarding(domain, reason) or ["nothing to archive: no company with this domain"]:
        console.print(line)


@app.command()
def leaving(
    domain: Annotated[str, typer.Argument(help="the client's website domain, e.g. acme.example")],
    reason: Annotated[str, typer.Option(help="why the client is leaving (kept on the CRM with the date)")],
) -> None:
    """A client is leaving: record the date and reason (the retention KPI counts from them), cancel the
    meetings still ahead, and stop the engagement's follow-ups."""
    from flows.engagement.leaving import client_leaving

    try:
        done = client_leaving(domain, reason)
    except LookupError as exc:  # a mistyped domain, or a company without a contact: said in one line
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"{domain}: churned on {done['churned_date']} ({reason}); "
                  f"{done['meetings_cancelled']} meeting(s) ahead cancelled")


@app.command()
def client(
    email: Annotated[str, typer.Argument(help="the client contact's email, as in the new-client form")],
    company: Annotated[str, typer.Option(help="only forms whose title names this company")] = "",
) -> None:
    """Do what the client does, on the sandbox (ONBOARD_SANDBOX_URL): fill in its forms (the sample
    answers of the demo) and accept its invites. The waits sweep then sees the answers."""
    import os

    import httpx

    from app.people import INTAKE_ANSWERS, ClientActor

    root = os.environ.get("ONBOARD_SANDBOX_URL", "http://127.0.0.1:8765").rstrip("/")
    actor = ClientActor(root, email, INTAKE_ANSWERS, company=company)
    with httpx.Client(base_url=root, timeout=30) as http:
        done = actor.act_once(http)
    print("\n".join(done) if done else f"nothing waits on {email} in the sandbox at {root}")


@app.command()
def status(
    domain: Annotated[str | None, typer.Argument(help="one client's website domain (default: every client)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the rows as JSON")] = False,
) -> None:
    """Every onboarding in progress: its phase and step, who it waits on, since when, and the link to answer."""
    import json

    from app.status import client_status, format_rows

    rows = client_status(domain)
    print(json.dumps(rows, indent=2) if json_out else format_rows(rows))


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="port of the local Prefect server/UI (when none is configured)")] = 4200,
    host: Annotated[str, typer.Option(help="address the local Prefect server/UI binds; beyond this machine "
                                           "only with PREFECT_SERVER_API_AUTH_STRING set")] = "127.0.0.1",
    sandbox_port: Annotated[int, typer.Option(help="port of the sandbox")] = 8765,
    state: Annotated[Path | None, typer.Option(help="keep the sandbox's records in this SQLite file "
                                                    "(across restarts; in memory if unset)")] = None,
) -> None:
    """A local Prefect server (if none is configured), the sandbox, and every deployment served.
    Runs waiting on people are suspended: stopping and starting it again loses none of them."""
    from app.serve import serve as run

    run(port=port, host=host, sandbox_port=sandbox_port, state=state)


@app.command()
def doctor(
    json_out: Annotated[bool, typer.Option("--json", help="print the checks as JSON")] = False,
) -> None:
    """Check, read-only, that the accounts a run uses are ready (sandbox: ONBOARD_SANDBOX_URL; live:
    ONBOARD_MODE=live): one line per check, the fix for each that fails; exit 0 only when all pass."""
    from app.doctor import main as run

    raise typer.Exit(run(as_json=json_out))


@app.command()
def setup(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would be created, create nothing")] = False,
) -> None:
    """Create what the APIs allow (HubSpot properties and pipeline, the Asana team), then list what is
    left for an administrator. Running it again creates nothing."""
    from app.setup import main as run

    raise typer.Exit(run(dry_run=dry_run))


@app.command()
def simulate(
    clients: Annotated[int, typer.Option(help="how many sample clients to onboard")] = 20,
    days: Annotated[int, typer.Option(help="days to step the clock through the daily sweep")] = 90,
    seed: Annotated[int, typer.Option(help="seed for the simulated clients' behaviour")] = 7,
    json_out: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
) -> None:
    """Onboard N sample clients, then 90 days of follow-ups, and print the KPIs."""
    from app.simulate import main as run

    raise typer.Exit(run(clients=clients, days=days, seed=seed, as_json=json_out))


@app.command()
def kpi(
    as_of: Annotated[str | None, typer.Option(help="date (YYYY-MM-DD) to compute the KPIs at; default today")] = None,
    chart: Annotated[Path | None, typer.Option(help="also write the PNG chart here")] = None,
) -> None:
    """Print the KPIs (onboarding time, CSAT, 90-day retention) against their targets."""
    from app.kpi_cli import main as run

    raise typer.Exit(run(as_of=as_of, chart=chart))


@app.command()
def health(
    as_of: Annotated[str | None, typer.Option(help="date (YYYY-MM-DD): each client as its last check on or before "
                                                   "it left it; default the latest check")] = None,
) -> None:
    """Every client's health (SOP-B 4.2): status, overdue deliverables, check-ins missed, survey scores,
    reasons and the last check, as the weekly health checks recorded them on HubSpot; red first."""
    from app.health_cli import main as run

    raise typer.Exit(run(as_of=as_of))


if __name__ == "__main__":
    app()
