"""Bad NewClient input is rejected, naming the field, before any vendor is called; the run's form is usable."""

from __future__ import annotations

import pytest
from prefect.exceptions import ParameterTypeError
from prefect.utilities.callables import parameter_schema

from flows.onboarding.new_client import onboard_client
from sop.client import Industry, LeadSource, NewClient
from tests.flows.conftest import POLL_SECONDS, new_client


def without(data: dict, *fields: str) -> dict:
    return {k: v for k, v in data.items() if k not in fields}


# case: (what is wrong with an otherwise valid client, what the error must say)
CASES = {
    "bad email": (lambda d: {**d, "email": "zanele.testco.example"},
                  ["client.email: value is not a valid email"]),
    "missing fields": (lambda d: without(d, "company_name", "phone"),
                       ["client.company_name: Field required", "client.phone: Field required"]),
    "negative budget": (lambda d: {**d, "budget": -1},
                        ["client.budget: Input should be greater than or equal to 0"]),
    "unknown industry": (lambda d: {**d, "industry": "mining"}, ["client.industry: Input should be"]),
    "unknown source": (lambda d: {**d, "source_of_lead": "tv_advert"}, ["client.source_of_lead: Input should be"]),
    "no services": (lambda d: {**d, "requested_services": []},
                    ["client.requested_services: List should have at least 1"]),
    "website not a URL": (lambda d: {**d, "website": "testco dot example"},
                          ["client.website: Input should be a valid URL"]),
    "extra field": (lambda d: {**d, "favourite_colour": "blue"},
                    ["client.favourite_colour: Extra inputs are not permitted"]),
    "name without letters": (lambda d: {**d, "contact_person": "1234"},
                             ["client.contact_person: Value error, must contain letters"]),
}


@pytest.fixture
def onboarding_env(flow_sandbox, monkeypatch):
    """The environment a real run builds its runtime from: if validation came after the first vendor
    call, that call would reach the sandbox and show in its state."""
    monkeypatch.setenv("ONBOARD_SANDBOX_URL", flow_sandbox.root)
    monkeypatch.setenv("ONBOARD_WAIT_HOUR_SECONDS", "0.01")
    monkeypatch.setenv("ONBOARD_POLL_SECONDS", str(POLL_SECONDS))
    return flow_sandbox


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_rejected_before_any_vendor_call(case, onboarding_env):
    valid = new_client().model_dump(mode="json")
    NewClient.model_validate(valid)  # the starting point is fine; only the one change is wrong
    change, messages = CASES[case]
    before = onboarding_env.state()

    with pytest.raises(ParameterTypeError) as caught:
        onboard_client(client=change(valid))

    for message in messages:
        assert message in str(caught.value), str(caught.value)
    assert onboarding_env.state() == before


def test_the_parameter_schema_renders_as_a_form():
    schema = parameter_schema(onboard_client).model_dump()
    assert schema["required"] == ["client"]
    defs = schema["definitions"]
    client = defs[schema["properties"]["client"]["$ref"].rsplit("/", 1)[1]]
    props = client["properties"]

    def resolved(prop: dict) -> dict:
        return defs[prop["$ref"].rsplit("/", 1)[1]] if "$ref" in prop else prop

    assert resolved(props["industry"])["enum"] == [i.value for i in Industry]  # dropdowns
    assert resolved(props["source_of_lead"])["enum"] == [s.value for s in LeadSource]
    assert resolved(props["requested_services"]["items"])["enum"]
    assert resolved(props["preferred_communication"])["enum"]
    assert props["email"]["format"] == "email"  # an email field
    assert props["website"]["format"] == "uri"
    assert props["budget"]["type"] == "integer" and props["budget"]["minimum"] == 0
    assert client["additionalProperties"] is False
    assert set(client["required"]) >= {"company_name", "contact_person", "email", "website", "source_of_lead",
                                       "budget", "industry", "requested_services"}
    assert all(props[f].get("description") for f in ("company_name", "email", "website", "budget"))
