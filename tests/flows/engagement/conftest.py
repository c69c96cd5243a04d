"""Engagement tests: the follow-up flows and the sweep against the company sandbox.

Clients are seeded directly with the integration clients (company with the phase-3 properties,
contact, Asana project, Slack channel, Drive folder), so each test starts after kick-off without a
full new-client run. Each client is unique (uuid domain), the sandbox is shared by the session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from app.people import Staff
from integrations.slack import channel_name
from services.clients import Clients, sandbox_clients
from tasks.hubspot import COMPANY_PROPERTIES

# A Monday safely in the future (sandbox Zoom lists only meetings still to come).
BASE = date.today() + timedelta(days=21 - date.today().weekday())
DELIVERABLES = ("Growth strategy", "Marketing plan")


@pytest.fixture(scope="session")
def eng_sandbox(company_sandbox, prefect_api):
    """The company sandbox, with the flows' settings (build_services) pointed at it."""
    saved = {k: os.environ.get(k) for k in ("ONBOARD_SANDBOX_URL", "ONBOARD_WAIT_HOUR_SECONDS", "ONBOARD_POLL_SECONDS")}
    os.environ.update(ONBOARD_SANDBOX_URL=company_sandbox.root, ONBOARD_WAIT_HOUR_SECONDS="0.2",
                      ONBOARD_POLL_SECONDS="0.2")
    yield company_sandbox
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def vendors(eng_sandbox) -> Clients:
    c = sandbox_clients(eng_sandbox.root)
    for name, (label, type_, field_type) in COMPANY_PROPERTIES.items():
        c.hubspot.ensure_property("companies", name, label, type_, field_type)
    return c


@dataclass
class Seeded:
    domain: str
    email: str
    company_id: str
    project_gid: str
    channel_id: str
    folder_id: str
    kickoff: date
    start: date
    weeks: int


def seed_client(vendors: Clients, kickoff: date = BASE, weeks: int = 8, **props: Any) -> Seeded:
    """A client right after kick-off, as phase 3 leaves it in every tool."""
    tag = uuid.uuid4().hex[:8]
    domain, email = f"eng-{tag}.example", f"nomsa@eng-{tag}.example"
    name = f"Engco {tag}"
    hub, asana = vendors.hubspot, vendors.asana
    start = kickoff + timedelta(days=1)
    project = asana.find_or_create_project(f"{name} — plan", asana.team_gid("Client Services"),
                                           start_on=start, due_on=start + timedelta(weeks=weeks))
    onboarding = asana.find_or_create_section(project.gid, "Onboarding")
    deliverables = asana.find_or_create_section(project.gid, "Deliverables")
    asana.find_or_create_task(project.gid, "Send welcome pack", section_gid=onboarding.gid, due_on=start)
    asana.find_or_create_task(project.gid, "Confirm access", section_gid=onboarding.gid,
                              due_on=start + timedelta(days=3))
    for i, d in enumerate(DELIVERABLES):
        asana.find_or_create_task(project.gid, d, section_gid=deliverables.gid,
                                  due_on=start + timedelta(weeks=(i + 1) * weeks // 2))
    channel = vendors.slack.ensure_channel(channel_name(name))
    folder = vendors.drive.find_or_create_folder(f"{name} (client)", None, {"client": domain, "kind": "root"})
    company = hub.upsert_company(domain, {
        "name": name, "domain": domain, "client_id": f"ENG-{tag}", "kickoff_date": kickoff.isoformat(),
        "service_start_date": start.isoformat(), "project_weeks": weeks, "engagement_cadence": "weekly",
        "onboarding_status": "onboarding", "account_manager_email": "lindiwe@brightpath.example",
        "specialist_email": "pieter@brightpath.example", "asana_project_gid": project.gid,
        "slack_channel_id": channel.id, "drive_folder_id": folder.id,
        "requested_services": "business_strategy;marketing", **props})
    contact = hub.upsert_contact(email, {"email": email, "firstname": "Nomsa", "lastname": "Dube"})
    hub.associate("contacts", contact.id, "companies", company.id)
    return Seeded(domain, email, company.id, project.gid, channel.id, folder.id, kickoff, start, weeks)


@pytest.fixture
def seeded(vendors) -> Callable[..., Seeded]:
    return lambda **kw: seed_client(vendors, **kw)


@pytest.fixture
def staff(prefect_api) -> Iterator[Callable[[dict[str, Any]], Staff]]:
    started: list[Staff] = []

    def start(answers: dict[str, Any]) -> Staff:
        def policy(key: str, run_name: str = ""):
            what = key.rsplit("-", 1)[0]
            hit = next((v for k, v in answers.items() if what.startswith(k)), None)
            return (hit, "test") if hit is not None else None

        s = Staff(policy, say=lambda m: None).start()
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


class Sandbox:
    """Reads and client actions on the sandbox, for one client."""

    def __init__(self, server, client: Seeded) -> None:
        self.root, self.c = server.root, client

    def state(self) -> dict[str, Any]:
        return httpx.get(f"{self.root}/_sandbox/state", timeout=30).json()

    def events(self) -> list[dict]:
        """The client's Calendar events (the check-ins, ...), as the sandbox holds them."""
        return [e for e in self.state()["google"].get("event", [])
                if any(a["email"] == self.c.email for a in e.get("attendees", []))]

    def counts(self) -> dict[str, int]:
        """How many records of each kind belong to the client (for idempotency checks)."""
        s, d = self.state(), self.c.domain
        g, tag = s["google"], d.split(".")[0].removeprefix("eng-")
        return {
            "emails": len(self.emails_to_client(s)),
            "events": sum(1 for e in g.get("event", []) if any(a["email"] == self.c.email for a in e.get("attendees", []))),
            "files": sum(1 for f in g.get("file", []) if (f.get("appProperties") or {}).get("client") == d),
            "forms": sum(1 for f in g.get("form", []) if tag in f["info"]["title"]),
            "notes": sum(1 for n in s["hubspot"].get("object:notes", [])
                         if (n["properties"].get("onboarding_note_key") or "").startswith(d + ":")),
            "slack": sum(1 for m in s["slack"].get(f"messages.{self.c.channel_id}", []) if not m.get("subtype")),
            "zoom": sum(1 for m in s["zoom"].get("meeting", []) if tag in m["topic"]),
        }

    def slack_texts(self) -> list[str]:
        return [m["text"] for m in self.state()["slack"].get(f"messages.{self.c.channel_id}", []) if not m.get("subtype")]

    def emails_to_client(self, state: dict[str, Any] | None = None) -> list[str]:
        from tests.flows.conftest import decode_email

        out = []
        for m in (state or self.state())["google"].get("message", []):
            e = decode_email(m)
            if self.c.email in e.to:
                out.append(e.subject)
        return out

    def company(self) -> dict[str, Any]:
        (c,) = [c for c in self.state()["hubspot"]["object:companies"] if c["id"] == self.c.company_id]
        return c["properties"]

    def answer_form(self, form_id: str, answers: dict[str, str]) -> None:
        httpx.post(f"{self.root}/_sandbox/google/forms/{form_id}/responses",
                   json={"answers": answers, "respondentEmail": self.c.email}, timeout=30).raise_for_status()

    def complete_task(self, gid: str) -> None:
        httpx.post(f"{self.root}/_sandbox/asana/tasks/{gid}/complete", json={}, timeout=30).raise_for_status()


@pytest.fixture
def view(eng_sandbox) -> Callable[[Seeded], Sandbox]:
    return lambda client: Sandbox(eng_sandbox, client)
