"""Phase 2 — proposal development and agreement (SOP-B 2)."""

from __future__ import annotations

from prefect import flow
from prefect.context import FlowRunContext

from onboard.approvals import ContractSigned, NegotiationDecision, solution_design_form
from onboard.models import NewClient
from onboard.outcomes import Agreement, Lead, Outcome
from onboard.profile import Role
from onboard.rules import ServicePackage
from onboard.runtime import Runtime
from tasks import crm, documents, email

from .steps import concurrently, sop_step
from .waits import ask_staff

MAX_REVISIONS = 5


@flow(name="phase-2-proposal-and-agreement", flow_run_name="phase 2 — {client.company_name}",
      validate_parameters=False)
def proposal_and_agreement(client: NewClient, rt: Runtime, lead: Lead) -> tuple[Outcome | None, Agreement | None]:
    """Solution design, proposal (with revisions), contract and signatures; deal closed-won."""
    if not lead.folder_ids:  # phase 1 made them (discovery notes); a lead from elsewhere may lack them
        folders = documents.ensure_client_folder(rt.clients.drive, client.domain, client.company_name)
        lead = lead.model_copy(update={"folder_ids": {k: f.id for k, f in folders.items()}})
    package, scope, price = design_solution(client, rt, lead)
    outcome, version, proposal_id, price = negotiate(client, rt, lead, package, scope, price)
    if outcome is not None:
        return outcome, None
    return sign_contract(client, rt, lead, package, scope, price, version, proposal_id)


@sop_step("B2.1")
def design_solution(client: NewClient, rt: Runtime, lead: Lead) -> tuple[ServicePackage, str, int]:
    """SOP-B 2.1: the suggested package from the catalogue, confirmed or changed by staff."""
    suggested = rt.rules.suggest_package(client)
    form = solution_design_form(rt.rules)
    answer = ask_staff(rt, form, rt.rules.wait("solution_design"), what="Solution design",
                       approver=rt.person(Role.SALES), client_name=client.company_name, domain=client.domain)
    if answer is None:  # escalation path: the suggestion stands and the account manager is told
        from .contact import escalate

        escalate(client, rt, lead, "no solution design decision", f"proceed with the suggested {suggested.name}")
        package, scope, price = suggested, default_scope(client, suggested), suggested.price
        detail = f"{package.name} (suggested; no staff answer)"
    else:
        package = rt.rules.package(answer.package.value)
        scope, price = answer.scope, answer.price or package.price
        detail = f"{package.name} confirmed by staff" + (f"; consulted {answer.consulted}" if answer.consulted else "")
    crm.update_company(rt.clients.hubspot, lead.company_id, {"service_package": package.key})
    rt.journal.record("B2.1", "Solution designed", detail)
    return package, scope, price


def default_scope(client: NewClient, package: ServicePackage) -> str:
    services = ", ".join(s.value.replace("_", " ") for s in client.requested_services)
    return f"The {package.name} for {client.company_name}, covering {services}."


@sop_step("B2.2")
def present_proposal(client: NewClient, rt: Runtime, lead: Lead, package: ServicePackage, scope: str, price: int,
                     version: int, changes: list[str]) -> str:
    """SOP-B 2.2: render version ``version``, store it in Proposals, share it, email it, move the deal."""
    specialist = rt.person(Role.ONBOARDING_SPECIALIST, lead.specialist_email)
    doc = rt.renderer.render("docs/proposal.html.j2", client=client, package=package, scope=scope, price=price,
                             version=version, changes=changes, currency=rt.rules.currency,
                             start_date=client.start_date, date=rt.now().date().isoformat())
    file = documents.store_document(rt.clients.drive, lead.folder_ids["Proposals"],
                                    f"Proposal v{version} — {client.company_name}", doc.body, client.domain,
                                    f"proposal-v{version}")
    mail = rt.renderer.render("email/proposal.html.j2", client=client, package=package, version=version,
                              doc_url=file.web_view_link, specialist=specialist)

    def share_and_send() -> None:  # shared before the client gets the link
        documents.share_with(rt.clients.drive, file.id, str(client.email))
        email.send_email(rt.clients.gmail, str(client.email), mail, key=f"proposal-v{version}", domain=client.domain,
                         sender=str(specialist.email))

    stage = "proposal" if version == 1 else "negotiation"
    concurrently(
        share_and_send,
        lambda: crm.move_deal(rt.clients.hubspot, lead.deal_id, lead.pipeline_id, lead.stage_ids[stage]),
        lambda: crm.add_note(rt.clients.hubspot, f"Proposal v{version} sent: {file.web_view_link}"
                             + ("<br>Changes: " + "; ".join(changes) if changes else ""),
                             rt.now(), lead.owner_id, lead.ids(), key=f"{client.domain}:proposal-v{version}"))
    rt.journal.record("B2.2", f"Proposal v{version} presented", f"{rt.rules.currency} {price:,}", doc=file.web_view_link)
    return file.id


