"""SOP-B, Finance: the billing schedule as HubSpot invoices, drafted, approved by Finance in a run of their
own, issued once; a retention discount granted before an invoice shows on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from app.people import Staff
from flows.engagement.invoices import invoice, invoice_key
from flows.engagement.own_run import THREADS
from flows.engagement.record import load_record, timeline_for
from flows.onboarding.service_setup import create_accounts
from sop.timeline import add_months
from tasks import hubspot
from tests.flows.conftest import agreement_for, lead_for, new_client


@contextmanager
def finance(domain: str, answer: dict[str, Any]) -> Iterator[list[str]]:
    """Finance answering the invoice approvals of this client (other tests' clients may be waiting too):
    the approval runs answered, by name."""
    asked: list[str] = []

    def policy(key: str, run_name: str = ""):
        if key.startswith("invoice-approval") and domain in run_name:
            asked.extend([run_name] if run_name not in asked else [])
            return answer, "test"
        return None

    staff = Staff(policy, say=lambda m: None).start()
    try:
        yield asked
    finally:
        staff.stop()


def wait_for_approvals(domain: str) -> None:
    for thread in [t for t in THREADS if t.name.startswith(f"invoice-approval-{domain}-")]:
        thread.join(timeout=120)
        assert not thread.is_alive(), thread.name


def invoices_of(state: dict, domain: str) -> dict[str, dict]:
    """The client's invoices by key, with their line items."""
    hub = state["hubspot"]
    items = {o["id"]: o["properties"] for o in hub.get("object:line_items", [])}
    out = {}
    for o in hub.get("object:invoices", []):
        key = o["properties"].get("onboarding_invoice_key") or ""
        if key.startswith(f"{domain}:"):
            lines = [items[a["to_id"]] for a in hub.get("assoc", [])
                     if a["from_type"] == "invoices" and a["from_id"] == o["id"] and a["to_type"] == "line_items"]
            out[key] = {**o["properties"], "lines": lines}
    return out


def notes_of(state: dict, domain: str) -> list[str]:
    return [n["properties"]["onboarding_note_key"] for n in state["hubspot"].get("object:notes", [])
            if (n["properties"].get("onboarding_note_key") or "").startswith(f"{domain}:invoice-")]


def test_deposit_approved_and_issued_once_then_the_next_invoice_carries_the_discount(svc, flow_sandbox):
    client = new_client()
    lead = lead_for(client, svc)
    agreement = agreement_for(client, "launch", 60_000)  # 30% deposit, then monthly
    hub, domain = svc.clients.hubspot, client.domain

    # B3.1: the package as the deal's line item, the deposit drafted; Finance approves in a run of its own
    with finance(domain, {"decision": "approve"}) as asked:
        create_accounts(client, svc, lead, agreement)
        wait_for_approvals(domain)
    assert asked == [f"invoice-approval {domain} #0"]
    state = flow_sandbox.state()
    (deposit,) = invoices_of(state, domain).values()
    assert deposit["hs_invoice_status"] == "open" and deposit["hs_currency"] == "ZAR"
    assert [(li["name"], float(li["price"]), float(li["amount"])) for li in deposit["lines"]] == [
        ("Launch Package — deposit (30%)", 18_000, 18_000)]
    assert deposit["hs_due_date"][:10] == (svc.now().astimezone(svc.profile.tz).date() + timedelta(days=30)).isoformat()
    assert notes_of(state, domain) == [f"{domain}:invoice-0-issued"]

    # a second run of the step: the same invoice, not issued again, nobody asked again
    with finance(domain, {"decision": "approve"}) as again:
        create_accounts(client, svc, lead, agreement)
        wait_for_approvals(domain)
    assert again == []
    state = flow_sandbox.state()
    assert list(invoices_of(state, domain)) == [invoice_key(domain, 0)]
    assert notes_of(state, domain) == [f"{domain}:invoice-0-issued"]

    # after kick-off (what phase 3's hand-off writes), invoice 1 is on the engagement timeline a month in
    start = date.today() + timedelta(days=7)
    hubspot.update_company(hub, lead.company_id, {"kickoff_date": (start - timedelta(days=1)).isoformat(),
                                                  "service_start_date": start.isoformat(), "project_weeks": 8})
    rec = load_record(svc, domain)
    (due,) = [a.due for a in timeline_for(svc, rec) if a.key == "invoice:1"]
    assert due == add_months(start, 1)
    # a retention discount accepted before it (flows/engagement/retention.py): on the deal's line items
    assert hubspot.discount_billing(hub, lead.deal_id, 10) == 1
    with finance(domain, {"decision": "hold", "reason": "the PO number is missing"}) as held:
        assert invoice(domain, due, key="invoice:1") == "done"
        wait_for_approvals(domain)
    assert held == [f"invoice-approval {domain} #1"]
    state = flow_sandbox.state()
    found = invoices_of(state, domain)
    assert len(found) == 2 and found[invoice_key(domain, 0)]["hs_invoice_status"] == "open"
    second = found[invoice_key(domain, 1)]
    assert second["hs_invoice_status"] == "draft"  # on hold: stays a draft, noted
    (line,) = second["lines"]
    assert line["name"] == "Launch Package — month 1 of 1" and float(line["price"]) == 42_000
    assert float(line["hs_discount_percentage"]) == 10 and float(line["amount"]) == 37_800  # less the discount
    assert float(hub.get_invoice(hubspot.find_invoice(hub, invoice_key(domain, 1)).id)
                 .properties["hs_amount_billed"]) == 37_800
    assert sorted(notes_of(state, domain)) == [f"{domain}:invoice-0-issued", f"{domain}:invoice-1-held"]
    assert invoice(domain, due, key="invoice:1") == "done"  # the sweep again: found, not drafted twice
    assert len(invoices_of(flow_sandbox.state(), domain)) == 2
    assert [found[invoice_key(domain, n)]["onboarding_billed_through"] for n in (0, 1)] == ["3/10", "1"]

    # an adjustment lengthens the project (A4.3) after the price was billed in full: invoice 2 now falls
    # within the term, and bills nothing (the schedule of 3 months alone would bill 23 % of the price again)
    hubspot.update_company(hub, lead.company_id, {"project_weeks": 13})
    (due2,) = [a.due for a in timeline_for(svc, load_record(svc, domain)) if a.key == "invoice:2"]
    assert invoice(domain, due2, key="invoice:2") == "skipped"
    assert len(invoices_of(flow_sandbox.state(), domain)) == 2


def test_an_invoice_issued_just_before_a_crash_gets_its_note_when_the_approval_runs_again(svc, flow_sandbox):
    """Finance approved, the invoice was issued, then the process died before the CRM note: the approval
    run started again (a re-run of the step starts it for an invoice found issued) asks nobody, issues
    nothing again, and writes the note once."""
    from flows.engagement.invoices import invoice_approval

    client = new_client()
    lead = lead_for(client, svc)
    hub, domain = svc.clients.hubspot, client.domain
    with finance(domain, {"decision": "hold", "reason": "checking the PO"}):
        create_accounts(client, svc, lead, agreement_for(client, "launch", 60_000))
        wait_for_approvals(domain)
    hubspot.issue_invoice(hub, hubspot.find_invoice(hub, invoice_key(domain, 0)).id)  # issued; the note never made
    assert notes_of(flow_sandbox.state(), domain) == [f"{domain}:invoice-0-held"]
    with finance(domain, {"decision": "approve"}) as asked:
        assert invoice_approval(domain, 0) == "issued"
        assert invoice_approval(domain, 0) == "issued"
    assert asked == []
    state = flow_sandbox.state()
    assert sorted(notes_of(state, domain)) == [f"{domain}:invoice-0-held", f"{domain}:invoice-0-issued"]
    assert [i["hs_invoice_status"] for i in invoices_of(state, domain).values()] == ["open"]


def test_a_billed_share_edited_by_hand_into_nonsense_is_read_as_planned():
    from flows.engagement.invoices import billed_through
    from integrations.hubspot import INVOICE_BILLED_PROPERTY, Record

    def share(value):
        return billed_through(Record("1", "invoices", {INVOICE_BILLED_PROPERTY: value}))

    assert [share("13/20"), share("1"), share(None)] == [Fraction(13, 20), 1, None]
    assert [share("abc"), share("1/0"), share("3/2"), share("-1/5")] == [None] * 4
    assert billed_through(None) is None
