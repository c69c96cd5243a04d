"""Phase 2 with ``esign: dropbox_sign`` (SOP-B 2.4): one signature request, signed in order by the client
contact and the approving manager through the sandbox; a second run sends nothing new; a decline follows
``on_signature_declined``; a crash between sending and recording sends no second request."""

from __future__ import annotations

from contextlib import contextmanager

import httpx
import pytest

import tasks.esign
from app.people import Signers
from flows.onboarding.proposal import proposal_and_agreement
from services import use_services
from sop.outcomes import Outcome
from tests.flows.conftest import contract_signed, lead_for, new_client, running_staff, solution

MANAGER = "lindiwe@brightpath.example"  # config/company.yaml: the approving manager, Lindiwe Dlamini


@pytest.fixture
def esign_services(make_services):
    def make(**rules):
        svc = make_services()
        svc.rules = svc.rules.model_copy(update={"esign": "dropbox_sign", **rules})
        return svc

    return make


@contextmanager
def signing(sandbox, client, actions):
    signers = Signers(sandbox.root, client.domain, actions, say=lambda m: None, poll=0.2).start()
    try:
        yield signers
    finally:
        signers.stop()


def staff_answers(client, **more):
    return {"solution-design": solution(client, "launch"), "client-s-answer-to-proposal-v1": {"decision": "accept"},
            **more}


def requests_of(sandbox, client):
    state = httpx.get(f"{sandbox.root}/_sandbox/state", params={"vendor": "dropbox_sign"}).json()["dropbox_sign"]
    return [r for r in state.get("signature_request", []) if r["metadata"].get("client_domain") == client.domain]


def run_phase(svc, client, lead, staff, sandbox=None, actions=None):
    with running_staff(staff), use_services(svc):
        if actions is None:
            return proposal_and_agreement(client, lead)
        with signing(sandbox, client, actions):
            return proposal_and_agreement(client, lead)


def test_both_sign_in_order_then_a_second_run_sends_nothing(esign_services, flow_sandbox, view, vendors):
    svc, client = esign_services(), new_client()
    lead = lead_for(client, svc, folders=True)
    both = {str(client.email): "sign", MANAGER: "sign"}

    outcome, agreement = run_phase(svc, client, lead, staff_answers(client), flow_sandbox, both)

    assert outcome is None and agreement is not None
    (req,) = requests_of(flow_sandbox, client)
    assert [(s["signer_email_address"], s["order"], s["status_code"]) for s in req["signatures"]] == [
        (str(client.email), 0, "signed"), (MANAGER, 1, "signed")]
    assert req["signatures"][0]["signed_at"] <= req["signatures"][1]["signed_at"]  # the client first
    assert req["is_complete"] and req["test_mode"] and req["_files"][0]["name"] == "service-agreement.html"
    v = view(client)
    company = v.company()["properties"]
    assert company["esign_request_id"] == req["signature_request_id"]
    assert company["contract_signed_via"] == "dropbox_sign"
    signed = v.file("contract-signed")
    assert signed["mimeType"] == "application/pdf" and signed["parents"] == [v.file("Contracts")["id"]]
    assert agreement.signed_file_id == signed["id"]
    note = v.note("contract-signed")["properties"]["hs_note_body"]
    assert "Dropbox Sign" in note and signed["webViewLink"] in note and "audit trail" in note
    assert v.stage_label(v.deal()) == "Closed won"
    before = (v.counts(), len(requests_of(flow_sandbox, client)))

    # a second run of the phase: the recorded request is found, complete; nothing is sent or made again
    outcome2, agreement2 = run_phase(svc, client, lead, staff_answers(client))
    assert outcome2 is None and agreement2.signed_file_id == agreement.signed_file_id
    assert (view(client).counts(), len(requests_of(flow_sandbox, client))) == before


def test_a_decline_closes_the_deal_when_configured_lost(esign_services, flow_sandbox, view):
    svc, client = esign_services(on_signature_declined="lost"), new_client()
    lead = lead_for(client, svc, folders=True)

    outcome, agreement = run_phase(svc, client, lead, staff_answers(client), flow_sandbox,
                                   {str(client.email): "decline"})

    assert outcome is Outcome.CONTRACT_UNSIGNED and agreement is None
    (req,) = requests_of(flow_sandbox, client)
    assert req["is_declined"] and req["signatures"][1]["status_code"] == "awaiting_signature"
    v = view(client)
    assert v.stage_label(v.deal()) == "Closed lost"
    assert "declined by" in v.note("contract-declined-1")["properties"]["hs_note_body"]
    assert "Contract declined" in v.note("contract-unsigned")["properties"]["hs_note_body"]


