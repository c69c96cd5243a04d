"""SOP-B 1.3 — the decline path: a polite no, deal closed-lost, what was made undone, nothing half-made."""

from __future__ import annotations

import pytest

from flows.onboarding.initial_contact import initial_contact
from services.settings import REPO
from sop.outcomes import Outcome
from sop.rules import load_rules
from tests.flows.conftest import NOTES, View, new_client

RULES = load_rules(REPO / "config" / "onboarding.yaml")
FLOOR = RULES.qualification.minimum_budget * (1 - RULES.qualification.borderline_budget_fraction)


def in_trash(v: View, file: dict) -> bool:
    """Trashed itself or inside a trashed folder (Drive reports both as in the bin)."""
    by_id = {f["id"]: f for f in v.google.get("file", [])}
    while file is not None:
        if file.get("trashed"):
            return True
        file = next((by_id[p] for p in file.get("parents", []) if p in by_id), None)
    return False


def assert_declined(v: View, lead) -> None:
    client = v.client
    company, deal = v.company(), v.deal()
    # the polite decline, with the configured referral
    (mail,) = [m for m in v.emails(to=str(client.email)) if m.message_id == f"<decline@{client.domain}>"]
    referral = RULES.qualification.referral
    assert client.first_name in mail.html
    assert referral.name in mail.html and referral.email in mail.html
    # CRM: deal closed-lost, status declined, the reasons noted
    assert v.stage_label(deal) == "Closed lost"
    assert company["properties"]["onboarding_status"] == "declined"
    assert company["properties"]["qualification"].startswith("not_qualified")
    assert v.note("declined")["properties"]["hs_note_body"].startswith("Declined: ")
    # compensation: the discovery call is off (Zoom meeting deleted, Calendar event cancelled)
    assert lead.discovery_meeting_id is not None
    assert v.meetings() == []
    assert all(m["id"] != lead.discovery_meeting_id for m in v.zoom.get("meeting", []))
    assert v.events() == []
    (cancelled,) = v.events(cancelled=True)
    assert cancelled["_calendar"] == lead.specialist_email and cancelled["summary"].startswith("Discovery call")
    # the client's Drive folder went to the bin with everything in it
    root = v.file("root", trashed=True)
    assert root["id"] == lead.folder_ids["root"]
    assert v.files(trashed=None) and all(in_trash(v, f) for f in v.files(trashed=None))
    # nothing of the later phases was started
    assert v.projects() == []
    assert v.channels() == [] and not any(client.domain.split(".")[0] in c["name"] for c in v.slack["channel"])
    kinds = {f["appProperties"]["kind"] for f in v.files(trashed=None)}
    assert not any(k.startswith(("proposal", "contract", "welcome", "kickoff")) for k in kinds)
    assert not [n for n in v.notes() if "Proposal" in n["properties"]["hs_note_body"]]
    assert v.line_items() == []
    assert "client_id" not in company["properties"] or not company["properties"]["client_id"]
    subjects = [m.subject for m in v.emails(to=str(client.email))]
    assert not any("proposal" in s.lower() or "agreement" in s.lower() for s in subjects), subjects
    # the specialist is told on Slack
    assert any(client.company_name in m["text"] and "declined" in m["text"] for m in v.dms_to(lead.specialist_email))


def test_budget_under_the_floor_is_declined_at_entry_before_anything_is_booked(svc, staff, client_actor, view):
    client = new_client(budget=int(FLOOR) - 1000)
    team = staff({"discovery-call-notes": NOTES})
    client_actor(client)

    outcome, lead = initial_contact(client)

    assert outcome is Outcome.DECLINED
    v = view(client)
    company = v.company()
    assert "below the minimum" in company["properties"]["qualification"]
    assert company["properties"]["onboarding_status"] == "declined" and v.stage_label(v.deal()) == "Closed lost"
    # the one email is the polite decline; no welcome, no call, no intake form, no folder, nobody asked
    assert [m.message_id for m in v.emails(to=str(client.email))] == [f"<decline@{client.domain}>"]
    assert lead.discovery_meeting_id is None and v.meetings() == [] and v.events(cancelled=None) == []
    assert v.files(trashed=None) == [] and team.answered == []
    assert any(client.company_name in m["text"] and "declined" in m["text"] for m in v.dms_to(lead.specialist_email))


@pytest.mark.parametrize("decision", ["decline", "qualify"])
def test_borderline_client_goes_to_staff(decision, svc, staff, client_actor, view):
    client = new_client(industry="finance", requested_services=["finance_advisory"])
    assert RULES.qualify(client).verdict.value == "borderline"
    team = staff({"discovery-call-notes": NOTES,
                  "qualification-decision": {"decision": decision, "reason": f"test says {decision}"}})
    client_actor(client)

    outcome, lead = initial_contact(client)

    assert [k.rsplit("-", 1)[0] for k, _ in team.answered] == ["discovery-call-notes", "qualification-decision"]
    v = view(client)
    assert f"staff: test says {decision}" in v.company()["properties"]["qualification"]
    if decision == "decline":
        assert outcome is Outcome.DECLINED
        assert_declined(v, lead)
    else:
        assert outcome is None
        assert v.stage_label(v.deal()) == "Qualified"
        assert v.company()["properties"]["qualification"].startswith("qualified")
        assert v.file("root")["trashed"] is False
        (meeting,) = v.meetings()
        assert meeting["id"] == lead.discovery_meeting_id
        assert [m for m in v.emails() if m.message_id == f"<decline@{client.domain}>"] == []