@sop_step("B2.3")
def negotiate(client: NewClient, rt: Runtime, lead: Lead, package: ServicePackage, scope: str,
              price: int) -> tuple[Outcome | None, int, str, int]:
    """SOP-B 2.3: accept, revise (a new version each time, every change noted) or reject.

    Returns (outcome, final version, its file id, agreed price)."""
    hub, wait = rt.clients.hubspot, rt.rules.wait("negotiation")
    version, changes = 1, []
    while True:
        file_id = present_proposal(client, rt, lead, package, scope, price, version, changes)
        answer = ask_staff(rt, NegotiationDecision, wait, what=f"Client's answer to proposal v{version}",
                           approver=rt.person(Role.SALES), client_name=client.company_name, domain=client.domain)
        if answer is not None and answer.decision == "accept":
            rt.journal.record("B2.3", "Proposal accepted", f"v{version}")
            return None, version, file_id, price
        if answer is None or answer.decision == "reject" or version > MAX_REVISIONS:
            outcome = Outcome.PROPOSAL_EXPIRED if answer is None else Outcome.PROPOSAL_REJECTED
            crm.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["lost"])
            crm.add_note(hub, f"Proposal v{version}: {outcome.value}", rt.now(), lead.owner_id, lead.ids(),
                         key=f"{client.domain}:proposal-end")
            crm.update_company(hub, lead.company_id, {"onboarding_status": outcome.value})
            rt.journal.record("B2.3", "Proposal not accepted", outcome.value, status="done")
            return outcome, version, file_id, price
        changes = [c.strip() for c in answer.change_notes.splitlines() if c.strip()] or ["revised on request"]
        price = answer.price if answer.price is not None else price
        crm.add_note(hub, f"Revision requested for v{version}: " + "; ".join(changes), rt.now(), lead.owner_id,
                     lead.ids(), key=f"{client.domain}:revision-{version}")
        rt.journal.record("B2.3", f"Revision requested on v{version}", "; ".join(changes))
        version += 1


@sop_step("B2.4")
def sign_contract(client: NewClient, rt: Runtime, lead: Lead, package: ServicePackage, scope: str, price: int,
                  version: int, proposal_id: str) -> tuple[Outcome | None, Agreement | None]:
    """SOP-B 2.4: contract with legal terms -> Contracts; wait for both signatures; deal closed-won."""
    hub = rt.clients.hubspot
    specialist = rt.person(Role.ONBOARDING_SPECIALIST, lead.specialist_email)
    today = rt.now().date().isoformat()
    doc = rt.renderer.render("docs/contract.html.j2", client=client, package=package, price=price,
                             proposal_version=version, currency=rt.rules.currency, date=today)
    contract = documents.store_document(rt.clients.drive, lead.folder_ids["Contracts"],
                                        f"Service agreement — {client.company_name}", doc.body, client.domain,
                                        "contract")
    mail = rt.renderer.render("email/contract.html.j2", client=client, doc_url=contract.web_view_link,
                              specialist=specialist)

    def share_and_send() -> None:  # shared before the client gets the link
        documents.share_with(rt.clients.drive, contract.id, str(client.email), role="commenter")
        email.send_email(rt.clients.gmail, str(client.email), mail, key="contract", domain=client.domain,
                         sender=str(specialist.email))

    concurrently(share_and_send,
                 lambda: crm.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["contract"]))
    rt.journal.record("B2.4", "Contract sent for signature", doc=contract.web_view_link)

    signed = wait_for_signatures(client, rt)
    if signed is None:
        crm.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["lost"])
        crm.update_company(hub, lead.company_id, {"onboarding_status": Outcome.CONTRACT_UNSIGNED.value})
        crm.add_note(hub, "Contract not signed in time; deal closed-lost", rt.now(), lead.owner_id, lead.ids(),
                     key=f"{client.domain}:contract-unsigned")
        rt.journal.record("B2.4", "Contract not signed", "deal closed-lost", status="timed_out")
        return Outcome.CONTRACT_UNSIGNED, None
    record = (f"{doc.body}<hr><p>Signed for {client.company_name} by {signed.client_signatory}; for "
              f"{rt.profile.company.name} by {signed.provider_signatory}; on {signed.signed_on}. "
              f"Signed copy: {signed.signed_copy_url}</p>")
    signed_file, *_ = concurrently(
        lambda: documents.store_document(rt.clients.drive, lead.folder_ids["Contracts"],
                                         f"Service agreement — {client.company_name} — SIGNED", record,
                                         client.domain, "contract-signed"),
        lambda: crm.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["won"]),
        lambda: crm.update_company(hub, lead.company_id, {"won_date": signed.signed_on.isoformat()}),  # funnel's "won"
        lambda: crm.add_note(hub, f"Contract signed by {signed.client_signatory} and {signed.provider_signatory} on "
                             f"{signed.signed_on}: {signed.signed_copy_url}", rt.now(), lead.owner_id, lead.ids(),
                             key=f"{client.domain}:contract-signed"))
    rt.journal.record("B2.4", "Contract signed; deal closed-won", f"on {signed.signed_on}", doc=signed_file.web_view_link)
    return None, Agreement(package_key=package.key, scope=scope, price=price, proposal_version=version,
                           proposal_file_id=proposal_id, contract_file_id=contract.id, signed_file_id=signed_file.id,
                           signed_on=signed.signed_on)


def wait_for_signatures(client: NewClient, rt: Runtime) -> ContractSigned | None:
    """Signing can take days: under a deployment the run suspends (no process held, reminders sent
    before it); run directly, it pauses like every other approval."""
    wait = rt.rules.wait("contract_signature")
    ctx = FlowRunContext.get()
    if ctx and ctx.flow_run.deployment_id:
        from prefect.exceptions import FlowPauseTimeout
        from prefect.flow_runs import suspend_flow_run

        from .waits import remind

        remind(rt, rt.person(Role.FINANCE), "Contract signature confirmation", client.company_name,
               client.domain, f"{wait.timeout_hours:g} hours", wait.on_timeout, 0)
        try:
            return suspend_flow_run(wait_for_input=ContractSigned, timeout=round(rt.wait_seconds(wait.timeout_hours)),
                                    key="contract-signature")
        except FlowPauseTimeout:
            return None
    return ask_staff(rt, ContractSigned, wait, what="Contract signature confirmation",
                     approver=rt.person(Role.SALES), client_name=client.company_name, domain=client.domain)
