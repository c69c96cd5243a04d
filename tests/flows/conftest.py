"""Flow tests: the phase flows against the company sandbox, on the session's Prefect server.

Staff answer pauses through the Prefect API (``app.people.Staff``) and the client fills in the
intake form through the sandbox (``app.people.ClientActor``), as in ``onboard demo``. The sandbox
is shared by the session, so every test makes its own client (unique name, domain and email) and
looks only at what belongs to that client.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from email import message_from_bytes
from email import policy as email_policy
from typing import Any

import pytest

from app.people import INTAKE_ANSWERS, ClientActor, Staff
from services import Services, use_services
from services.clients import Clients, sandbox_clients
from flows.people.approvals import package_choice
from services.settings import Settings
from sop.client import NewClient
from sop.outcomes import Agreement, Lead

WAIT_HOUR_SECONDS = 5.0  # one "hour" of config/onboarding.yaml's waits lasts 5 s: no reminder fires while
# simulated staff answer, even on a busy machine; the timeout tests pass their own, shorter waits
POLL_SECONDS = 0.2
# the meetings are booked a day or more ahead: a wait that starts at one's end starts a fraction of a second later
os.environ.setdefault("ONBOARD_MEETING_HOUR_SECONDS", "0.01")


# ---------------------------------------------------------------------------------------- clients


def new_client(**overrides: Any) -> NewClient:
    """A client nobody has seen before: unique company name, website domain and email."""
    tag = uuid.uuid4().hex[:8]
    data: dict[str, Any] = {
        "company_name": f"Testco {tag} (Pty) Ltd",
        "contact_person": "Zanele Mthembu",
        "contact_title": "Managing Director",
        "phone": "+27 82 555 0199",
        "email": f"zanele@testco-{tag}.example",
        "website": f"https://www.testco-{tag}.example",
        "source_of_lead": "website",
        "budget": 120_000,
        "industry": "retail",
        "requested_services": ["business_strategy", "marketing"],
        "timeline_weeks": 10,
        "preferred_communication": "slack",
    }
    data.update(overrides)
    return NewClient.model_validate(data)


# ---------------------------------------------------------------------------------------- runtime


@pytest.fixture(scope="session")
def flow_sandbox(company_sandbox, prefect_api):
    """The company sandbox, with this process pointed at the session's Prefect server."""
    return company_sandbox


@pytest.fixture(scope="session")
def vendors(flow_sandbox) -> Clients:
    """The integration clients, for reading what the flows left in the sandbox."""
    return sandbox_clients(flow_sandbox.root)


@pytest.fixture(scope="session")
def make_services(flow_sandbox) -> Callable[..., Services]:
    """``make_services(wait_hour_seconds=..., qualification=Wait(...))``: a Services on the sandbox,
    optionally with some approval waits replaced (the timeout paths)."""

    def make(wait_hour_seconds: float = WAIT_HOUR_SECONDS, **approvals: Any) -> Services:
        settings = Settings(sandbox_url=flow_sandbox.root, wait_hour_seconds=wait_hour_seconds,
                            poll_seconds=POLL_SECONDS)
        svc = Services(settings, sandbox_clients(flow_sandbox.root))
        if approvals:
            svc.rules = svc.rules.model_copy(update={"approvals": {**svc.rules.approvals, **approvals}})
        return svc

    return make


@pytest.fixture
def svc(make_services) -> Iterator[Services]:
    """Services on the sandbox, and the ones the flows called in the test get (``services.current()``)."""
    with use_services(make_services()) as s:
        yield s


# ------------------------------------------------------------------------------------- simulated people


def policy(answers: dict[str, Any]) -> Callable[[str, str], tuple[dict[str, Any], str] | None]:
    """Staff answers by pause key: ``{"discovery-call-notes": {...}}`` answers every pause whose key
    (minus its reminder counter) starts with that prefix, the longest prefix winning; a None answer
    leaves that pause alone (the wait times out)."""

    def answer(pause_key: str, run_name: str = ""):
        what = pause_key.rsplit("-", 1)[0]
        match = max((k for k in answers if what.startswith(k)), key=len, default=None)
        if match is None or answers[match] is None:
            return None
        return answers[match], "test answer"

    return answer


