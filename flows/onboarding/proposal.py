"""Phase 2 — proposal development and agreement (SOP-B 2)."""

from __future__ import annotations

from prefect import flow

from flows.journal import record
from flows.onboarding.phase import phase_of
from flows.people.approvals import ContractSigned, negotiation_form, solution_design_form
from flows.people.waits import ask_staff, escalate
from flows.steps import concurrently, sop_step
from services import Services
from sop.client import NewClient
from sop.outcomes import Agreement, Lead, Outcome
from sop.profile import Role
from sop.rules import ServicePackage
from tasks import drive, gmail, hubspot

MAX_REVISIONS = 5


@flow(name="phase-2-proposal-and-agreement", flow_run_name="phase 2 — {client.company_name}")
def proposal_and_agreement(client: NewClient, lead: Lead) -> tuple[Outcome | None, Agreement | None]:
    """Solution design, proposal (with revisions), contract and signatures; deal closed-won."""
    with phase_of(client, "2 — proposal and agreement") as svc:
        return agree(client, svc, lead)


def agree(client: NewClient, svc: Services, lead: Lead) -> tuple[Outcome | None, Agreement | None]:
    if not lead.folder_ids:  # phase 1 made them (discovery notes); a lead from elsewhere may lack them
        folders = drive.ensure_client_folder(svc.clients.drive, client.domain, client.company_name)
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
    file = drive.store_document(svc.clients.drive, lead.folder_ids["Proposals"],
                                    f"Proposal v{version} — {client.company_name}", doc.body, client.domain,
                                    f"proposal-v{version}")
    mail = svc.renderer.render("email/proposal.html.j2", client=client, package=package, version=version,
                              doc_url=file.web_view_link, specialist=specialist)

    def share_and_send() -> None:  # shared before the client gets the link
        drive.share_with(svc.clients.drive, file.id, str(client.email))
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
    """SOP-B 2.4: contract with legal terms -> Contracts; wait for both signatures; deal closed-won."""
    hub = svc.clients.hubspot
    specialist = svc.person(Role.ONBOARDING_SPECIALIST, lead.specialist_email)
    today = svc.now().date().isoformat()
    doc = svc.renderer.render("docs/contract.html.j2", client=client, package=package, price=price,
                             proposal_version=version, currency=svc.rules.currency, date=today,
                             deliverables=deliverables)
    contract = drive.store_document(svc.clients.drive, lead.folder_ids["Contracts"],
                                        f"Service agreement — {client.company_name}", doc.body, client.domain,
                                        "contract")
    mail = svc.renderer.render("email/contract.html.j2", client=client, doc_url=contract.web_view_link,
                              specialist=specialist)

    def share_and_send() -> None:  # shared before the client gets the link
        drive.share_with(svc.clients.drive, contract.id, str(client.email), role="commenter")
        gmail.send_email(svc.clients.gmail, str(client.email), mail, key="contract", domain=client.domain,
                         sender=str(specialist.email))

    concurrently(share_and_send,
                 lambda: hubspot.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["contract"]))
    record("B2.4", "Contract sent for signature", doc=contract.web_view_link)

    signed = wait_for_signatures(client, svc)
    if signed is None:
        hubspot.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["lost"])
        hubspot.update_company(hub, lead.company_id, {"onboarding_status": Outcome.CONTRACT_UNSIGNED.value})
        hubspot.add_note(hub, "Contract not signed in time; deal closed-lost", svc.now(), lead.owner_id, lead.ids(),
                     key=f"{client.domain}:contract-unsigned")
        record("B2.4", "Contract not signed", "deal closed-lost", status="timed_out")
        return Outcome.CONTRACT_UNSIGNED, None
    signed_text = (f"{doc.body}<hr><p>Signed for {client.company_name} by {signed.client_signatory}; for "
              f"{svc.profile.company.name} by {signed.provider_signatory}; on {signed.signed_on}. "
              f"Signed copy: {signed.signed_copy_url}</p>")
    signed_file, *_ = concurrently(
        lambda: drive.store_document(svc.clients.drive, lead.folder_ids["Contracts"],
                                         f"Service agreement — {client.company_name} — SIGNED", signed_text,
                                         client.domain, "contract-signed"),
        lambda: hubspot.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["won"]),
        lambda: hubspot.update_company(hub, lead.company_id, {"won_date": signed.signed_on.isoformat()}),  # funnel's "won"
        lambda: hubspot.add_note(hub, f"Contract signed by {signed.client_signatory} and {signed.provider_signatory} on "
                             f"{signed.signed_on}: {signed.signed_copy_url}", svc.now(), lead.owner_id, lead.ids(),
                             key=f"{client.domain}:contract-signed"))
    record("B2.4", "Contract signed; deal closed-won", f"on {signed.signed_on}", doc=signed_file.web_view_link)
    return None, Agreement(package_key=package.key, scope=scope, price=price, deliverables=deliverables,
                           proposal_version=version,
                           proposal_file_id=proposal_id, contract_file_id=contract.id, signed_file_id=signed_file.id,
                           signed_on=signed.signed_on)


def wait_for_signatures(client: NewClient, svc: Services) -> ContractSigned | None:
    """Signing can take days: the run waits like every other approval (suspended under a deployment)."""
    return ask_staff(svc, ContractSigned, svc.rules.wait("contract_signature"), what="Contract signature confirmation",
                     approver=svc.person(Role.SALES), client_name=client.company_name, domain=client.domain,
                     context={"Client signatory": f"{client.contact_person}, {client.contact_title}"})
