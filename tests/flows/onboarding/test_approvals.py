"""Human approvals: answered through the Prefect API, timing out with reminders, and the phase-level
paths a timeout leads to (SOP waits in config/onboarding.yaml, shrunk with wait_hour_seconds)."""

from __future__ import annotations

import contextvars
import threading
import time
from uuid import UUID

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.flow_runs import resume_flow_run
from prefect.input import read_flow_run_input

from flows.onboarding.initial_contact import initial_contact
from flows.people.approvals import DiscoveryNotes, NegotiationDecision
from flows.people.waits import ask_staff, slug
from services import use_services
from sop.outcomes import Outcome
from sop.profile import Role
from sop.rules import Wait
from tests.flows.conftest import NOTES, new_client


@flow(name="approval-probe", flow_run_name="{run_name}", validate_parameters=False)
def approval_probe(svc, wait: Wait, what: str, client_name: str, domain: str, run_name: str):
    """The smallest flow with one staff approval (the specialist's discovery notes)."""
    answer = ask_staff(svc, DiscoveryNotes, wait, what=what, approver=svc.person(Role.ONBOARDING_SPECIALIST),
                       client_name=client_name, domain=domain)
    return None if answer is None else answer.model_dump()


def in_background(fn, *args, **kwargs) -> tuple[threading.Thread, dict]:
    """Run ``fn`` on a thread with this context (the Prefect API settings); its result lands in the dict."""
    out: dict = {}
    ctx = contextvars.copy_context()

    def target():
        try:
            out["result"] = ctx.run(fn, *args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 — handed to the test
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def paused_runs(run_name: str):
    paused = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
    with get_client(sync_client=True) as prefect:
        return prefect.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[run_name]),
                                                                    state=paused))