NOTES = {"expectations": "A growth plan they can run themselves", "deliverables": "Strategy and a marketing plan",
         "deadlines": "Board meeting in 8 weeks", "pain_points": "Flat online sales"}
KICKOFF = {"objectives": "Two new regions live", "timeline": "10 weeks, review at week 5",
           "next_steps": "POS data from the client; brand assets"}


def contract_signed(client: NewClient) -> dict[str, Any]:
    return {"client_signatory": client.contact_person, "provider_signatory": "Lindiwe Dlamini",
            "signed_on": date.today().isoformat(), "signed_copy_url": f"https://esign.example/{client.domain}.pdf"}


def solution(client: NewClient, package: str = "launch", price: int | None = None) -> dict[str, Any]:
    answer = {"package": package_choice(Settings().rules, package), "scope": f"Strategy and marketing for {client.company_name}.",
              "consulted": "Operations"}
    if price is not None:
        answer["price"] = price
    return answer


@contextmanager
def running_staff(answers: dict[str, Any]) -> Iterator[Staff]:
    """Simulated staff answering pauses with ``policy(answers)`` until the block ends."""
    s = Staff(policy(answers), say=lambda m: None).start()
    try:
        yield s
    finally:
        s.stop()


@contextmanager
def running_client(sandbox, client: NewClient, answers: dict[str, str] | None = None) -> Iterator[ClientActor]:
    """The simulated client filling in their intake form (and accepting invites) until the block ends."""
    a = ClientActor(sandbox.root, str(client.email), answers or INTAKE_ANSWERS, say=lambda m: None, poll=0.2).start()
    try:
        yield a
    finally:
        a.stop()


@pytest.fixture
def staff(prefect_api) -> Iterator[Callable[[dict[str, Any]], Staff]]:
    """``staff({...})`` starts simulated staff for the test; stopped afterwards."""
    with ExitStack() as stack:
        yield lambda answers: stack.enter_context(running_staff(answers))


@pytest.fixture
def client_actor(flow_sandbox) -> Iterator[Callable[[NewClient], ClientActor]]:
    """``client_actor(client)`` starts the simulated client for the test; stopped afterwards."""
    with ExitStack() as stack:
        yield lambda client, answers=None: stack.enter_context(running_client(flow_sandbox, client, answers))


# ------------------------------------------------------------------------------------ shortcuts


def lead_for(client: NewClient, svc: Services, *, folders: bool = False) -> Lead:
    """Phase 1's CRM records for ``client`` without its waits (lead capture and specialist), and with
    ``folders`` the client's Drive folders, so that a later phase can be tested on its own."""
    from flows.onboarding.initial_contact import assign_specialist, capture_lead
    from tasks.drive import ensure_client_folder

    lead, pipeline = capture_lead(client, svc)
    lead = assign_specialist(client, svc, lead, pipeline)
    if folders:
        made = ensure_client_folder(svc.clients.drive, client.domain, client.company_name)
        lead = lead.model_copy(update={"folder_ids": {k: f.id for k, f in made.items()}})
    return lead


def agreement_for(client: NewClient, package: str = "launch", price: int = 60_000) -> Agreement:
    """What phase 2 hands to phase 3 (the files are not read by phase 3)."""
    return Agreement(package_key=package, scope=f"The package for {client.company_name}", price=price,
                     proposal_version=1, proposal_file_id="proposal", contract_file_id="contract",
                     signed_file_id="signed", signed_on=date.today())


# --------------------------------------------------------------------------------- sandbox state


@dataclass
class Email:
    to: str
    cc: str
    sender: str
    subject: str
    message_id: str
    text: str
    html: str


