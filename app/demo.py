"""`onboard demo`: a full new-client run on the offline sandbox, with simulated staff and client."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
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


class RunningSandbox:
    """A sandbox already serving at ``root`` (``onboard demo --sandbox``), e.g. an account made ready by hand."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")

    def state(self) -> dict:
        return httpx.get(f"{self.root}/_sandbox/state", timeout=30).raise_for_status().json()


def run_demo(state: Path | None, as_json: bool, client_file: Path = SAMPLE_CLIENT, sandbox_url: str | None = None,
             esign: str | None = None, storage: str | None = None) -> int:
    client = load_client(client_file)
    home = Path(tempfile.mkdtemp(prefix="onboard-demo-"))
    prefect_env(home)
    if esign:  # the company's rules with another e-signature choice, as a copy of its own
        os.environ["ONBOARD_RULES_PATH"] = str(rules_with(home, esign=esign))
    if storage:  # the company's profile with another document storage, as a copy of its own
        os.environ["ONBOARD_PROFILE_PATH"] = str(profile_with(home, storage=storage))
    os.environ.setdefault("ONBOARD_WAIT_HOUR_SECONDS", "5")  # a one-day wait lasts 2 minutes in the demo
    os.environ.setdefault("ONBOARD_MEETING_HOUR_SECONDS", "0.05")  # a meeting a day ahead ends 1.2 s later
    os.environ.setdefault("ONBOARD_POLL_SECONDS", "0.5")

    from app.sandbox import sandbox_server
    from prefect_plumbing.servers import demo_server

    say = Progress(quiet=as_json)
    with ExitStack() as stack:
        server = None
        if "PREFECT_API_URL" not in os.environ:  # our own server, started while Prefect is imported
            server = stack.enter_context(demo_server(home))
            os.environ["PREFECT_API_URL"] = server.api_url
        sandbox = RunningSandbox(sandbox_url) if sandbox_url else stack.enter_context(sandbox_server(state))
        os.environ["ONBOARD_SANDBOX_URL"] = sandbox.root
        say(f"sandbox at {sandbox.root} (state: {'its own' if sandbox_url else state or 'in memory'}); starting Prefect"
            + (f" (its log: {server.log_path})" if server else f" at {os.environ['PREFECT_API_URL']}"))
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        from app.people import INTAKE_ANSWERS, ClientActor, Signers, Staff, staff_policy
        from flows.onboarding.new_client import onboard_client
        from services.settings import Settings

        package = Settings().rules.suggest_package(client).key
        stack.enter_context(say.steps_logged())
        if server:
            server.wait_ready()
        start_prefect()
        say(f"Prefect ready; onboarding {client.company_name}")
        staff = Staff(staff_policy(client, package), say=say).start()
        actor = ClientActor(sandbox.root, str(client.email), INTAKE_ANSWERS, say=say,
                            company=client.company_name).start()
        settings = Settings()
        manager = next((p for p in settings.profile.everyone() if p.name == settings.profile.approving_manager.name),
                       None)
        signers = Signers(sandbox.root, client.domain, {str(client.email): "sign"}
                          | ({str(manager.email): "sign"} if manager else {}), say=say).start()
        try:
            with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                result = onboard_client(client)
        finally:
            staff.stop()
            actor.stop()
            signers.stop()
        summary = summarize(sandbox.state(), result.model_dump(mode="json"))
    summary["seconds_total"] = say.seconds()
    summary["staff_answers"] = [{"form": k, "answer": a} for k, a in staff.answered]
    summary["prefect_server_log"] = str(server.log_path) if server else None
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print_summary(summary)
    return 0 if result.outcome.value == "onboarded" else 1


def rules_with(home: Path, **changes: str) -> Path:
    """A copy of the onboarding rules (ONBOARD_RULES_PATH or config/onboarding.yaml) with ``changes``."""
    import yaml

    from services.settings import Settings

    rules = yaml.safe_load(Settings().rules_path.read_text())
    path = home / "onboarding.yaml"
    path.write_text(yaml.safe_dump({**rules, **changes}, sort_keys=False, allow_unicode=True))
    return path


