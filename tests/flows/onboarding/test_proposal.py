"""Phase 2 — proposal and agreement (SOP-B 2.1-2.4): the revision loop, the contract, the rejection."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from flows.onboarding.proposal import proposal_and_agreement
from services import use_services
from sop.outcomes import Outcome
from tests.flows.conftest import contract_signed, lead_for, new_client, running_staff, solution

CHANGES = ["Add a monthly KPI dashboard", "Split payment into 3 instalments"]
ADDED, DROPPED = "Monthly KPI dashboard", "brand messaging guide"  # dropped as staff type it: case does not matter


@pytest.fixture(scope="module")
def revised(make_services):
    """One client through phase 2: staff revise v1 (two changes, a new price), accept v2, both sign."""
    svc, client = make_services(), new_client()
    lead = lead_for(client, svc)
    with running_staff({
        "solution-design": solution(client, "launch"),
        "client-s-answer-to-proposal-v1": {"decision": "revise", "change_notes": "\n".join(CHANGES), "price": 65_000,
                                           "add_deliverables": ADDED, "drop_deliverables": DROPPED},
        "client-s-answer-to-proposal-v2": {"decision": "accept"},
        "contract-signature-confirmation": contract_signed(client),
    }) as team:
        with use_services(svc):
            outcome, agreement = proposal_and_agreement(client, lead)
    return SimpleNamespace(client=client, lead=lead, team=team, outcome=outcome, agreement=agreement)


def test_revise_then_accept_then_sign(revised, view, vendors):
    client, lead, team, outcome, agreement = (revised.client, revised.lead, revised.team, revised.outcome,
                                              revised.agreement)
    assert outcome is None
    assert [k.rsplit("-", 1)[0] for k, _ in team.answered] == [
        "solution-design", "client-s-answer-to-proposal-v1", "client-s-answer-to-proposal-v2",
        "contract-signature-confirmation"]
    assert (agreement.package_key, agreement.proposal_version) == ("launch", 2)
    v = view(client)
    folders = {k: v.file(k)["id"] for k in ("root", "Proposals", "Contracts", "Meeting notes", "Deliverables")}
    assert all(v.file(k)["parents"] == [folders["root"]] for k in ("Proposals", "Contracts", "Meeting notes"))

    # B2.2 / B2.3: two proposal Docs in Proposals, v2 with the changes and the new price; both shared
    v1, v2 = v.file("proposal-v1"), v.file("proposal-v2")
    assert v1["parents"] == v2["parents"] == [folders["Proposals"]]
    assert v1["name"].startswith("Proposal v1") and v2["name"].startswith("Proposal v2")
    assert agreement.proposal_file_id == v2["id"]
    text1, text2 = vendors.drive.export_text(v1["id"]), vendors.drive.export_text(v2["id"])
    assert "Version 1" in text1 and "60,000" in text1 and CHANGES[0] not in text1
    assert "Version 2" in text2 and "65,000" in text2 and all(c in text2 for c in CHANGES)
    for doc in (v1, v2):
        assert str(client.email) in {p.get("emailAddress") for p in v.permissions(doc["id"])}

    # every version and the revision noted on the deal
    notes = {k: v.note(k)["properties"]["hs_note_body"] for k in ("proposal-v1", "revision-1", "proposal-v2")}
    assert v1["webViewLink"] in notes["proposal-v1"] and v2["webViewLink"] in notes["proposal-v2"]
    assert all(c in notes["revision-1"] for c in CHANGES) and all(c in notes["proposal-v2"] for c in CHANGES)
    for key in ("proposal-v1", "revision-1", "proposal-v2", "contract-signed"):
        assert v.associated("notes", v.note(key)["id"], "deals") == {lead.deal_id}, key

    # an email for each version, with its link
    mails = {m.message_id: m for m in v.emails(to=str(client.email))}
    assert v1["webViewLink"] in mails[f"<proposal-v1@{client.domain}>"].html
    assert v2["webViewLink"] in mails[f"<proposal-v2@{client.domain}>"].html

    # B2.4: the contract in Contracts, emailed; the signed copy stored; the deal closed-won
    contract, signed = v.file("contract"), v.file("contract-signed")
    assert contract["parents"] == signed["parents"] == [folders["Contracts"]]
    assert (agreement.contract_file_id, agreement.signed_file_id) == (contract["id"], signed["id"])
    assert contract["webViewLink"] in mails[f"<contract@{client.domain}>"].html
    signed_text = vendors.drive.export_text(signed["id"])
    assert client.contact_person in signed_text and f"https://esign.example/{client.domain}.pdf" in signed_text
    assert "Lindiwe Dlamini" in v.note("contract-signed")["properties"]["hs_note_body"]
    assert v.stage_label(v.deal()) == "Closed won"
    assert v.company()["properties"]["service_package"] == "launch"


def test_the_accepted_revised_price_is_contracted(revised, vendors, view):
    contract = view(revised.client).file("contract")
    assert "65,000" in vendors.drive.export_text(contract["id"])
    assert revised.agreement.price == 65_000


def test_negotiated_deliverables_reach_the_next_version_the_contract_and_the_plan(revised, vendors, view):
    import yaml

    from services.settings import Settings
    from sop.plan import expand_plan

    v = view(revised.client)
    agreed = ["Market positioning report", "90-day marketing plan", ADDED]
    assert revised.agreement.deliverables == agreed
    v1, v2, contract = (vendors.drive.export_text(v.file(k)["id"]) for k in ("proposal-v1", "proposal-v2", "contract"))
    assert "Brand messaging guide" in v1 and ADDED not in v1
    assert "Brand messaging guide" not in v2 and ADDED in v2 and f"Deliverable added: {ADDED}" in v2
    assert "Brand messaging guide" not in contract and all(d in contract for d in agreed)
    # the project plan of phase 3 gets one task per agreed deliverable
    settings = Settings()
    template = yaml.safe_load((settings.templates_dir / "project_plan.yaml").read_text())
    plan = expand_plan(template, settings.rules.package("launch"), revised.agreement.signed_on,
                       revised.agreement.deliverables)
    assert [t.name for t in plan if t.notes.startswith("Deliverable")] == agreed


def test_a_dropped_deliverable_the_proposal_lacks_is_asked_again_with_the_list():
    from pydantic import ValidationError

    from flows.people.approvals import negotiation_form

    form = negotiation_form(["Market positioning report", "90-day marketing plan"])
    with pytest.raises(ValidationError, match="Brand guide: not a deliverable of this proposal; it has Market"):
        form.model_validate({"decision": "revise", "drop_deliverables": "Brand guide"})
    assert form.model_validate({"decision": "revise", "add_deliverables": "KPI dashboard"}).added() == ["KPI dashboard"]


def test_rejected_proposal_closes_the_deal(svc, staff, view):
    client = new_client()
    lead = lead_for(client, svc)
    staff({"solution-design": solution(client, "launch"),
           "client-s-answer-to-proposal-v1": {"decision": "reject"}})

    outcome, agreement = proposal_and_agreement(client, lead)

    assert outcome is Outcome.PROPOSAL_REJECTED and agreement is None
    v = view(client)
    assert v.stage_label(v.deal()) == "Closed lost"
    assert v.company()["properties"]["onboarding_status"] == "proposal_rejected"
    assert "proposal_rejected" in v.note("proposal-end")["properties"]["hs_note_body"]
    kinds = {f["appProperties"]["kind"] for f in v.files()}
    assert "proposal-v1" in kinds and not kinds & {"proposal-v2", "contract", "contract-signed"}
    assert f"<contract@{client.domain}>" not in {m.message_id for m in v.emails()}
