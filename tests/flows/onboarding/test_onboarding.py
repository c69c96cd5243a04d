"""The parent flow end to end: a client from first contact to kick-off, then the same client again."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from types import SimpleNamespace

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.onboarding.new_client import onboard_client
from sop.outcomes import Outcome
from tests.flows.conftest import (
    KICKOFF,
    NOTES,
    POLL_SECONDS,
    WAIT_HOUR_SECONDS,
    View,
    contract_signed,
    new_client,
    running_client,
    running_staff,
    solution,
)

# not records: access tokens and internal counters change on every call
NOT_RECORDS = {("zoom", "token"), ("slack", "meta"), ("google", "calendar_notification")}


def everything(state) -> Counter:
    return Counter({(vendor, kind): len(objs) for vendor, kinds in state.items() for kind, objs in kinds.items()
                    if (vendor, kind) not in NOT_RECORDS})


@pytest.fixture(scope="module")
def twice(flow_sandbox):
    """One client onboarded by the parent flow, then run again on the same sandbox."""
    client = new_client(requested_services=["business_strategy", "marketing", "operations"])
    mp = pytest.MonkeyPatch()
    mp.setenv("ONBOARD_SANDBOX_URL", flow_sandbox.root)
    mp.setenv("ONBOARD_WAIT_HOUR_SECONDS", str(WAIT_HOUR_SECONDS))
    mp.setenv("ONBOARD_POLL_SECONDS", str(POLL_SECONDS))
    answers = {"discovery-call-notes": NOTES, "solution-design": solution(client, "launch"),
               "client-s-answer-to-proposal-v1": {"decision": "accept"},
               "contract-signature-confirmation": contract_signed(client), "kick-off-outcome": KICKOFF}
    try:
        with running_staff(answers) as team, running_client(flow_sandbox, client):
            first = onboard_client(client, return_state=True)
            after_first = flow_sandbox.state()
            second = onboard_client(client, return_state=True)
            after_second = flow_sandbox.state()
    finally:
        mp.undo()
    return SimpleNamespace(client=client, first=first, second=second, team=team,
                           v1=View(after_first, client), v2=View(after_second, client))


def test_onboards_the_client(twice):
    result = twice.first.result()
    assert result.outcome is Outcome.ONBOARDED
    assert set(result.seconds_per_phase) == {"phase 1", "phase 2", "phase 3"}
    v, client = twice.v1, twice.client
    assert len(v.companies()) == len(v.contacts()) == len(v.deals()) == 1
    assert v.stage_label(v.deal()) == "Closed won"
    assert v.company()["properties"]["client_id"] == result.setup.client_id
    assert len(v.emails(to=str(client.email))) >= 5
    # >= 2 Zoom meetings, each with the Calendar invite at the same time carrying its join link
    meetings = v.meetings()
    assert len(meetings) >= 2
    events = v.events()
    for m in meetings:
        start = datetime.fromisoformat(m["start_time"])
        matching = [e for e in events if e.get("location") == m["join_url"]]
        assert len(matching) == 1, m["topic"]
        assert datetime.fromisoformat(matching[0]["start"]["dateTime"]) == start, m["topic"]
    assert len(v.projects()) == 1 and len(v.channels()) == 1
    kinds = {f["appProperties"]["kind"] for f in v.files()}
    assert {"proposal-v1", "contract", "contract-signed", "welcome-letter", "kickoff-agenda"} <= kinds


def test_a_second_run_creates_nothing_new(twice):
    assert twice.second.result().outcome is Outcome.ONBOARDED
    assert twice.second.result().setup.client_id == twice.first.result().setup.client_id
    before, after = twice.v1.counts(), twice.v2.counts()
    assert +before == before and all(before[k] for k in ("hubspot/companies", "zoom/meetings", "asana/tasks"))
    assert after == before
    # and nothing else anywhere in the sandbox
    assert everything(twice.v2.state) == everything(twice.v1.state)


def test_the_run_artifact_lists_the_sop_steps(twice):
    run_id = twice.first.state_details.flow_run_id
    with get_client(sync_client=True) as prefect:
        mine = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        artifacts = prefect.read_artifacts(artifact_filter=mine)
    # published when the run starts, at every wait (staff see where it is) and at its end
    versions = sorted((a for a in artifacts if a.type == "markdown"), key=lambda a: a.created)
    assert len(versions) >= 1 + 5 + 1
    assert "| waiting |" in versions[1].data and "Waiting: " in versions[1].data
    artifact = versions[-1]
    text = artifact.data
    assert text.splitlines()[0].startswith("| SOP step |")
    for step in ("B1.1", "A1.1", "A1.2", "A1.3", "A2.1", "A2.3", "B1.3", "B2.1", "B2.2", "B2.3", "B2.4",
                 "A3.1", "B3.1", "A3.2", "A3.3", "B3.2", "B3.3", "A3.4", "B3.4"):
        assert f"| {step} |" in text, step
    assert "| done |" in text
    assert artifact.key.startswith("onboarding-")


def test_a_fresh_account_made_ready_by_setup_and_the_administrator_onboards_a_client(monkeypatch, prefect_api):
    """The ops engineer's first day (docs/live-setup.md): a fresh account with two scopes forgotten,
    `onboard setup`'s steps, the administrator's (app/sandbox_admin.py), then a whole onboarding."""
    from app.sandbox import sandbox_server
    from app.sandbox_admin import play_administrator
    from app.setup import steps
    from flows.preflight import run_checks
    from services import Services
    from services.clients import sandbox_clients
    from services.settings import Settings

    client = new_client()
    forgotten = {"slack": ["users:read.email"], "google": ["calendar.events"]}
    with sandbox_server(account="fresh", rate_limits="off", withheld_scopes=forgotten) as sandbox:
        for name, value in (("ONBOARD_SANDBOX_URL", sandbox.root), ("ONBOARD_WAIT_HOUR_SECONDS", str(WAIT_HOUR_SECONDS)),
                            ("ONBOARD_POLL_SECONDS", str(POLL_SECONDS))):
            monkeypatch.setenv(name, value)
        svc = Services(Settings(sandbox_url=sandbox.root), sandbox_clients(sandbox.root), clock=None)
        for step in steps(svc):
            step.do()
        play_administrator(sandbox.root, svc.settings)
        assert [c.line() for c in run_checks(svc) if not c.ok] == []
        answers = {"discovery-call-notes": NOTES, "solution-design": solution(client, "launch"),
                   "client-s-answer-to-proposal-v1": {"decision": "accept"},
                   "contract-signature-confirmation": contract_signed(client), "kick-off-outcome": KICKOFF}
        with running_staff(answers), running_client(sandbox, client):
            result = onboard_client(client)
        v = View(sandbox.state(), client)
    assert result.outcome == Outcome.ONBOARDED
    # the meetings sit on the hosts' calendars, reached because they were shared with the delegated user
    hosts = {"pieter@brightpath.example", "aisha@brightpath.example", "lindiwe@brightpath.example"}
    assert v.meetings() and {e["organizer"]["email"] for e in v.events()} & hosts


def test_a_cancelled_onboarding_archives_what_it_made(twice, flow_sandbox, svc):
    """Compensation (flows/onboarding/cancel.py, the run's on_cancellation hook): meetings still ahead, Drive
    folder, Slack channel and Asana project archived; the deal closed-lost and the company marked;
    a second archive changes nothing more."""
    from flows.onboarding.cancel import archive_onboarding

    domain = twice.client.domain
    assert twice.v2.meetings() and twice.v2.events() and twice.v2.channels() and twice.v2.projects()
    done = archive_onboarding(svc, domain, "the client withdrew")
    assert set(done) == {"discovery meeting cancelled", "kickoff meeting cancelled",
                         "Drive folder trashed", "Slack channel archived", "Asana project archived", "deal closed-lost",
                         "company marked cancelled"}
    v = View(flow_sandbox.state(), twice.client)
    assert v.meetings() == [] and v.events() == []  # every meeting was still ahead (days from now)
    assert v.file("root", trashed=True)
    assert all(c["is_archived"] for c in v.channels()) and all(p["archived"] for p in v.projects())
    assert v.stage_label(v.deal()) == "Closed lost" and v.company()["properties"]["onboarding_status"] == "cancelled"
    assert "the client withdrew" in v.note("cancelled")["properties"]["hs_note_body"]
    before = everything(flow_sandbox.state())
    archive_onboarding(svc, domain, "again")
    assert everything(flow_sandbox.state()) == before


def test_a_run_on_a_fresh_account_stops_before_its_first_side_effect(monkeypatch):
    """A newly bought account (no Asana team, unlicensed Zoom hosts): the run fails at its start with
    the doctor's lines and fixes; no client email, no CRM record, nothing else written."""
    from app.sandbox import sandbox_server

    client = new_client()
    with sandbox_server(account="fresh", rate_limits="off") as sandbox:
        monkeypatch.setenv("ONBOARD_SANDBOX_URL", sandbox.root)
        before = everything(sandbox.state())
        state = onboard_client(client, return_state=True)
        after = sandbox.state()
    assert state.is_failed()
    with pytest.raises(Exception) as raised:
        state.result()
    text = str(raised.value)
    assert "nothing was written or sent" in text, state.message
    assert "✘ asana   team 'Client Services'" in text and "fix: run `onboard setup`" in text
    assert "✘ zoom    host pieter@brightpath.example" in text
    assert "✘ google  calendar pieter@brightpath.example: not shared with the delegated user" in text
    assert "custom properties" not in text  # what a run creates itself does not stop it
    assert everything(after) == before
    assert not after["google"].get("message") and not any(after["hubspot"].get(k) for k in after["hubspot"]
                                                          if k.startswith("object:"))
