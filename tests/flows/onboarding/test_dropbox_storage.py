"""Phase 2 with ``storage: dropbox`` and ``esign: dropbox_sign``: the client's Dropbox folder holds the proposal,
the contract (PDFs rendered from the templates) and the signed PDF from Dropbox Sign, each with a view-only
shared link; a second run of the phase writes nothing new."""

from __future__ import annotations

import httpx
import pytest

from flows.onboarding.proposal import proposal_and_agreement
from services import Services, use_services
from services.clients import sandbox_clients
from services.settings import Settings
from tasks import storage
from tasks.dropbox import client_root
from tests.flows.conftest import POLL_SECONDS, WAIT_HOUR_SECONDS, lead_for, new_client, running_staff, solution
from tests.flows.onboarding.test_esign import MANAGER, signing

pytestmark = pytest.mark.usefixtures("prefect_api")


@pytest.fixture
def dropbox_services(flow_sandbox) -> Services:
    settings = Settings(sandbox_url=flow_sandbox.root, wait_hour_seconds=WAIT_HOUR_SECONDS, poll_seconds=POLL_SECONDS)
    svc = Services(settings, sandbox_clients(flow_sandbox.root, storage="dropbox"))
    svc.rules = svc.rules.model_copy(update={"esign": "dropbox_sign"})
    return svc


def dropbox_state(sandbox, root: str) -> dict[str, list[dict]]:
    state = httpx.get(f"{sandbox.root}/_sandbox/state", params={"vendor": "dropbox"}).json()["dropbox"]
    inside = lambda p: p.lower().startswith(root.lower() + "/") or p.lower() == root.lower()
    return {"entry": [e for e in state.get("entry", []) if inside(e["path_lower"])],
            "link": [x for x in state.get("link", []) if inside(x["path_lower"])],
            "file_request": [f for f in state.get("file_request", []) if inside(f["destination"])]}


def tag(value) -> str:
    return value.get(".tag") if isinstance(value, dict) else value


def test_the_proposal_contract_and_signed_pdf_live_in_dropbox_and_a_rerun_adds_nothing(dropbox_services,
                                                                                     flow_sandbox):
    svc, client = dropbox_services, new_client()
    assert storage.by_link(svc.clients.documents)
    lead = lead_for(client, svc)
    folders = storage.ensure_client_folder(svc.clients.documents, client.domain, client.company_name)
    lead = lead.model_copy(update={"folder_ids": {k: f.id for k, f in folders.items()}})
    root = client_root(client.domain, client.company_name)
    answers = {"solution-design": solution(client, "launch"), "client-s-answer-to-proposal-v1": {"decision": "accept"}}

    with running_staff(answers), use_services(svc), signing(flow_sandbox, client,
                                                             {str(client.email): "sign", MANAGER: "sign"}):
        outcome, agreement = proposal_and_agreement(client, lead)

    assert outcome is None and agreement is not None
    state = dropbox_state(flow_sandbox, root)
    files = {e["path_display"].removeprefix(root + "/"): e for e in state["entry"] if e[".tag"] == "file"}
    name = client.company_name
    assert set(files) == {f"Proposals/Proposal v1 — {name}.pdf", f"Contracts/Service agreement — {name}.pdf",
                          f"Contracts/Service agreement — {name} — SIGNED.pdf"}
    pdfs = [httpx.get(f"{flow_sandbox.root}/_sandbox/dropbox/files{e['path_display']}").content for e in files.values()]
    assert all(p.startswith(b"%PDF") for p in pdfs)
    assert agreement.signed_file_id == f"{root}/Contracts/Service agreement — {name} — SIGNED.pdf"
    links = {x["path_lower"]: x for x in state["link"]}
    assert {e["path_lower"] for e in files.values()} <= set(links)  # each document has its link
    assert all(tag(x["settings"]["access"]) == "viewer" and tag(x["settings"]["audience"]) == "public"
               for x in links.values())
    before = {k: sorted(str(v) for v in vs) for k, vs in state.items()}

    # a second run of the phase on the same state: nothing new is written, linked or requested
    with running_staff(answers), use_services(svc):
        outcome2, agreement2 = proposal_and_agreement(client, lead)
    assert outcome2 is None and agreement2.signed_file_id == agreement.signed_file_id
    after = {k: sorted(str(v) for v in vs) for k, vs in dropbox_state(flow_sandbox, root).items()}
    assert after == before


def test_a_declined_clients_folder_is_deleted_and_a_report_without_a_folder_lands_in_clients(dropbox_services,
                                                                                          flow_sandbox):
    svc, client = dropbox_services, new_client()
    docs = svc.clients.documents
    folders = storage.ensure_client_folder(docs, client.domain, client.company_name)
    assert set(folders) == {"root", "Proposals", "Contracts", "Meeting notes", "Deliverables", "Uploads"}
    root = folders["root"].id
    assert root == client_root(client.domain, client.company_name)
    assert storage.folder_url(docs, root).startswith("https://www.dropbox.com/home/Clients/")
    storage.trash(docs, root)  # initial_contact's decline, cancel.py's undo
    assert dropbox_state(flow_sandbox, root)["entry"] == []

    report = storage.store_document(docs, None, f"Monthly report — {client.company_name}", "<p>KPIs</p>",
                                    client.domain, "monthly-report-test")
    assert report.id == f"/Clients/Monthly report — {client.company_name}.pdf" and report.web_view_link
