"""Qualification rules, package suggestion, client ids and the project-plan expansion."""

from datetime import date
from itertools import pairwise

import pytest
import yaml

from services.settings import REPO
from sop.client import NewClient
from sop.client_ids import client_id_prefix, next_client_id
from sop.plan import expand_plan
from sop.profile import Role
from sop.rules import RulesError, Verdict, load_rules

RULES = load_rules(REPO / "config" / "onboarding.yaml")
BASE = yaml.safe_load((REPO / "examples" / "client.yaml").read_text())


def client(**changes) -> NewClient:
    return NewClient.model_validate({**BASE, **changes})


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({}, Verdict.QUALIFIED),
        ({"budget": 45000}, Verdict.BORDERLINE),  # within 20% under the 50,000 minimum
        ({"budget": 39999}, Verdict.NOT_QUALIFIED),
        ({"industry": "finance"}, Verdict.BORDERLINE),
        ({"industry": "gambling"}, Verdict.NOT_QUALIFIED),
    ],
)
def test_qualification(changes, verdict):
    assert RULES.qualify(client(**changes)).verdict is verdict


def test_suggested_package_covers_most_requested_services_within_budget():
    assert RULES.suggest_package(client()).key == "launch"  # grow (all 3) costs more than the budget
    assert RULES.suggest_package(client(budget=200000)).key == "grow"


def test_bad_rules_name_file_and_field(tmp_path):
    data = yaml.safe_load((REPO / "config" / "onboarding.yaml").read_text())
    data["qualification"]["minimum_budget"] = -1
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RulesError, match=r"rules.yaml: .*qualification.minimum_budget"):
        load_rules(path)


@pytest.mark.parametrize(("billing", "error"), [
    ({"deposit_percent": 30, "then": "milestones", "milestones": [{"name": "Half", "after_weeks": 4, "percent": 60}]},
     r"service_packages.0.billing: .*add up to 90, not 100"),
    ({"deposit_percent": 30, "then": "quarterly"}, r"service_packages.0.billing.then: "),
    ({"deposit_percent": 30, "then": "milestones", "milestones": []}, r"service_packages.0.billing: .*at least one"),
    ({"deposit_percent": 30, "then": "milestones", "milestones": [{"name": "Late", "after_weeks": 9, "percent": 70}]},
     r"service_packages.0: .*Late fall after the package's 8 weeks"),
])
def test_a_bad_billing_schedule_names_file_and_field(tmp_path, billing, error):
    data = yaml.safe_load((REPO / "config" / "onboarding.yaml").read_text())
    data["service_packages"][0]["billing"] = billing
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RulesError, match=r"rules.yaml: invalid onboarding rules: .*" + error):
        load_rules(path)


def test_billing_schedules_as_invoices_add_up_to_the_price():
    from sop.billing import invoice_parts

    start = date(2026, 1, 31)
    monthly = invoice_parts(RULES.package("operate").billing, start, date(2026, 12, 31))  # 30%, then 11 months
    assert [p.due for p in monthly[:3]] == [None, date(2026, 2, 28), date(2026, 3, 31)]  # clamped, never dragged
    assert len(monthly) == 12 and round(sum(p.amount(95_000.33) for p in monthly), 2) == 95_000.33
    short = invoice_parts(RULES.package("launch").billing, start, date(2026, 2, 20))  # a term under a month
    assert [(p.label, p.due, p.amount(60_000)) for p in short] == [
        ("deposit (30%)", None, 18_000), ("month 1 of 1", date(2026, 2, 20), 42_000)]
    grow = invoice_parts(RULES.package("grow").billing, start, date(2026, 7, 18))
    assert [(p.n, p.due, p.percent) for p in grow] == [(0, None, 20), (1, date(2026, 3, 14), 30),
                                                       (2, date(2026, 4, 25), 25), (3, date(2026, 7, 18), 25)]
    assert "30% invoiced as a deposit" in RULES.package("launch").billing.describe()


@pytest.mark.parametrize("months_after", [7, 3])  # the term lengthened, or shortened
def test_invoices_still_add_up_when_the_term_changes_between_them(months_after):
    """Two months billed of a 4-month term, then an adjustment moves the term's end: the invoices after
    bill on from where the last one ended (each from the schedule as it is then) and add up to the price."""
    from sop.billing import invoice_parts, rebased
    from sop.timeline import add_months

    start, price, billing = date(2026, 1, 15), 60_000.01, RULES.package("launch").billing
    before = invoice_parts(billing, start, add_months(start, 4))[:3]  # the deposit, months 1 and 2
    billed, amounts = before[-1].end, [p.amount(price) for p in before]
    for part in invoice_parts(billing, start, add_months(start, months_after))[3:]:
        part = rebased(part, billed)
        assert part.start == billed and part.end > part.start
        amounts.append(part.amount(price))
        billed = part.end
    assert billed == 1 and len(amounts) == 1 + months_after and round(sum(amounts), 2) == price
    naive = [p.amount(price) for p in invoice_parts(billing, start, add_months(start, months_after))[3:]]
    assert round(sum(amounts[:3]) + sum(naive), 2) != price  # without rebasing they would not add up
    unchanged = invoice_parts(billing, start, add_months(start, 4))
    assert all(rebased(p, q.end) == p for q, p in pairwise(unchanged))  # same schedule: as planned
    assert rebased(unchanged[1], None) == unchanged[1]


def test_client_ids():
    assert client_id_prefix("Acme Corp (Pty) Ltd") == "ACME"
    assert client_id_prefix("Zoë & Fils Café") == "ZFC"
    assert client_id_prefix("!!!") == "CLNT"
    assert next_client_id("Acme Corp", ["ACME-0001", "ACME-0041", "ACM-0099"]) == "ACME-0042"
    assert next_client_id("Acme Corp", []) == "ACME-0001"


def test_plan_expansion_dates_roles_and_deliverables():
    plan = yaml.safe_load((REPO / "templates" / "project_plan.yaml").read_text())
    package = RULES.package("launch")  # 8 weeks, 3 deliverables
    tasks = expand_plan(plan, package, date(2026, 12, 1))
    by_name = {t.name: t for t in tasks}
    assert by_name["Send welcome pack"].due_on == date(2026, 12, 1)
    assert by_name["Set up billing account and first invoice"].role is Role.FINANCE
    assert by_name["Halfway feedback review"].due_on == date(2026, 12, 29)  # 56 days / 2
    deliverables = [t for t in tasks if t.section == "Deliverables"]
    assert [t.name for t in deliverables] == package.deliverables
    assert [t.due_on for t in deliverables] == [date(2026, 12, 15), date(2026, 12, 29), date(2027, 1, 12)]