def profile_with(home: Path, **changes: str) -> Path:
    """A copy of the company profile (ONBOARD_PROFILE_PATH or config/company.yaml) with ``changes``."""
    from services.settings import Settings

    profile = yaml.safe_load(Settings().profile_path.read_text())
    path = home / "company.yaml"
    path.write_text(yaml.safe_dump({**profile, **changes}, sort_keys=False, allow_unicode=True))
    return path


class Progress:
    """Prints a line as the demo goes (each SOP step the run records, each simulated answer), after the
    seconds since the demo began."""

    def __init__(self, quiet: bool = False) -> None:
        self.started = time.perf_counter()
        self.quiet = quiet

    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 1)

    def __call__(self, line: str) -> None:
        if not self.quiet:  # not print(): in a run with log_prints, that would be a run log line
            sys.stdout.write(f"{self.seconds():6.1f} s  {line}\n")
            sys.stdout.flush()

    @contextmanager
    def steps_logged(self) -> Iterator[None]:
        """The run's journal lines (``flows.journal``) printed here while the block runs."""
        say = self

        class ToProgress(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                say(record.getMessage())

        log, handler = logging.getLogger("flows.journal"), ToProgress()
        level, propagate = log.level, log.propagate
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        try:
            yield
        finally:
            log.removeHandler(handler)
            log.setLevel(level)
            log.propagate = propagate


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
    dropbox = state.get("dropbox") or {}
    if dropbox.get("entry"):  # storage: dropbox
        links = {x["path_lower"]: x["url"] for x in dropbox.get("link", [])}
        resources["dropbox"] = [{"path": e["path_display"], "link": links.get(e["path_lower"])}
                                for e in dropbox["entry"] if e[".tag"] == "file"]
        resources["dropbox_file_requests"] = [{"destination": f["destination"], "url": f["url"]}
                                              for f in dropbox.get("file_request", [])]
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
    """What the run made, one line each, with full links (copyable: nothing is cut to the terminal's width)."""
    phases = ", ".join(f"{k} {v} s" for k, v in summary["seconds_per_phase"].items())
    print(f"\nOutcome: {summary['outcome']}   client id: {summary['client_id']}   "
          f"total {summary['seconds_total']} s ({phases})")
    res, rows = summary["resources"], []
    for kind, objs in res["hubspot"].items():
        rows += [("hubspot", f"{kind.removeprefix('object:')}: {o['name']}", o["id"]) for o in objs]
    rows += [("asana", f"project: {p['name']} ({res['asana']['tasks']} tasks)", p["gid"]) for p in res["asana"]["projects"]]
    rows += [("drive", f["name"], f["link"] or f["id"]) for f in res["drive"]]
    rows += [("forms", f["title"], f["id"]) for f in res["forms"]]
    rows += [("calendar", f"{e['summary']} @ {e['start']}", e["id"]) for e in res["calendar"]]
    rows += [("slack", f"#{c['name']}", c["id"]) for c in res["slack"]]
    rows += [("zoom", m["topic"], m["join_url"]) for m in res["zoom"]]
    rows += [("dropbox", f["path"], f["link"] or "") for f in res.get("dropbox", [])]
    rows += [("dropbox", f"file request → {f['destination']}", f["url"]) for f in res.get("dropbox_file_requests", [])]
    print(f"\n{len(rows)} records in the sandbox:")
    for vendor, what, ref in rows:
        print(f"  {vendor:<9}{' '.join(what.split())}  {ref}")
    print(f"\n{len(summary['emails'])} emails sent:")
    for m in summary["emails"]:
        print(f"  to {m['to']}: {m['subject']}")
    if summary.get("prefect_server_log"):
        print(f"\nPrefect server log: {summary['prefect_server_log']}")
