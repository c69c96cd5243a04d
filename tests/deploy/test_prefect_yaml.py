"""prefect.yaml as ops use it: `prefect work-pool create` + `prefect deploy --all` against a started
Prefect server create every deployment with its schedule and typed form; the Docker and Kubernetes
variants are accepted by the server; `onboard serve` serves the same deployments; the Secret-block
script writes the blocks without printing a value."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from app.serve import deployment_specs, runner_deployments
from services.credentials import CREDENTIALS
from services.settings import REPO, Settings

SPECS = {s["name"]: s for s in deployment_specs()}
FOLLOW_UPS = ("check-in", "client-health", "onboarding-survey", "halfway-feedback", "monthly-report",
              "quarterly-review", "complete-onboarding", "request-testimonial", "retention")
COMPANY_TZ = Settings().profile.timezone


def prefect_cli(api_url: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    proc = subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"prefect {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def read_deployments(pool: str) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName

    async def read():
        async with get_client() as client:
            found = await client.read_deployments(work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])))
            return {d.name: d for d in found}

    return asyncio.run(read())


# ------------------------------------------------------------------------------ the file itself


def test_prefect_yaml_names_every_deployment_with_its_schedule():
    assert set(SPECS) == {"new-client", "engagement-sweep", "waits-sweep", "kpi-report", "halfway-adjustments",
                          "invoice-approval", *FOLLOW_UPS}
    assert not SPECS["halfway-adjustments"].get("schedules")  # started by the halfway feedback, never scheduled
    assert not SPECS["invoice-approval"].get("schedules")  # started when an invoice is drafted, never scheduled
    assert SPECS["invoice-approval"]["entrypoint"] == "flows/engagement/invoices.py:invoice_approval"
    assert [(s["cron"], s["timezone"]) for s in SPECS["waits-sweep"]["schedules"]] == [("*/5 * * * *", COMPANY_TZ)]
    assert SPECS["new-client"]["entrypoint"] == "flows/onboarding/new_client.py:onboard_client"
    assert not SPECS["new-client"].get("schedules")
    assert [(s["cron"], s["timezone"]) for s in SPECS["engagement-sweep"]["schedules"]] == [("0 7 * * *", COMPANY_TZ)]
    assert [(s["cron"], s["timezone"]) for s in SPECS["kpi-report"]["schedules"]] == [("0 8 * * 1", COMPANY_TZ)]
    for name in FOLLOW_UPS:
        assert not SPECS[name].get("schedules"), name
    for spec in SPECS.values():
        assert spec["work_pool"]["name"] == "onboarding" and spec["description"] and spec["tags"], spec["name"]


def test_prefect_yaml_holds_no_secret():
    text = (REPO / "prefect.yaml").read_text()
    live = [line for line in text.splitlines() if "prefect.blocks.secret" in line]
    assert live and all(line.lstrip().startswith("#") for line in live)  # examples only, commented out
    data = yaml.safe_load(text)
    assert data["definitions"]["work_pools"]["onboarding"]["job_variables"] == {}
    for block in CREDENTIALS.values():  # every credential has its commented example
        assert f"prefect.blocks.secret.{block} }}}}" in text


def test_onboard_serve_serves_the_same_deployments():
    served, skipped = runner_deployments(list(SPECS.values()))
    by_name = {d.name: d for d in served}
    assert set(by_name) | set(skipped) == set(SPECS)
    assert "new-client" in by_name and by_name["new-client"].entrypoint == "flows/onboarding/new_client.py:onboard_client"
    for name, deployment in by_name.items():
        crons = [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules or []]
        assert crons == [(s["cron"], s["timezone"]) for s in SPECS[name].get("schedules") or []], name
        assert deployment.description == SPECS[name]["description"] and deployment.tags == SPECS[name]["tags"]
    served, skipped = runner_deployments([{"name": "nope", "entrypoint": "flows/nope.py:nope"}])
    assert served == [] and "ModuleNotFoundError" in skipped["nope"]


# ------------------------------------------------------------------------------ against a server


@pytest.fixture(scope="module")
def deployed(prefect_api):
    prefect_cli(prefect_api, "work-pool", "create", "onboarding", "--type", "process", "--overwrite")
    prefect_cli(prefect_api, "deploy", "--all")
    return read_deployments("onboarding")


def test_prefect_deploy_all_creates_every_deployment(deployed):
    assert set(deployed) == set(SPECS)
    for name, d in deployed.items():
        spec = SPECS[name]
        assert d.entrypoint == spec["entrypoint"] and d.work_pool_name == "onboarding", name
        assert d.description == spec["description"] and sorted(d.tags) == sorted(spec["tags"]), name
        step = d.pull_steps[0]["prefect.deployments.steps.set_working_directory"]
        assert Path(step["directory"]) == REPO, name  # the checkout `prefect deploy` ran from
        assert "prefect.blocks" not in json.dumps(d.job_variables or {}), name


def test_scheduled_deployments_run_in_the_company_timezone(deployed):
    def crons(name):
        return [(s.schedule.cron, s.schedule.timezone, s.active) for s in deployed[name].schedules]

    assert crons("engagement-sweep") == [("0 7 * * *", "Africa/Johannesburg", True)]
    assert crons("kpi-report") == [("0 8 * * 1", "Africa/Johannesburg", True)]
    assert deployed["engagement-sweep"].global_concurrency_limit.limit == 1
    for name in ("new-client", *FOLLOW_UPS):
        assert deployed[name].schedules == [], name
    for name in ("engagement-sweep", "kpi-report"):  # as_of is optional: the schedule passes none
        schema = deployed[name].parameter_openapi_schema
        assert "as_of" in schema["properties"] and "as_of" not in schema.get("required", []), name


def test_new_client_form_has_choices_and_formats(deployed):
    schema = deployed["new-client"].parameter_openapi_schema
    assert schema["required"] == ["client"]
    defs = schema["definitions"]
    client = defs["NewClient"]["properties"]

    def enum(prop):
        ref = prop.get("$ref") or prop["items"]["$ref"]
        return defs[ref.rsplit("/", 1)[1]]["enum"]

    assert client["email"]["format"] == "email"
    assert client["website"]["format"] == "uri"
    assert "pattern" in client["phone"]
    assert "retail" in enum(client["industry"]) and "referral" in enum(client["source_of_lead"])
    assert client["requested_services"]["type"] == "array" and "marketing" in enum(client["requested_services"])
    assert "slack" in enum(client["preferred_communication"])
    assert client["budget"]["type"] == "integer" and client["budget"]["minimum"] == 0
    assert set(defs["NewClient"]["required"]) >= {"company_name", "contact_person", "email", "website", "industry"}


def test_follow_ups_take_a_client_and_a_day(deployed):
    adjustments = deployed["halfway-adjustments"].parameter_openapi_schema
    assert set(adjustments["required"]) == {"client_domain", "score", "as_of"}
    approval = deployed["invoice-approval"].parameter_openapi_schema
    assert set(approval["required"]) == {"client_domain", "number"}
    assert approval["properties"]["number"]["type"] == "integer"
    for name in FOLLOW_UPS:
        schema = deployed[name].parameter_openapi_schema
        props = schema["properties"]
        assert props["client_domain"]["type"] == "string", name
        assert props["as_of"]["format"] == "date", name
        assert set(schema["required"]) == {"client_domain", "as_of"}, name


# ------------------------------------------------------------------------------ the variants


def script(name: str):
    """A script of deployments/ as a module, to call its main() in this process (faster than a subprocess)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"deployments_{name}", REPO / "deployments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind", ["docker", "kubernetes"])
