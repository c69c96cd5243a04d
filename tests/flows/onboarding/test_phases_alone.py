"""Each phase subflow runs on its own from its parameters as JSON — what a deployment, or Prefect
rebuilding a retried run, hands it — with its services built from the settings, not passed in."""

from __future__ import annotations

import pytest
from prefect import get_client

from flows.onboarding.initial_contact import initial_contact
from flows.onboarding.proposal import proposal_and_agreement
from flows.onboarding.service_setup import service_setup
from sop.outcomes import Agreement, Lead
from tests.flows.conftest import (
    KICKOFF,
    NOTES,
    POLL_SECONDS,
    WAIT_HOUR_SECONDS,
    agreement_for,
    contract_signed,
    lead_for,
    new_client,
    solution,
)


@pytest.fixture
def settings_env(flow_sandbox, monkeypatch):
    """The environment a worker gives a run: the sandbox's URL and the waits, nothing in-process."""
    monkeypatch.setenv("ONBOARD_SANDBOX_URL", flow_sandbox.root)
    monkeypatch.setenv("ONBOARD_WAIT_HOUR_SECONDS", str(WAIT_HOUR_SECONDS))
    monkeypatch.setenv("ONBOARD_POLL_SECONDS", str(POLL_SECONDS))


def stored_parameters(state) -> dict:
    """The parameters Prefect stored for the flow run: JSON, as a retry or a deployment reads them."""
    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id).parameters


def test_phase_1_alone(settings_env, staff, client_actor, view):
    client = new_client()
    staff({"discovery-call-notes": NOTES})
    client_actor(client)

    state = initial_contact(client=client.model_dump(mode="json"), return_state=True)

    outcome, lead = state.result()
    assert outcome is None and lead.specialist_email
    assert stored_parameters(state)["client"]["email"] == str(client.email)
    assert view(client).deal()["id"] == lead.deal_id


def test_phase_2_alone(settings_env, make_services, staff):
    client = new_client()
    lead = lead_for(client, make_services())  # no services in scope: the flow builds its own
    staff({"solution-design": solution(client, "launch"), "client-s-answer-to-proposal": {"decision": "accept"},
           "contract-signature-confirmation": contract_signed(client)})

    state = proposal_and_agreement(client=client.model_dump(mode="json"), lead=lead.model_dump(mode="json"),
                                   return_state=True)

    outcome, agreement = state.result()
    assert outcome is None and agreement.package_key == "launch"
    assert Lead.model_validate(stored_parameters(state)["lead"]) == lead


def test_phase_3_alone(settings_env, make_services, staff, view):
    client = new_client()
    lead = lead_for(client, make_services(), folders=True)
    agreement = agreement_for(client)
    staff({"kick-off-outcome": KICKOFF})

    state = service_setup(client=client.model_dump(mode="json"), lead=lead.model_dump(mode="json"),
                          agreement=agreement.model_dump(mode="json"), return_state=True)

    setup = state.result()
    assert setup.client_id and setup.slack_channel_id
    assert Agreement.model_validate(stored_parameters(state)["agreement"]) == agreement
    assert view(client).company()["properties"]["onboarding_status"] == "onboarding"
