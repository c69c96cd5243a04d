"""SOP-B (Finance: billing and invoicing): the package's billing schedule as HubSpot invoices.

Each invoice of the schedule (``sop/billing.py``: the deposit at account setup, B3.1; then each month or
milestone, the engagement's ``invoice:<n>`` actions) is drafted in HubSpot, keyed ``<domain>:invoice:<n>``
so a re-run finds it, with its own copies of the deal's line items as they are at that moment (a
retention discount accepted before shows on it), for the share of the price it bills. Finance approves
it in a run of its own, so neither the new-client run nor the daily sweep waits on a person: from a
deployment's run, a run of the ``invoice-approval`` deployment (it suspends while it waits); from flows
called directly (the demo, the tests), a thread of this process. Approved, the invoice is issued (HubSpot
status ``open``) and noted on the CRM; on hold it stays a draft, noted with the reason. Issuing checks the
status first, so a retried or repeated approval never issues twice.
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from prefect import flow, get_run_logger

import services
from flows.engagement.channels import local_at
from flows.engagement.own_run import start_own_run
from flows.engagement.record import DONE, SKIPPED, ClientRecord, billing_plan, load_record
from flows.people.approvals import InvoiceApproval
from flows.people.waits import ask_staff, escalate
from integrations.hubspot import INVOICE_BILLED_PROPERTY, Record
from services import Services
from sop.billing import InvoicePart, deposit, invoice_parts, rebased
from sop.profile import Role
from sop.rules import ServicePackage
from tasks import hubspot

DEPLOYMENT = "invoice-approval/invoice-approval"


def invoice_key(domain: str, number: int) -> str:
    return f"{domain}:invoice:{number}"


def draft_invoice(svc: Services, domain: str, ids: dict[str, str], package: ServicePackage, part: InvoicePart,
                  on: date) -> Record | None:
    """Invoice ``part`` in draft (found if it exists): the deal's line items as they are now, each for the
    part's share of its price (from where the invoice before ended), with its discount; then Finance is asked
    in a run of its own. None when the deal has no line items or nothing is left to bill."""
    hub = svc.clients.hubspot
    items = hubspot.deal_line_items(hub, ids["deals"])
    if not items:
        return None
    if part.n:  # on from where the invoice before ended: the schedule may have changed since (A4.3)
        part = rebased(part, billed_through(hubspot.find_invoice(hub, invoice_key(domain, part.n - 1))))
    if part.end <= part.start:
        return None  # billed in full already (the term was shortened)
    lines = []
    for item in items:
        p = item.properties
        line = {"name": f"{p.get('name')} — {part.label}", "quantity": p.get("quantity") or "1",
                "price": part.amount(float(p.get("price") or 0))}
        if p.get("hs_discount_percentage"):
            line["hs_discount_percentage"] = p["hs_discount_percentage"]
        lines.append(line)
    invoice = hubspot.create_invoice_draft(hub, invoice_key(domain, part.n), svc.rules.currency, ids["contacts"],
                                           ids["companies"], ids["deals"], lines, on,
                                           on + timedelta(days=package.billing.due_days), str(part.end))
    request_approval(svc, domain, part.n)  # issued already: the run only makes sure its note is there
    return invoice


def billed_through(invoice: Record | None) -> Fraction | None:
    """The share of the contract billed through ``invoice`` (None: no invoice, one drafted before it was kept,
    or a value edited by hand into something that is not a fraction of 0 to 1: billed as planned)."""
    value = invoice.properties.get(INVOICE_BILLED_PROPERTY) if invoice else None
    try:
        share = Fraction(value) if value else None
    except (ValueError, ZeroDivisionError):
        return None
    return share if share is not None and 0 <= share <= 1 else None


def draft_deposit(svc: Services, domain: str, ids: dict[str, str], package: ServicePackage) -> Record | None:
    """B3.1: the deposit invoice of the package's schedule (None without a deposit or a line item)."""
    part = deposit(package.billing)
    return draft_invoice(svc, domain, ids, package, part, svc.now().astimezone(svc.profile.tz).date()) if part else None


def request_approval(svc: Services, domain: str, number: int) -> None:
    """Start Finance's approval run for invoice ``number``; never waits for it."""
    start_own_run(DEPLOYMENT, {"client_domain": domain, "number": number}, f"invoice-approval-{domain}-{number}",
                  invoice_approval, on_thread=lambda: services.use_services(svc))