def decode_email(message: dict[str, Any]) -> Email:
    raw = message["_raw"]
    msg = message_from_bytes(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), policy=email_policy.default)
    plain, html = msg.get_body(preferencelist=("plain",)), msg.get_body(preferencelist=("html",))
    header = lambda n: " ".join(str(msg.get(n, "")).split())
    return Email(header("To"), header("Cc"), header("From"), header("Subject"), header("Message-ID"),
                 plain.get_content() if plain else "", html.get_content() if html else "")


class View:
    """One sandbox state, looked at from one client's side."""

    def __init__(self, state: dict[str, Any], client: NewClient) -> None:
        self.state, self.client = state, client
        self.hub, self.google = state["hubspot"], state["google"]
        self.asana, self.slack, self.zoom = state["asana"], state["slack"], state["zoom"]

    # HubSpot
    def _live(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.hub.get(f"object:{kind}", []) if not o.get("archived")]

    def companies(self) -> list[dict[str, Any]]:
        return [c for c in self._live("companies") if c["properties"].get("domain") == self.client.domain]

    def company(self) -> dict[str, Any]:
        (company,) = self.companies()
        return company

    def contacts(self) -> list[dict[str, Any]]:
        return [c for c in self._live("contacts") if c["properties"].get("email") == str(self.client.email)]

    def deals(self) -> list[dict[str, Any]]:
        return [d for d in self._live("deals") if d["properties"].get("onboarding_key") == self.client.domain]

    def deal(self) -> dict[str, Any]:
        (deal,) = self.deals()
        return deal

    def notes(self) -> list[dict[str, Any]]:
        prefix = f"{self.client.domain}:"
        return [n for n in self._live("notes") if (n["properties"].get("onboarding_note_key") or "").startswith(prefix)]

    def note(self, key: str) -> dict[str, Any]:
        (note,) = [n for n in self.notes() if n["properties"]["onboarding_note_key"] == f"{self.client.domain}:{key}"]
        return note

    def associated(self, from_type: str, from_id: str, to_type: str) -> set[str]:
        return {a["to_id"] for a in self.hub["assoc"]
                if a["from_type"] == from_type and a["from_id"] == from_id and a["to_type"] == to_type}

    def line_items(self) -> list[dict[str, Any]]:
        ids = {i for d in self.deals() for i in self.associated("deals", d["id"], "line_items")}
        return [li for li in self._live("line_items") if li["id"] in ids]

    def pipeline(self, label: str = "Client Onboarding") -> dict[str, Any]:
        return next(p for p in self.hub["pipeline:deals"] if p["label"] == label)

    def stage_label(self, deal: dict[str, Any]) -> str:
        pipeline = next(p for p in self.hub["pipeline:deals"] if p["id"] == deal["properties"]["pipeline"])
        return next(s["label"] for s in pipeline["stages"] if s["id"] == deal["properties"]["dealstage"])

    def owner_email(self, owner_id: str) -> str:
        return next(o["email"] for o in self.hub["owner"] if o["id"] == owner_id)

    # Google
    def files(self, *, trashed: bool | None = False) -> list[dict[str, Any]]:
        return [f for f in self.google.get("file", [])
                if (f.get("appProperties") or {}).get("client") == self.client.domain
                and (trashed is None or bool(f.get("trashed")) == trashed)]

    def file(self, kind: str, *, trashed: bool | None = False) -> dict[str, Any]:
        (file,) = [f for f in self.files(trashed=trashed) if f["appProperties"]["kind"] == kind]
        return file

    def permissions(self, file_id: str) -> list[dict[str, Any]]:
        return [p for p in self.google.get("permission", []) if p.get("_file") == file_id]

    def forms(self) -> list[dict[str, Any]]:
        return [f for f in self.google.get("form", []) if f["info"]["title"].endswith(f"— {self.client.company_name}")]

    def form_responses(self) -> list[dict[str, Any]]:
        ids = {f["formId"] for f in self.forms()}
        return [r for r in self.google.get("form_response", []) if r["formId"] in ids]

    def emails(self, to: str | None = None) -> list[Email]:
        """Every email of this client's run (Message-IDs end in the client's domain), optionally
        only those addressed to ``to``."""
        mails = [decode_email(m) for m in self.google.get("message", []) if m.get("_raw")]
        mine = [m for m in mails if m.message_id.endswith(f"@{self.client.domain}>")]
        return [m for m in mine if to is None or to in m.to]

    def events(self, *, cancelled: bool | None = False) -> list[dict[str, Any]]:
        return [e for e in self.google.get("event", [])
                if any(a["email"] == str(self.client.email) for a in e.get("attendees", []))
                and (cancelled is None or (e.get("status") == "cancelled") == cancelled)]

    # Zoom, Slack, Asana
    def meetings(self) -> list[dict[str, Any]]:
        return [m for m in self.zoom.get("meeting", []) if f"— {self.client.company_name} ×" in m["topic"]]

    def channels(self) -> list[dict[str, Any]]:
        ids = {c["properties"].get("slack_channel_id") for c in self.companies()}
        return [c for c in self.slack.get("channel", []) if c["id"] in ids]

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        return list(self.slack.get(f"messages.{channel_id}", []))

    def dms_to(self, email: str) -> list[dict[str, Any]]:
        """Slack direct messages from the bot to the team member with ``email``."""
        user = next(u for u in self.slack["user"] if u.get("profile", {}).get("email") == email)
        ims = [im for im in self.slack.get("im", []) if im["user"] == user["id"]]
        return [m for im in ims for m in self.messages(im["id"]) if m.get("bot_id")]

    def slack_user_email(self, user_id: str) -> str | None:
        return next((u.get("profile", {}).get("email") for u in self.slack["user"] if u["id"] == user_id), None)

    def projects(self) -> list[dict[str, Any]]:
        return [p for p in self.asana.get("project", []) if p["name"].startswith(f"{self.client.company_name} — ")]

    def tasks(self, project_gid: str) -> list[dict[str, Any]]:
        return [t for t in self.asana.get("task", [])
                if any(m.get("project") == project_gid for m in t.get("memberships", []))]

    def asana_email(self, user_gid: str) -> str:
        return next(u["email"] for u in self.asana["user"] if u["gid"] == user_gid)

    def counts(self) -> Counter:
        """How many objects of each vendor/kind belong to this client (for "nothing created twice")."""
        c: Counter = Counter()
        c["hubspot/companies"] = len(self.companies())
        c["hubspot/contacts"] = len(self.contacts())
        c["hubspot/deals"] = len(self.deals())
        c["hubspot/notes"] = len(self.notes())
        c["hubspot/line_items"] = len(self.line_items())
        c["hubspot/assoc"] = sum(1 for a in self.hub["assoc"] if a["from_id"] in self._ids())
        c["google/files"] = len(self.files(trashed=None))
        c["google/permissions"] = sum(len(self.permissions(f["id"])) for f in self.files(trashed=None))
        c["google/forms"] = len(self.forms())
        c["google/form_responses"] = len(self.form_responses())
        c["google/messages"] = len(self.emails())
        c["google/events"] = len(self.events(cancelled=None))
        c["zoom/meetings"] = len(self.meetings())
        projects = self.projects()
        c["asana/projects"] = len(projects)
        gids = {p["gid"] for p in projects}
        c["asana/sections"] = sum(1 for s in self.asana.get("section", []) if s["project"] in gids)
        c["asana/tasks"] = sum(len(self.tasks(p["gid"])) for p in projects)
        channels = self.channels()
        c["slack/channels"] = len(channels)
        c["slack/channel_messages"] = sum(len(self.messages(ch["id"])) for ch in channels)
        c["slack/dms_about_client"] = sum(1 for k, msgs in self.slack.items() if k.startswith("messages.D")
                                          for m in msgs if self.client.company_name in m.get("text", ""))
        return c

    def _ids(self) -> set[str]:
        return {o["id"] for o in self.companies() + self.contacts() + self.deals() + self.notes() + self.line_items()}


@pytest.fixture(scope="session")
def view(flow_sandbox) -> Callable[[NewClient], View]:
    """``view(client)``: the sandbox's current state, as far as it concerns ``client``."""
    return lambda client: View(flow_sandbox.state(), client)