def test_a_decline_asks_sales_who_record_a_paper_signature(esign_services, flow_sandbox, view):
    svc, client = esign_services(), new_client()  # on_signature_declined: ask_sales (the default)
    lead = lead_for(client, svc, folders=True)
    staff = staff_answers(client, **{"contract-declined": {"decision": "signed_on_paper"},
                                     "contract-signed-on-paper": contract_signed(client)})

    outcome, agreement = run_phase(svc, client, lead, staff, flow_sandbox, {str(client.email): "decline"})

    assert outcome is None and agreement is not None
    assert len(requests_of(flow_sandbox, client)) == 1
    v = view(client)
    assert v.company()["properties"]["contract_signed_via"] == "paper"
    assert "on paper" in v.note("contract-signed")["properties"]["hs_note_body"]
    assert v.stage_label(v.deal()) == "Closed won"


def test_a_crash_between_sending_and_recording_sends_no_second_request(esign_services, flow_sandbox, view,
                                                                        monkeypatch):
    svc, client = esign_services(), new_client()
    lead = lead_for(client, svc, folders=True)
    record = tasks.esign.record_request

    def crash(*args, **kwargs):
        raise RuntimeError("the worker died after Dropbox Sign accepted the request")

    monkeypatch.setattr(tasks.esign, "record_request", crash)
    with pytest.raises(RuntimeError, match="worker died"):
        run_phase(svc, client, lead, staff_answers(client))
    assert len(requests_of(flow_sandbox, client)) == 1
    assert not view(client).company()["properties"].get("esign_request_id")

    monkeypatch.setattr(tasks.esign, "record_request", record)  # the re-run: found by its key, then recorded
    outcome, _ = run_phase(svc, client, lead, staff_answers(client), flow_sandbox,
                           {str(client.email): "sign", MANAGER: "sign"})

    assert outcome is None
    (req,) = requests_of(flow_sandbox, client)
    assert req["is_complete"]
    assert view(client).company()["properties"]["esign_request_id"] == req["signature_request_id"]


def test_the_waits_sweep_resumes_a_settled_request_and_reminds_through_dropbox_sign(make_services, flow_sandbox,
                                                                                    monkeypatch):
    """A suspended run's e-signature wait: the sweep reminds whoever's turn it is through Dropbox Sign
    (not an email of ours) and resumes the run once the request is signed by both."""
    from datetime import timedelta
    from types import SimpleNamespace
    from uuid import uuid4

    from flows.people import sweep_waits
    from flows.people.waits import WaitRecord, remind_client
    from integrations.dropbox_sign import request_key

    svc, client = make_services(), new_client()
    req = svc.clients.esign.send(key=request_key(client.domain, "contract-1"), title="Service agreement",
                                 subject="s", message="m", file_name="a.html", content=b"<p>Terms</p>",
                                 signers=[(client.contact_person, str(client.email)), ("Lindiwe Dlamini", MANAGER)],
                                 metadata={"client_domain": client.domain})
    now = svc.now()
    record = WaitRecord(name="contract-signatures", what="Contract signatures", step="B2.4", waits_on="client",
                        client=client.company_name, domain=client.domain, asked_at=now, deadline=now + timedelta(days=1),
                        remind_every_seconds=3600, on_timeout="end", link=req.details_url,
                        signature_request_id=req.id)
    resumed = []
    monkeypatch.setattr(sweep_waits, "resume", resumed.append)
    run = SimpleNamespace(id=uuid4(), name="phase 2",  # suspended at the signatures' wait
                          state=SimpleNamespace(state_details=SimpleNamespace(pause_key="contract-signatures-0")))

    assert sweep_waits.sweep_one(svc, run, record, now) == "waiting" and not resumed
    remind_client(svc, record, 1)  # what the sweep sends when reminder 1 is due
    (reminded,) = [s for s in requests_of(flow_sandbox, client)[0]["signatures"] if s["last_reminded_at"]]
    assert reminded["signer_email_address"] == str(client.email)  # the client's turn, not the manager's
    signers = Signers(flow_sandbox.root, client.domain, {str(client.email): "sign", MANAGER: "sign"})
    with httpx.Client(base_url=flow_sandbox.root) as http:
        assert len(signers.act_once(http) + signers.act_once(http)) == 2  # one turn each, in order
    assert sweep_waits.sweep_one(svc, run, record, now) == "answered" and resumed == [run]
