"""A served new-client run cancelled from the API (as from the UI's Cancel) while it waits, suspended:
no process holds it, so the waits sweep ends it Cancelled and calls its on_cancellation hook, which
archives what the run had made (flows/onboarding/cancel.py)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from .conftest import Served, wait_for
from .test_durable_waits import sweep_waits

STEP_TIMEOUT = 120  # s: the run reaching its first pause; the runner stopping it and the hook archiving


def sandbox_state(served: Served, vendor: str) -> dict[str, Any]:
    return httpx.get(f"{served.sandbox}/_sandbox/state", params={"vendor": vendor}, timeout=30).json()[vendor]


def test_cancelling_a_served_run_archives_what_it_made(served):
    from app.people import INTAKE_ANSWERS, ClientActor

    tag = uuid.uuid4().hex[:8]
    domain, email = f"thandeka-{tag}.example", f"sipho@thandeka-{tag}.example"
    client = {"company_name": f"Thandeka {tag} Works", "contact_person": "Sipho Dube", "contact_title": "Owner",
              "phone": "+27 82 555 0144", "email": email, "website": f"https://www.{domain}",
              "source_of_lead": "website", "budget": 150000, "industry": "retail",
              "requested_services": ["business_strategy", "marketing"], "timeline_weeks": 10,
              "preferred_communication": "slack"}
    deployment = httpx.get(f"{served.api}/deployments/name/onboard-client/new-client", timeout=30).json()
    run = httpx.post(f"{served.api}/deployments/{deployment['id']}/create_flow_run",
                     json={"parameters": {"client": client}}, timeout=30).json()
    actor = ClientActor(served.sandbox, email, INTAKE_ANSWERS, say=lambda m: None).start()  # fills in the intake form
    try:
        def waiting_for_the_call() -> bool:
            state = served.flow_run(run["id"])["state"]
            if state["name"] == "Suspended" and state["state_details"]["pause_key"] == "intake-form-0":
                sweep_waits(served)  # notices the client's answer and resumes the run
            return state["name"] == "Suspended" and state["state_details"]["pause_key"] == "discovery-call-notes-before"

        wait_for("the run to wait for the discovery call (its notes are asked after it)", waiting_for_the_call,
                 STEP_TIMEOUT, served, poll=1)
    finally:
        actor.stop()
    events = [e for e in sandbox_state(served, "google").get("event", []) if domain in str(e.get("attendees"))]
    assert [e["status"] for e in events] == ["confirmed"]  # the discovery call is booked
    assert any(m["topic"].startswith(f"Discovery call — Thandeka {tag}") for m in sandbox_state(served, "zoom")["meeting"])

    r = httpx.post(f"{served.api}/flow_runs/{run['id']}/set_state",
                   json={"state": {"type": "CANCELLING", "message": "the client withdrew"}}, timeout=30)
    # no process holds a suspended run: Prefect ends it Cancelled at once; the waits sweep runs its hook
    assert r.json()["status"] in ("ACCEPT", "REJECT") and r.json()["state"]["type"] == "CANCELLED", r.text
    assert sweep_waits(served)["type"] == "COMPLETED"

    def archived() -> dict[str, Any] | None:
        hub = sandbox_state(served, "hubspot")
        company = next(c for c in hub["object:companies"] if c["properties"].get("domain") == domain)
        return company if company["properties"].get("onboarding_status") == "cancelled" else None

    wait_for("the cancellation hook to archive the onboarding", archived, STEP_TIMEOUT, served)
    wait_for("the run to end Cancelled", lambda: served.flow_run(run["id"])["state"]["type"] == "CANCELLED",
             STEP_TIMEOUT, served)
    events = [e for e in sandbox_state(served, "google").get("event", []) if domain in str(e.get("attendees"))]
    assert [e["status"] for e in events] == ["cancelled"]
    assert not any(f"Thandeka {tag}" in m["topic"] for m in sandbox_state(served, "zoom").get("meeting", []))
    hub = sandbox_state(served, "hubspot")
    deal = next(d for d in hub["object:deals"] if d["properties"].get("onboarding_key") == domain)
    pipeline = next(p for p in hub["pipeline:deals"] if p["id"] == deal["properties"]["pipeline"])
    assert next(s["label"] for s in pipeline["stages"] if s["id"] == deal["properties"]["dealstage"]) == "Closed lost"
    notes = [n["properties"]["hs_note_body"] for n in hub["object:notes"]
             if n["properties"].get("onboarding_note_key") == f"{domain}:cancelled"]
    # Prefect keeps no message when it ends a suspended run itself (the UI's Cancel gives none either)
    assert len(notes) == 1 and notes[0].startswith("Onboarding cancelled: the run was cancelled"), notes
