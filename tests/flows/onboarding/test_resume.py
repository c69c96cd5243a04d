"""A run that comes back to steps it already did (resumed after a suspend, retried from the UI) does
not do them again: their results are persisted under a key of (task, run, what it makes)."""

from __future__ import annotations

import asyncio
import time

import httpx
from prefect import flow, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.runtime import flow_run

from services.rendering import Rendered
from tasks import drive, gmail
from tasks.base import run_scope
from tests.flows.conftest import new_client


@flow(retries=1, retry_delay_seconds=0, validate_parameters=False)
def sends_then_fails_once(svc, client, attempts: list[int]) -> str:
    """Sends an email and stores a document, then fails on its first attempt (a crash mid-run);
    Prefect retries the same flow run."""
    with run_scope(flow_run.id):
        folders = drive.ensure_client_folder(svc.clients.drive, client.domain, client.company_name)
        drive.store_document(svc.clients.drive, folders["root"].id, "Notes", "<p>notes</p>", client.domain,
                                 "resume-notes")
        gmail.send_email(svc.clients.gmail, str(client.email), Rendered("Hello", "<p>Hello</p>"), key="resume",
                         domain=client.domain)
        attempts.append(len(attempts) + 1)
        if len(attempts) == 1:
            raise RuntimeError("the run stops after its side effects, before it ends")
        return flow_run.id


def task_run_states(run_id: str) -> list[str]:
    async def read():
        async with get_client() as client:
            runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
            return sorted(r.state.name for r in runs if r.state)

    return asyncio.run(read())


def test_a_retried_run_skips_the_steps_it_did(svc, flow_sandbox):
    client = new_client()
    httpx.post(f"{flow_sandbox.root}/_sandbox/stats/reset").raise_for_status()
    attempts: list[int] = []
    run_id = sends_then_fails_once(svc, client, attempts)
    assert attempts == [1, 2]
    calls = httpx.get(f"{flow_sandbox.root}/_sandbox/calls").json()
    made = [(c["method"], c["route"]) for c in calls if c["method"] == "POST"]
    # one folder tree, one document, one email: the second attempt made no vendor call at all
    assert made.count(("POST", "/gmail/v1/users/{user_id}/messages/send")) == 1
    assert made.count(("POST", "/upload/drive/v3/files")) == 1
    assert made.count(("POST", "/drive/v3/files")) == 5  # root + 4 subfolders
    lookups = [c for c in calls if c["method"] == "GET"]
    assert len(lookups) == 3  # folder lookup, document lookup, Message-ID lookup: first attempt only
    deadline = time.monotonic() + 30
    while (states := task_run_states(run_id)).count("Cached") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)  # task runs reach the server as events, recorded a moment later
    assert states == ["Cached", "Cached", "Cached", "Completed", "Completed", "Completed"]


def test_outside_a_run_scope_nothing_is_remembered(svc, flow_sandbox):
    """Follow-ups and tests call the same tasks without a run scope: each call does its work (the
    vendor-side keys keep it from duplicating anything)."""
    client = new_client()
    mail = Rendered("Hello", "<p>Hello</p>")

    @flow(validate_parameters=False)
    def twice() -> None:
        gmail.send_email(svc.clients.gmail, str(client.email), mail, key="twice", domain=client.domain)
        gmail.send_email(svc.clients.gmail, str(client.email), mail, key="twice", domain=client.domain)

    httpx.post(f"{flow_sandbox.root}/_sandbox/stats/reset").raise_for_status()
    twice()
    calls = httpx.get(f"{flow_sandbox.root}/_sandbox/calls").json()
    assert [c["method"] for c in calls] == ["GET", "POST", "GET"]  # the second found the first by Message-ID
