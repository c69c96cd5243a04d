"""No secret in any log line, artifact, exception or sandbox page: a whole new-client run in live mode
(credentials from the environment, a real service-account key, Zoom's OAuth exchange) against the
sandbox via ``ONBOARD_LIVE_BASE_URL``, with every log captured and searched."""

from __future__ import annotations

import json
import logging
import secrets as random_secrets

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId

from flows.onboarding.new_client import onboard_client
from integrations.errors import IntegrationError
from services.clients import build_clients
from services.settings import load_settings
from sop.outcomes import Outcome
from tests.flows.conftest import (
    KICKOFF,
    NOTES,
    POLL_SECONDS,
    WAIT_HOUR_SECONDS,
    contract_signed,
    new_client,
    running_client,
    running_staff,
    solution,
)


def service_account_key(token_uri: str) -> tuple[str, str]:
    """(the key file's JSON, its private key PEM): a real RSA key, as Google issues them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    info = {"type": "service_account", "project_id": "brightpath-onboarding", "private_key_id": "k1" * 20,
            "private_key": pem, "client_email": "onboarding@brightpath-onboarding.iam.gserviceaccount.com",
            "client_id": "1" * 21, "token_uri": token_uri}
    return json.dumps(info), pem


@pytest.fixture
def live_env(flow_sandbox, monkeypatch):
    key_json, pem = service_account_key(f"{flow_sandbox.root}/google/oauth2/token")
    values = {
        "ONBOARD_HUBSPOT_TOKEN": "pat-eu1-" + random_secrets.token_hex(16),
        "ONBOARD_ASANA_TOKEN": "2/" + random_secrets.token_hex(20),
        "ONBOARD_SLACK_BOT_TOKEN": "xoxb-" + random_secrets.token_hex(20),
        "ONBOARD_ZOOM_CLIENT_SECRET": random_secrets.token_urlsafe(24),
        "ONBOARD_GOOGLE_SERVICE_ACCOUNT_JSON": key_json,
        "ONBOARD_KEAP_API_KEY": "KeapAK-" + random_secrets.token_hex(24),  # config/company.yaml chooses Keap
    }
    monkeypatch.setenv("ONBOARD_MODE", "live")
    monkeypatch.setenv("ONBOARD_LIVE_BASE_URL", flow_sandbox.root)
    monkeypatch.setenv("ONBOARD_ZOOM_ACCOUNT_ID", "brightpath-account")
    monkeypatch.setenv("ONBOARD_ZOOM_CLIENT_ID", "brightpath-client")
    monkeypatch.setenv("ONBOARD_WAIT_HOUR_SECONDS", str(WAIT_HOUR_SECONDS))
    monkeypatch.setenv("ONBOARD_POLL_SECONDS", str(POLL_SECONDS))
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    body = "".join(pem.strip().splitlines()[1:-1])
    # what must never show: every token, and any 32-character run of the private key
    needles = [v for k, v in values.items() if k != "ONBOARD_GOOGLE_SERVICE_ACCOUNT_JSON"]
    needles += [body[i:i + 32] for i in range(0, len(body) - 32, 64)]
    return needles


def leaks(text: str, needles: list[str]) -> list[str]:
    return [n[:6] + "…" for n in needles if n in text]


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_live_mode_run_leaks_no_secret(flow_sandbox, live_env):
    settings = load_settings()
    assert settings.mode == "live" and "pat-eu1" not in repr(settings) and "pat-eu1" not in str(settings.model_dump())
    client = new_client(company_name="Secretive Holdings", website="https://www.secretive.example",
                        email="ceo@secretive.example")
    answers = {"discovery-call-notes": NOTES, "solution-design": solution(client, "launch"),
               "client-s-answer-to-proposal-v1": {"decision": "accept"},
               "contract-signature-confirmation": contract_signed(client), "kick-off-outcome": KICKOFF}
    records = Collect()
    # every logger at DEBUG (the SDKs' and urllib3's request lines too); Prefect's loggers do not propagate
    watched = [logging.getLogger(), logging.getLogger("prefect")]
    saved = [(lg, lg.level) for lg in watched]
    for lg in watched:
        lg.addHandler(records)
        lg.setLevel(logging.DEBUG)
    try:
        with running_staff(answers), running_client(flow_sandbox, client):
            state = onboard_client(client, return_state=True)
    finally:
        for lg, level in saved:
            lg.removeHandler(records)
            lg.setLevel(level)
    assert state.result().outcome is Outcome.ONBOARDED

    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as prefect:
        runs = [run_id, *(r.id for r in prefect.read_flow_runs() if r.parent_task_run_id)]
        logs = prefect.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=runs)))  # when sent to the API
        artifacts = prefect.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(
            any_=runs)))
    assert artifacts, "the run's artifact"
    assert any(r.name.startswith("prefect.flow_runs") for r in records.records), "the run's own log lines"
    texts = {
        "log records": "\n".join(f"{records.format(r)} {r.args} {r.__dict__}" for r in records.records),
        "Prefect run logs": "\n".join(log.message for log in logs),
        "artifacts": "\n".join(str(a.data) for a in artifacts),
        "sandbox page": httpx.get(flow_sandbox.root + "/", timeout=60).text,
        "sandbox state": httpx.get(flow_sandbox.root + "/_sandbox/state", timeout=60).text,
    }
    assert "answered by staff" in texts["log records"]  # the capture really holds the run's log lines
    for where, text in texts.items():
        assert not leaks(text, live_env), f"secret in {where}: {leaks(text, live_env)}"

    # and an error from a vendor carries no credential either
    clients = build_clients(settings)
    with pytest.raises(IntegrationError) as info:
        clients.hubspot.get("companies", "999999999")
    assert not leaks(f"{info.value!r} {info.value}", live_env)
