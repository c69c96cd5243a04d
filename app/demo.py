"""`onboard demo`: a full new-client run on the offline sandbox, with simulated staff and client."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from services.settings import REPO
from sop.client import NewClient

SAMPLE_CLIENT = REPO / "examples" / "client.yaml"

def load_client(path: str | Path) -> NewClient:
    """A NewClient from YAML, validated (field-specific errors)."""
    return NewClient.model_validate(yaml.safe_load(Path(path).read_text()))


def prefect_env(home: Path) -> None:
    """A private Prefect home with an ephemeral server, unless the user points at a server."""
    os.environ.setdefault("PREFECT_HOME", str(home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if "PREFECT_API_URL" not in os.environ:
        # a server we start ourselves has no CSRF protection: every new API client (a subflow, a pause,
        # a resume) would otherwise first ask it for a token it does not need
        os.environ.setdefault("PREFECT_CLIENT_CSRF_SUPPORT_ENABLED", "false")


def start_prefect() -> None:
    """Start (or reach) the Prefect API once, before any thread races to start an ephemeral one."""
    from prefect.client.orchestration import get_client

    from prefect_plumbing.tls import share_tls_context

    share_tls_context()  # before the first API client: every client of this process shares one TLS context
    with get_client(sync_client=True) as client:
        client.api_healthcheck()


def run_demo(state: Path | None, as_json: bool, client_file: Path = SAMPLE_CLIENT) -> int:
    client = load_client(client_file)
    home = Path(tempfile.mkdtemp(prefix="onboard-demo-"))
    prefect_env(home)
    os.environ.setdefault("ONBOARD_WAIT_HOUR_SECONDS", "5")  # a one-day wait lasts 2 minutes in the demo
    os.environ.setdefault("ONBOARD_POLL_SECONDS", "0.5")

    from app.people import INTAKE_ANSWERS, ClientActor, Staff, staff_policy
    from app.sandbox import sandbox_server
    from services.settings import Settings

    say = (lambda m: None) if as_json else print
    settings = Settings()
    package = settings.rules.suggest_package(client).key
    started = time.perf_counter()
    with sandbox_server(state) as sandbox:
        os.environ["ONBOARD_SANDBOX_URL"] = sandbox.root
        say(f"sandbox at {sandbox.root} (state: {state or 'in memory'}); starting Prefect …")
        from prefect.settings import (
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
            temporary_settings,
        )

        from flows.onboarding.new_client import onboard_client

        start_prefect()
        staff = Staff(staff_policy(client, package), say=say).start()
        actor = ClientActor(sandbox.root, str(client.email), INTAKE_ANSWERS, say=say,
                            company=client.company_name).start()
        try:
            with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                result = onboard_client(client)
        finally:
            staff.stop()
            actor.stop()
        summary = summarize(sandbox.state(), result.model_dump(mode="json"))
    summary["seconds_total"] = round(time.perf_counter() - started, 1)
    summary["staff_answers"] = [{"form": k, "answer": a} for k, a in staff.answered]
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print_summary(summary)
    return 0 if result.outcome.value == "onboarded" else 1


def summarize(state: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Per vendor, what exists for the run's client; every email sent; time per phase."""
    hub, google = state["hubspot"], state["google"]
    resources = {
        "hubspot": {kind: [{"id": o["id"], "name": o["properties"].get("name") or o["properties"].get("dealname")
                            or o["properties"].get("email") or (o["properties"].get("hs_note_body") or "")[:60]}
                           for o in objs if not o.get("archived")]
                    for kind, objs in hub.items() if kind.startswith("object:")},
        "asana": {"projects": [{"gid": p["gid"], "name": p["name"]} for p in state["asana"].get("project", [])],
                  "tasks": len(state["asana"].get("task", []))},
        "drive": [{"id": f["id"], "name": f["name"], "link": f.get("webViewLink")}
                  for f in google.get("file", []) if not f.get("trashed")],
        "forms": [{"id": f["formId"], "title": f["info"]["title"]} for f in google.get("form", [])],
        "calendar": [{"id": e["id"], "summary": e["summary"], "start": e["start"].get("dateTime")}
                     for e in google.get("event", []) if e.get("status") != "cancelled"],
        "slack": [{"id": c["id"], "name": c["name"]} for c in state["slack"].get("channel", [])
                  if c["name"] != "general"],
        "zoom": [{"id": m["id"], "topic": m["topic"], "join_url": m["join_url"]} for m in state["zoom"].get("meeting", [])],
    }
    emails = [{"to": m.get("_to") or _header(m, "To"), "subject": _header(m, "Subject")} for m in google.get("message", [])]
    return {"outcome": result["outcome"], "client_id": (result.get("setup") or {}).get("client_id"),
            "seconds_per_phase": result["seconds_per_phase"], "resources": resources, "emails": emails}


def _header(message: dict[str, Any], name: str) -> str:
    import base64
    from email import message_from_bytes, policy

    raw = message.get("_raw")
    if not raw:
        return ""
    msg = message_from_bytes(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), policy=policy.default)
    return " ".join(str(msg.get(name, "")).split())


def print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"\n[bold]Outcome:[/bold] {summary['outcome']}   client id: {summary['client_id']}   "
                  f"total {summary['seconds_total']} s   per phase: {summary['seconds_per_phase']}")
    table = Table("vendor", "resource", "id / link")
    res = summary["resources"]
    for kind, objs in res["hubspot"].items():
        for o in objs:
            table.add_row("hubspot", f"{kind.removeprefix('object:')}: {o['name']}", o["id"])
    for p in res["asana"]["projects"]:
        table.add_row("asana", f"project: {p['name']} ({res['asana']['tasks']} tasks)", p["gid"])
    for f in res["drive"]:
        table.add_row("drive", f["name"], f["link"] or f["id"])
    for f in res["forms"]:
        table.add_row("forms", f["title"], f["id"])
    for e in res["calendar"]:
        table.add_row("calendar", f"{e['summary']} @ {e['start']}", e["id"])
    for c in res["slack"]:
        table.add_row("slack", f"#{c['name']}", c["id"])
    for m in res["zoom"]:
        table.add_row("zoom", m["topic"], m["join_url"])
    console.print(table)
    mails = Table("to", "subject", title=f"{len(summary['emails'])} emails sent")
    for m in summary["emails"]:
        mails.add_row(m["to"], m["subject"])
    console.print(mails)
