"""Phase 2 — proposal development and agreement (SOP-B 2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from prefect import flow

from flows.journal import record
from flows.onboarding.phase import phase_of
from flows.people.approvals import ContractSigned, SignatureDeclined, negotiation_form, solution_design_form
from flows.people.waits import ask_staff, escalate, wait_for_client
from flows.steps import concurrently, sop_step
from integrations import dropbox_sign
from services import Services
from sop.client import NewClient
from sop.outcomes import Agreement, Lead, Outcome
from sop.profile import Person, Role
from sop.rules import ServicePackage
from tasks import esign, gmail, hubspot, storage

MAX_REVISIONS = 5


@flow(name="phase-2-proposal-and-agreement", flow_run_name="phase 2 — {client.company_name}")
def proposal_and_agreement(client: NewClient, lead: Lead) -> tuple[Outcome | None, Agreement | None]:
    """Solution design, proposal (with revisions), contract and signatures; deal closed-won."""
    with phase_of(client, "2 — proposal and agreement") as svc:
        return agree(client, svc, lead)


def agree(client: NewClient, svc: Services, lead: Lead) -> tuple[Outcome | None, Agreement | None]:
    if not lead.folder_ids:  # phase 1 made them (discovery notes); a lead from elsewhere may lack them
        folders = storage.ensure_client_folder(svc.clients.documents, client.domain, client.company_name)
        lead = lead.model_copy(update={"folder_ids": {k: f.id for k, f in folders.items()}})
    package, scope, price = design_solution(client, svc, lead)
    outcome, version, proposal_id, price, deliverables = negotiate(client, svc, lead, package, scope, price)
    if outcome is not None:
        return outcome, None
    return sign_contract(client, svc, lead, package, scope, price, version, proposal_id, deliverables)


@sop_step("B2.1")
def design_solution(client: NewClient, svc: Services, lead: Lead) -> tuple[ServicePackage, str, int]:
    """SOP-B 2.1: the suggested package from the catalogue, confirmed or changed by staff."""
    suggested = svc.rules.suggest_package(client)
    form = solution_design_form(svc.rules)
    answer = ask_staff(svc, form, svc.rules.wait("solution_design"), what="Solution design",
                       approver=svc.person(Role.SALES), client_name=client.company_name, domain=client.domain,
                       initial={"package": form.model_fields["package"].annotation[suggested.key]},
                       context={"Suggested package": f"{suggested.name} ({svc.rules.currency} {suggested.price:,})",
                                "Requested services": ", ".join(s.value.replace("_", " ")
                                                                for s in client.requested_services),
                                "Budget": f"{svc.rules.currency} {client.budget:,}",
                                "Timeline": f"{client.timeline_weeks} weeks",
                                "Discovery call notes": "in HubSpot and the client's Drive folder"})
    if answer is None:  # escalation path: the suggestion stands and the account manager is told
        escalate(svc, client.company_name, client.domain, "no solution design decision",
                 f"proceed with the suggested {suggested.name}")
        package, scope, price = suggested, default_scope(client, suggested), suggested.price
        detail = f"{package.name} (suggested; no staff answer)"
    else:
        package = svc.rules.package(answer.package.name)
        scope, price = answer.scope, answer.price or package.price
        detail = f"{package.name} confirmed by staff" + (f"; consulted {answer.consulted}" if answer.consulted else "")
    hubspot.update_company(svc.clients.hubspot, lead.company_id, {"service_package": package.key})
    record("B2.1", "Solution designed", detail)
    return package, scope, price


def default_scope(client: NewClient, package: ServicePackage) -> str:
    wanted = ", ".join(s.value.replace("_", " ") for s in client.requested_services)
    return f"The {package.name} for {client.company_name}, covering {wanted}."


@sop_step("B2.2")
def present_proposal(client: NewClient, svc: Services, lead: Lead, package: ServicePackage, scope: str, price: int,
                     version: int, changes: list[str], deliverables: list[str]) -> str:
    """SOP-B 2.2: render version ``version``, store it in Proposals, share it, email it, move the deal."""
    specialist = svc.person(Role.ONBOARDING_SPECIALIST, lead.specialist_email)
    doc = svc.renderer.render("docs/proposal.html.j2", client=client, package=package, scope=scope, price=price,
                             version=version, changes=changes, currency=svc.rules.currency, deliverables=deliverables,
                             start_date=client.start_date, date=svc.now().date().isoformat())
    file = storage.store_document(svc.clients.documents, lead.folder_ids["Proposals"],
                                    f"Proposal v{version} — {client.company_name}", doc.body, client.domain,
                                    f"proposal-v{version}")
    mail = svc.renderer.render("email/proposal.html.j2", client=client, package=package, version=version,
                              doc_url=file.web_view_link, specialist=specialist)

    def share_and_send() -> None:  # shared before the client gets the link
        storage.share_with(svc.clients.documents, file.id, str(client.email))
        gmail.send_email(svc.clients.gmail, str(client.email), mail, key=f"proposal-v{version}", domain=client.domain,
                         sender=str(specialist.email))

    stage = "proposal" if version == 1 else "negotiation"
    concurrently(
        share_and_send,
        lambda: hubspot.move_deal(svc.clients.hubspot, lead.deal_id, lead.pipeline_id, lead.stage_ids[stage]),
        lambda: hubspot.add_note(svc.clients.hubspot, f"Proposal v{version} sent: {file.web_view_link}"
                             + ("<br>Changes: " + "; ".join(changes) if changes else ""),
                             svc.now(), lead.owner_id, lead.ids(), key=f"{client.domain}:proposal-v{version}"))
    record("B2.2", f"Proposal v{version} presented", f"{svc.rules.currency} {price:,}", doc=file.web_view_link)
    return file


@sop_step("B2.3")
def negotiate(client: NewClient, svc: Services, lead: Lead, package: ServicePackage, scope: str,
              price: int) -> tuple[Outcome | None, int, str, int, list[str]]:
    """SOP-B 2.3: accept, revise (a new version each time, every change noted) or reject. Deliverables
    added or dropped in a revision are the next version's, then the contract's and the project plan's.

    Returns (outcome, final version, its file id, agreed price, agreed deliverables)."""
    hub, wait = svc.clients.hubspot, svc.rules.wait("negotiation")
    version, changes, deliverables = 1, [], list(package.deliverables)
    while True:
        file = present_proposal(client, svc, lead, package, scope, price, version, changes, deliverables)
        file_id = file.id
        answer = ask_staff(svc, negotiation_form(deliverables), wait, what=f"Client's answer to proposal v{version}",
                           approver=svc.person(Role.SALES), client_name=client.company_name, domain=client.domain,
                           context={f"Proposal v{version}": file.web_view_link, "Package": package.name,
                                    "Price": f"{svc.rules.currency} {price:,}",
                                    "Deliverables": "; ".join(deliverables),
                                    "Changes in this version": "; ".join(changes) or "none (the first version)"})
        if answer is not None and answer.decision == "accept":
            record("B2.3", "Proposal accepted", f"v{version}")
            return None, version, file_id, price, deliverables
        if answer is None or answer.decision == "reject" or version > MAX_REVISIONS:
            outcome = Outcome.PROPOSAL_EXPIRED if answer is None else Outcome.PROPOSAL_REJECTED
            hubspot.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["lost"])
            hubspot.add_note(hub, f"Proposal v{version}: {outcome.value}", svc.now(), lead.owner_id, lead.ids(),
                         key=f"{client.domain}:proposal-end")
            hubspot.update_company(hub, lead.company_id, {"onboarding_status": outcome.value})
            record("B2.3", "Proposal not accepted", outcome.value, status="done")
            return outcome, version, file_id, price, deliverables
        dropped = {d.casefold() for d in answer.dropped()}
        deliverables = [d for d in deliverables if d.casefold() not in dropped]
        deliverables += [d for d in answer.added() if d.casefold() not in {x.casefold() for x in deliverables}]
        changes = ([c.strip() for c in answer.change_notes.splitlines() if c.strip()]
                   + [f"Deliverable added: {d}" for d in answer.added()]
                   + [f"Deliverable dropped: {d}" for d in answer.dropped()]) or ["revised on request"]
        price = answer.price or price
        hubspot.add_note(hub, f"Revision requested for v{version}: " + "; ".join(changes), svc.now(), lead.owner_id,
                     lead.ids(), key=f"{client.domain}:revision-{version}")
        record("B2.3", f"Revision requested on v{version}", "; ".join(changes))
        version += 1


@sop_step("B2.4")
def sign_contract(client: NewClient, svc: Services, lead: Lead, package: ServicePackage, scope: str, price: int,
                  version: int, proposal_id: str, deliverables: list[str]) -> tuple[Outcome | None, Agreement | None]:
    """SOP-B 2.4: contract with legal terms -> Contracts; both signatures (Dropbox Sign, or staff confirm
    them: ``esign`` in config/onboarding.yaml); the signed copy stored; deal closed-won."""
    hub = svc.clients.hubspot
    specialist = svc.person(Role.ONBOARDING_SPECIALIST, lead.specialist_email)
    today = svc.now().date().isoformat()
    doc = svc.renderer.render("docs/contract.html.j2", client=client, package=package, price=price,
                             proposal_version=version, currency=svc.rules.currency, date=today,
                             deliverables=deliverables)
    contract = storage.store_document(svc.clients.documents, lead.folder_ids["Contracts"],
                                        f"Service agreement — {client.company_name}", doc.body, client.domain,
                                        "contract")
    if svc.rules.esign == "dropbox_sign":
        hubspot.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["contract"])
        signed = sign_electronically(client, svc, lead, doc.body)
    else:
        mail = svc.renderer.render("email/contract.html.j2", client=client, doc_url=contract.web_view_link,
                                  specialist=specialist)

        def share_and_send() -> None:  # shared before the client gets the link
            storage.share_with(svc.clients.documents, contract.id, str(client.email), role="commenter")
            gmail.send_email(svc.clients.gmail, str(client.email), mail, key="contract", domain=client.domain,
                             sender=str(specialist.email))

        concurrently(share_and_send,
                     lambda: hubspot.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["contract"]))
        record("B2.4", "Contract sent for signature", doc=contract.web_view_link)
        answer = wait_for_signatures(client, svc)
        signed = None if answer is None else confirmed(answer, "staff_confirmation")

    if signed is None or signed.via == "declined":
        declined = signed is not None
        what = "Contract declined" if declined else "Contract not signed in time"
        hubspot.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["lost"])
        hubspot.update_company(hub, lead.company_id, {"onboarding_status": Outcome.CONTRACT_UNSIGNED.value})
        hubspot.add_note(hub, f"{what}; deal closed-lost" + (f": {signed.detail}" if declined and signed.detail else ""),
                         svc.now(), lead.owner_id, lead.ids(), key=f"{client.domain}:contract-unsigned")
        record("B2.4", "Contract not signed", f"{what.lower()}; deal closed-lost",
               status="done" if declined else "timed_out")
        return Outcome.CONTRACT_UNSIGNED, None
    if signed.pdf is not None:  # Dropbox Sign's signed PDF, its audit trail merged in
        store = lambda: storage.store_file(svc.clients.documents, lead.folder_ids["Contracts"],
                                         f"Service agreement — {client.company_name} — SIGNED.pdf", signed.pdf,
                                         "application/pdf", client.domain, "contract-signed")
    else:
        signed_text = (f"{doc.body}<hr><p>Signed for {client.company_name} by {signed.client_signatory}; for "
                       f"{svc.profile.company.name} by {signed.provider_signatory}; on {signed.signed_on}"
                       f"{' (on paper)' if signed.via == 'paper' else ''}. Signed copy: {signed.detail}</p>")
        store = lambda: storage.store_document(svc.clients.documents, lead.folder_ids["Contracts"],
                                             f"Service agreement — {client.company_name} — SIGNED", signed_text,
                                             client.domain, "contract-signed")
    signed_file = store()
    how = {"dropbox_sign": f"through Dropbox Sign (request {signed.detail})", "paper": "on paper",
           "staff_confirmation": "as confirmed by staff"}[signed.via]
    link = signed.detail if signed.via != "dropbox_sign" else ""
    concurrently(
        lambda: hubspot.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["won"]),
        lambda: hubspot.update_company(hub, lead.company_id, {"won_date": signed.signed_on.isoformat(),  # funnel's "won"
                                                              "contract_signed_via": signed.via}),
        lambda: hubspot.add_note(hub, f"Contract signed by {signed.client_signatory} and {signed.provider_signatory} on "
                                 f"{signed.signed_on} {how}. Signed copy"
                                 f"{' with the audit trail' if signed.pdf is not None else ''}: "
                                 f"{signed_file.web_view_link}" + (f" (original: {link})" if link else ""),
                                 svc.now(), lead.owner_id, lead.ids(), key=f"{client.domain}:contract-signed"))
    record("B2.4", "Contract signed; deal closed-won", f"on {signed.signed_on} {how}", doc=signed_file.web_view_link)
    return None, Agreement(package_key=package.key, scope=scope, price=price, deliverables=deliverables,
                           proposal_version=version,
                           proposal_file_id=proposal_id, contract_file_id=contract.id, signed_file_id=signed_file.id,
                           signed_on=signed.signed_on)


@dataclass(frozen=True)
class Signed:
    """Both signatures, however they were given (``via``: dropbox_sign | paper | staff_confirmation), or a
    decline (``via`` = "declined"). ``detail``: the request id, the link to the copy, or the reason."""

    via: str
    client_signatory: str = ""
    provider_signatory: str = ""
    signed_on: date | None = None
    detail: str = ""
    pdf: bytes | None = None


def confirmed(answer: ContractSigned, via: str) -> Signed:
    return Signed(via, answer.client_signatory, answer.provider_signatory, answer.signed_on,
                  str(answer.signed_copy_url))


def wait_for_signatures(client: NewClient, svc: Services, what: str = "Contract signature confirmation"
                        ) -> ContractSigned | None:
    """Signing can take days: the run waits like every other approval (suspended under a deployment)."""
    return ask_staff(svc, ContractSigned, svc.rules.wait("contract_signature"), what=what,
                     approver=svc.person(Role.SALES), client_name=client.company_name, domain=client.domain,
                     context={"Client signatory": f"{client.contact_person}, {client.contact_title}"})


MAX_SIGNATURE_REQUESTS = 3


def approving_manager(svc: Services) -> Person:
    """The approving manager of config/company.yaml as a team member (their email signs for us)."""
    name = svc.profile.approving_manager.name
    found = next((p for p in svc.profile.everyone() if p.name == name), None)
    if found is None:
        raise ValueError(f"approving_manager {name!r} of the company profile is not in its team: Dropbox Sign needs "
                         "their email address; add them to a role of the team")
    return found


def sign_electronically(client: NewClient, svc: Services, lead: Lead, contract_html: str) -> Signed | None:
    """B2.4 on Dropbox Sign: one signature request (the client contact signs, then the approving manager),
    found again before it is ever sent twice; the run waits for it like for a client's form (the waits
    sweep polls it while the run is suspended; reminders are Dropbox Sign's). None when it ran out (the
    wait's on_timeout; the request is cancelled); a decline follows ``on_signature_declined``."""
    if svc.clients.esign is None:
        raise ValueError("esign: dropbox_sign needs the Dropbox Sign client: set ONBOARD_DROPBOX_SIGN_API_KEY "
                         "(or the Prefect Secret block 'onboard-dropbox-sign-api-key')")
    hub, ds = svc.clients.hubspot, svc.clients.esign
    manager = approving_manager(svc)
    wait = svc.rules.wait("contract_signature")
    for attempt in range(1, MAX_SIGNATURE_REQUESTS + 1):
        key = dropbox_sign.request_key(client.domain, f"contract-{attempt}")
        expires = svc.now() + timedelta(seconds=svc.wait_seconds(wait.timeout_hours))
        expires = min(max(expires, svc.now() + timedelta(days=1, hours=1)), svc.now() + timedelta(days=89))
        request = esign.send_for_signature(
            ds, key=key, recorded_id=hubspot.read_company(hub, lead.company_id).get("esign_request_id"),
            title=f"Service agreement — {client.company_name}", subject=f"Please sign: service agreement with "
            f"{svc.profile.company.name}", message=f"Dear {client.contact_person}, please review and sign our service "
            f"agreement. {manager.name} signs for {svc.profile.company.name} after you.",
            file_name="service-agreement.html", content=contract_html.encode("utf-8"),
            signers=[(client.contact_person, str(client.email)), (manager.name, str(manager.email))],
            metadata={"client_domain": client.domain}, expires_at=expires)
        esign.record_request(hub, lead.company_id, request.id)
        record("B2.4", "Contract sent for signature (Dropbox Sign)",
               f"{client.contact_person} signs, then {manager.name}; request {request.id}", doc=request.details_url)
        what = "Contract signatures" + (f" (request {attempt})" if attempt > 1 else "")
        done = wait_for_client(svc, lambda r=request: esign.settled(ds, r.id), wait, what,
                               client_name=client.company_name, domain=client.domain, link=request.details_url,
                               signature_request_id=request.id)
        if done is None or done.state == "expired":  # the wait's on_timeout: nobody signs it any more
            esign.cancel_request(ds, request.id)
            return None
        if done.state == "complete":
            signed_at = done.completed_at() or svc.now()
            return Signed("dropbox_sign", client.contact_person, manager.name,
                          signed_at.astimezone(svc.profile.tz).date(), request.id, ds.signed_pdf(request.id))
        by = done.declined_by()
        reason = (f"declined by {by.name} <{by.email}>" + (f": {by.decline_reason}" if by.decline_reason else "")
                  if by else "the signature request was cancelled")
        hubspot.add_note(hub, f"Dropbox Sign request {request.id} {reason}", svc.now(), lead.owner_id, lead.ids(),
                         key=f"{client.domain}:contract-declined-{attempt}")
        record("B2.4", "Contract not signed in Dropbox Sign", reason)
        if svc.rules.on_signature_declined == "lost":
            return Signed("declined", detail=reason)
        answer = ask_staff(svc, SignatureDeclined, svc.rules.approvals.get("signature_declined", wait),
                           what=f"Contract declined ({attempt})", approver=svc.person(Role.SALES),
                           client_name=client.company_name, domain=client.domain,
                           context={"What happened": reason, "Signature request": request.details_url})
        if answer is not None and answer.decision == "signed_on_paper":
            paper = wait_for_signatures(client, svc, what="Contract signed on paper")
            return None if paper is None else confirmed(paper, "paper")
        if answer is None or answer.decision == "lost" or attempt == MAX_SIGNATURE_REQUESTS:
            return Signed("declined", detail=reason + (f" ({answer.note})" if answer and answer.note else ""))
    return None