def wait_until_paused(run_name: str, timeout: float = 60):
    """The paused run, once its form is saved too (Prefect pauses first, then saves the form's schema and
    description; a resume before that is refused)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = paused_runs(run_name)
        if runs and form_description(runs[0]) is not None:
            return runs[0]
        time.sleep(0.2)
    raise AssertionError(f"{run_name} never paused")


def form_description(run) -> str | None:
    key = run.state.state_details.pause_key
    return read_flow_run_input(f"paused-{key}-description", flow_run_id=run.id)


def flow_run(run_id: UUID):
    with get_client(sync_client=True) as prefect:
        return prefect.read_flow_run(run_id)


def test_an_approval_answered_through_the_api_moves_the_run_on(svc):
    client = new_client()
    run_name = f"approval-{client.domain}"
    wait = Wait(remind_every_hours=60, timeout_hours=120, on_timeout="escalate")  # a minute, two minutes
    thread, out = in_background(approval_probe, svc, wait, "Discovery call notes", client.company_name,
                                client.domain, run_name)

    try:
        run = wait_until_paused(run_name)
        assert run.state.state_details.pause_key == "discovery-call-notes-0"
        assert run.state.state_details.run_input_keyset  # a typed form, rendered in the UI
        with pytest.raises(RuntimeError, match="expectations"):  # the form's validation applies to API answers
            resume_flow_run(run.id, run_input={"deliverables": "x"})
        assert flow_run(run.id).state.type == StateType.PAUSED

        resume_flow_run(run.id, run_input=NOTES)
        thread.join(timeout=60)
    finally:
        if thread.is_alive():  # the test failed while the run waits: let it finish rather than linger
            for run in paused_runs(run_name):
                resume_flow_run(run.id, run_input=NOTES)
            thread.join(timeout=30)

    assert not thread.is_alive() and "error" not in out, out.get("error")
    assert out["result"] == NOTES
    assert flow_run(run.id).state.type == StateType.COMPLETED


def test_an_approval_that_times_out_reminds_the_approver_and_returns_none(make_services, view):
    """Reminders every 1.5 s, timeout after 4.5 s: at least one reminder (Slack DM + email), then None."""
    svc = make_services(wait_hour_seconds=1.5)
    client = new_client()
    what = "Discovery call notes"
    wait = Wait(remind_every_hours=1, timeout_hours=3, on_timeout="escalate")
    started = time.monotonic()

    state = approval_probe(svc, wait, what, client.company_name, client.domain, f"timeout-{client.domain}",
                           return_state=True)

    assert state.is_completed() and state.result() is None
    assert 4 <= time.monotonic() - started < 30
    approver = str(svc.person(Role.ONBOARDING_SPECIALIST).email)
    v = view(client)
    dms = [m for m in v.dms_to(approver) if client.company_name in m["text"]]
    told, *reminders = dms  # told at once (what, by when, the link), then reminded
    assert told["text"].startswith(f"*{what}* for {client.company_name} needs your answer by")
    assert reminders and all(m["text"].startswith(f"Reminder: *{what}*") for m in reminders)
    assert all(str(state.state_details.flow_run_id) in m["text"] for m in dms)  # links the paused run
    emails = v.emails(to=approver)
    assert {f"<reminder-{slug(what)}-0@{client.domain}>", f"<reminder-{slug(what)}-1@{client.domain}>"} <= \
        {m.message_id for m in emails}
    assert len(emails) == len(dms)  # one email per reminder, as on Slack
    assert all(what in m.subject or what in m.html for m in emails)


def test_phase_1_timeouts_follow_their_defined_paths(make_services, staff, view):
    """The intake form is never answered (escalate: the client is reminded, the account manager told,
    the run goes on); nobody decides on a borderline lead (decline)."""
    svc = make_services(wait_hour_seconds=1,
                      intake_form=Wait(remind_every_hours=1, timeout_hours=2.5, on_timeout="escalate"),
                      qualification=Wait(remind_every_hours=1, timeout_hours=2.5, on_timeout="decline"))
    client = new_client(industry="finance", requested_services=["finance_advisory"])
    team = staff({"discovery-call-notes": NOTES, "qualification-decision": None})  # no client actor

    with use_services(svc):
        outcome, lead = initial_contact(client)

    assert outcome is Outcome.DECLINED
    assert [k.rsplit("-", 1)[0] for k, _ in team.answered] == ["discovery-call-notes"]
    v = view(client)
    company = v.company()
    # intake: reminders to the client, the account manager told, nothing stored, the run continued
    ids = {m.message_id for m in v.emails(to=str(client.email))}
    assert {f"<intake-request-0@{client.domain}>", f"<intake-request-1@{client.domain}>"} <= ids
    manager = str(svc.person(Role.ACCOUNT_MANAGER).email)
    assert any("Escalation: the intake form was not answered" in m["text"] and client.company_name in m["text"]
               for m in v.dms_to(manager))
    assert not company["properties"].get("intake_goals") and lead.intake_answers == {}
    assert v.note("discovery-notes")  # the next step ran
    # qualification: the sales lead was reminded, then the defined path: decline
    sales = str(svc.person(Role.SALES).email)
    assert any(m["text"].startswith("Reminder: *Qualification decision*") for m in v.dms_to(sales)
               if client.company_name in m["text"])
    assert "no staff decision in time (decline)" in company["properties"]["qualification"]
    assert v.stage_label(v.deal()) == "Closed lost"
    assert company["properties"]["onboarding_status"] == "declined"
    assert f"<decline@{client.domain}>" in ids


def test_an_answer_the_form_refuses_is_asked_again_with_the_error_shown(svc):
    """A revision without its changes passes the Resume dialog's schema but not the form's rule: the
    run asks again (the next key), the error in the dialog's description, and goes on with the
    corrected answer; nothing fails."""
    client = new_client()
    run_name = f"reask-{client.domain}"
    what = "Client's answer to proposal v1"
    wait = Wait(remind_every_hours=60, timeout_hours=120, on_timeout="escalate")
    thread, out = in_background(negotiation_probe, svc, wait, what, client.company_name, client.domain, run_name)
    try:
        run = wait_until_paused(run_name)
        assert run.state.state_details.pause_key == f"{slug(what)}-0"
        description = read_flow_run_input(f"paused-{slug(what)}-0-description", flow_run_id=run.id)
        assert what in description and client.company_name in description and "Answer by" in description
        resume_flow_run(run.id, run_input={"decision": "revise"})  # no changes: refused by the form's rule

        deadline = time.monotonic() + 60
        while ((run := flow_run(run.id)).state.state_details.pause_key != f"{slug(what)}-1"
               or (again := form_description(run)) is None):
            assert time.monotonic() < deadline and "error" not in out, out
            time.sleep(0.2)
        assert "not accepted" in again and "a revision needs the changes" in again
        resume_flow_run(run.id, run_input={"decision": "revise", "change_notes": "Add a KPI dashboard"})
    finally:
        thread.join(timeout=60)
    assert "error" not in out, out.get("error")
    assert out["result"]["decision"] == "revise" and out["result"]["change_notes"] == "Add a KPI dashboard"
    assert flow_run(run.id).state.type == StateType.COMPLETED


@flow(name="negotiation-probe", flow_run_name="{run_name}", validate_parameters=False)
def negotiation_probe(svc, wait: Wait, what: str, client_name: str, domain: str, run_name: str):
    answer = ask_staff(svc, NegotiationDecision, wait, what=what, approver=svc.person(Role.SALES),
                       client_name=client_name, domain=domain)
    return None if answer is None else answer.model_dump()


@flow(name="form-probe", flow_run_name="{run_name}", validate_parameters=False)
def form_probe(svc, form, wait: Wait, what: str, client_name: str, domain: str, run_name: str):
    answer = ask_staff(svc, form, wait, what=what, approver=svc.person(Role.SALES), client_name=client_name,
                       domain=domain)
    return None if answer is None else answer.model_dump(mode="json")


def wrong_and_right(svc, client) -> list[tuple[str, type, dict, dict]]:
    """Per staff form: a typo and a correct answer (what a person might type into the Resume dialog)."""
    from datetime import date, timedelta

    from flows.people.approvals import (ContractSigned, KickoffOutcome, QualificationDecision,
                                        package_choice, solution_design_form)
    from tests.flows.conftest import KICKOFF, contract_signed

    future = (date.today() + timedelta(days=30)).isoformat()
    return [
        ("Qualification decision", QualificationDecision, {"decision": "qualify", "reason": "ok"},
         {"decision": "qualify", "reason": "a good fit"}),
        ("Discovery call notes", DiscoveryNotes, {**NOTES, "deadlines": ""}, NOTES),
        ("Solution design", solution_design_form(svc.rules), {"package": "launch", "scope": "Strategy work for them."},
         {"package": package_choice(svc.rules, "launch"), "scope": "Strategy work for them."}),
        ("Client's answer to proposal v1", NegotiationDecision, {"decision": "revise"}, {"decision": "accept"}),
        ("Contract signature confirmation", ContractSigned,
         {**contract_signed(client), "signed_copy_url": "in the shared drive"}, contract_signed(client)),
        ("Contract signature confirmation", ContractSigned, {**contract_signed(client), "signed_on": future},
         contract_signed(client)),
        ("Kick-off outcome", KickoffOutcome, {**KICKOFF, "objectives": "x"}, KICKOFF),
    ]


def test_a_typo_in_any_staff_form_is_refused_or_asked_again_and_never_fails_the_run(svc):
    """The Resume dialog refuses what the form's JSON schema can check (Prefect answers REJECT and the
    run keeps waiting under the same key); what only the form's model can check is asked again under
    the next key. Either way the right answer then moves the run on."""
    client = new_client()
    wait = Wait(remind_every_hours=60, timeout_hours=120, on_timeout="escalate")
    for i, (what, form, wrong, right) in enumerate(wrong_and_right(svc, client)):
        run_name = f"typo-{i}-{client.domain}"
        thread, out = in_background(form_probe, svc, form, wait, what, client.company_name, client.domain, run_name)
        try:
            run = wait_until_paused(run_name)
            first = run.state.state_details.pause_key
            try:
                resume_flow_run(run.id, run_input=wrong)
                refused_by = "the run"  # accepted by the dialog, refused when the run loads it: asked again
                deadline = time.monotonic() + 60
                while ((run := flow_run(run.id)).state.state_details.pause_key == first or not run.state.is_paused()
                       or form_description(run) is None):
                    assert time.monotonic() < deadline and "error" not in out, (what, out)
                    time.sleep(0.2)
            except RuntimeError as exc:  # the dialog's schema refused it: still waiting, same key
                refused_by = f"the dialog ({exc})"
                assert flow_run(run.id).state.state_details.pause_key == first
            resume_flow_run(run.id, run_input=right)
        finally:
            thread.join(timeout=60)
        assert "error" not in out, (what, refused_by, out.get("error"))
        assert out["result"] is not None and flow_run(run.id).state.type == StateType.COMPLETED, (what, refused_by)