def schedule_of(svc: Services, rec: ClientRecord) -> tuple[ServicePackage, list[InvoicePart]] | None:
    """The client's package and its invoices (None before the package and the plan dates are on the CRM)."""
    plan = billing_plan(svc, rec)
    return (plan[0], invoice_parts(plan[0].billing, plan[1], plan[2])) if plan else None


def run_invoice(svc: Services, rec: ClientRecord, as_of: date, key: str) -> str:
    """The engagement's ``invoice:<n>``: invoice n drafted and Finance asked (in a run of its own)."""
    number = int(key.partition(":")[2])
    schedule = schedule_of(svc, rec)
    part = next((p for p in schedule[1] if p.n == number), None) if schedule else None
    deal = hubspot.find_deal(svc.clients.hubspot, rec.domain)
    if part is None or deal is None or not rec.contact_id:
        get_run_logger().warning("%s: %s has nothing to bill (no package schedule, deal or contact)", rec.domain, key)
        return SKIPPED
    ids = {"companies": rec.id, "contacts": rec.contact_id, "deals": deal.id}
    return DONE if draft_invoice(svc, rec.domain, ids, schedule[0], part, as_of) else SKIPPED


@flow(name="invoice", flow_run_name="invoice {client_domain} {as_of}", log_prints=True)
def invoice(client_domain: str, as_of: date, key: str) -> str:
    """SOP-B Finance: invoice n of the billing schedule drafted and sent for Finance's approval."""
    svc = services.current()
    return run_invoice(svc, load_record(svc, client_domain), as_of, key)


@flow(name="invoice-approval", flow_run_name="invoice-approval {client_domain} #{number}", log_prints=True)
def invoice_approval(client_domain: str, number: int) -> str:
    """SOP-B Finance: Finance approves invoice ``number`` (a typed form in the Prefect UI), then it is issued;
    on hold it stays a draft. Both noted on the CRM. ``issued``, ``held`` or ``missing``."""
    svc = services.current()
    hub = svc.clients.hubspot
    found = hubspot.find_invoice(hub, invoice_key(client_domain, number))
    if found is None:
        return "missing"
    rec = load_record(svc, client_domain)
    deal = hubspot.find_deal(hub, client_domain)
    ids = {**rec.ids(), **({"deals": deal.id} if deal else {})}
    p = found.properties
    amount = f"{p.get('hs_currency')} {float(p.get('hs_amount_billed') or 0):,.2f}"
    today = svc.now().astimezone(svc.profile.tz).date()

    def noted(body: str, what: str) -> None:
        hubspot.add_note(hub, body, local_at(svc, today, svc.engagement_rules.action_time), None, ids,
                         key=f"{client_domain}:invoice-{number}-{what}")

    def issued_note(invoice: Record) -> None:
        noted(f"<b>Invoice {number} issued</b>: {amount}, due {(invoice.properties.get('hs_due_date') or '')[:10]}; "
              f"approved by Finance.", "issued")

    if (p.get("hs_invoice_status") or "draft") != "draft":
        issued_note(found)  # issued already: never twice; its note made if a crash came between the two
        return "issued"
    url = hub.account().record_url("0-53", found.id)
    decision = ask_staff(svc, InvoiceApproval, svc.rules.wait("invoice_approval"), what=f"Invoice approval {number}",
                         approver=svc.person(Role.FINANCE), client_name=rec.client.company_name, domain=client_domain,
                         context={"Invoice": url, "Amount": amount, "Due": (p.get("hs_due_date") or "")[:10]})
    if decision is None:
        escalate(svc, rec.client.company_name, client_domain, f"Finance did not approve invoice {number} in time",
                 "it stays a draft until Finance approves it (run invoice-approval again)")
        noted(f"Invoice {number} ({amount}) not approved in time: it stays a draft.", "timed-out")
        return "held"
    if decision.decision == "hold":
        noted(f"<b>Invoice {number} held by Finance</b> ({amount}): {decision.reason}. It stays a draft.", "held")
        return "held"
    issued_note(hubspot.issue_invoice(hub, found.id))
    get_run_logger().info("%s: invoice %d issued (%s)", client_domain, number, amount)
    return "issued"
