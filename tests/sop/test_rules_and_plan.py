"""Qualification rules, package suggestion, client ids and the project-plan expansion."""

from datetime import date

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