def test_container_variants_are_accepted_and_deploy_on_the_image(prefect_api, kind, monkeypatch, capsys):
    pool = f"onboarding-{kind}-{uuid.uuid4().hex[:6]}"
    template = REPO / "deployments" / f"{kind}-job-template.json"
    prefect_cli(prefect_api, "work-pool", "create", pool, "--type", kind, "--base-job-template", str(template))
    monkeypatch.chdir(REPO)
    status = script("deploy_image").main(["--pool", pool, "--image", "registry.example/onboard:test",
                                          "--only", "new-client", "--only", "engagement-sweep"])
    assert status == 0, capsys.readouterr()
    found = read_deployments(pool)
    assert set(found) == {"new-client", "engagement-sweep"}
    for d in found.values():
        assert d.job_variables["image"] == "registry.example/onboard:test"
        assert not d.pull_steps  # the code is in the image, at its working directory
        assert d.entrypoint == SPECS[d.name]["entrypoint"]
    assert [(s.schedule.cron, s.schedule.timezone) for s in found["engagement-sweep"].schedules] == \
        [("0 7 * * *", "Africa/Johannesburg")]


def test_dockerfile_installs_exactly_the_lock():
    text = (REPO / "deployments" / "Dockerfile").read_text()
    assert "uv sync --locked" in text and "WORKDIR /opt/onboard" in text
    assert not any(k in text for k in ("TOKEN=", "SECRET=", "ONBOARD_HUBSPOT", "ONBOARD_ZOOM_CLIENT"))


# ------------------------------------------------------------------------------ Secret blocks


def test_blocks_script_writes_the_secret_blocks_without_printing_them(prefect_api, monkeypatch, capsys):
    from prefect.blocks.system import Secret

    blocks = script("blocks")
    values = {field: f"s3cr3t-{field}-{uuid.uuid4().hex[:6]}" for field in CREDENTIALS}
    for key in [k for k in os.environ if k.startswith("ONBOARD_")]:
        monkeypatch.delenv(key)
    for field, value in values.items():
        if field != "zoom_client_secret":
            monkeypatch.setenv(f"ONBOARD_{field.upper()}", value)
    try:
        assert blocks.main([]) == 1  # the Zoom client secret is still missing, and named
        first = capsys.readouterr()
        assert "onboard-zoom-client-secret: MISSING — set ONBOARD_ZOOM_CLIENT_SECRET" in first.out
        monkeypatch.setenv("ONBOARD_ZOOM_CLIENT_SECRET", values["zoom_client_secret"])
        monkeypatch.delenv("ONBOARD_ASANA_TOKEN")  # an existing block is kept
        assert blocks.main([]) == 0
        second = capsys.readouterr()
        assert "onboard-asana-token: kept" in second.out
        for out in (first, second):
            assert not any(v in out.out + out.err for v in values.values())
        for field, block in CREDENTIALS.items():
            assert Secret.load(block).get() == values[field]
    finally:
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        async def delete():
            async with get_client() as client:
                for block in CREDENTIALS.values():
                    with contextlib.suppress(ObjectNotFound):
                        await client.delete_block_document(
                            (await client.read_block_document_by_name(block, "secret")).id)

        asyncio.run(delete())
