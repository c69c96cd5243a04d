"""A new-client run served by `onboard serve` (Prefect on Postgres) waits without holding a process.

At every wait the run suspends: its process ends (no process carries its flow-run id), the wait's
record says who it waits on and until when, the person asked was told at once. The client's intake
form is noticed by the waits sweep, which resumes the run; each staff answer resumes it through
Prefect's API as the UI's Resume does. The discovery notes and the kick-off outcome are asked only
when the meeting ends: until then the run waits, suspended and nobody told, and the waits sweep
resumes it at that time (its clock set: the meetings are a day or more ahead). Every resume starts the run again from the top: it skips
what it did (nothing is made twice: the natural-key census finds one of everything) and never asks
a question again. A second run for the same client is refused, naming the first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from services.settings import REPO

from .conftest import Served, wait_for

RUN_TIMEOUT = 540  # s: nine waits, each a fresh flow-run process (~10 s) plus the sweep's runs


def processes_of(run_id: str) -> list[int]:
    """Processes started for this flow run (Prefect's runner gives each PREFECT__FLOW_RUN_ID)."""
    mark = f"PREFECT__FLOW_RUN_ID={run_id}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if mark in (proc / "environ").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def sandbox_state(served: Served) -> dict[str, Any]:
    return httpx.get(f"{served.sandbox}/_sandbox/state", timeout=30).json()


def run_deployment(served: Served, name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    deployment = httpx.get(f"{served.api}/deployments/name/{name}", timeout=30).json()
    r = httpx.post(f"{served.api}/deployments/{deployment['id']}/create_flow_run", json={"parameters": parameters},
                   timeout=30)
    r.raise_for_status()
    return r.json()


def sweep_waits(served: Served, as_of: datetime | None = None) -> dict[str, int]:
    """One run of the waits sweep (``as_of``: its clock, else now), to its end."""
    run = run_deployment(served, "waits-sweep/waits-sweep", {"as_of": as_of.isoformat()} if as_of else {})
    done = wait_for("the waits sweep", lambda: (s := served.flow_run(run["id"])["state"])["type"] in
                    ("COMPLETED", "FAILED", "CRASHED") and s, 120, served)
    assert done["type"] == "COMPLETED", done
    return done


def resume(served: Served, run_id: str, answer: dict[str, Any]) -> None:
    r = httpx.post(f"{served.api}/flow_runs/{run_id}/resume", json={"run_input": answer}, timeout=30)
    assert r.json()["status"] == "ACCEPT", r.text


def read_input(served: Served, run_id: str, key: str) -> Any:
    r = httpx.get(f"{served.api}/flow_runs/{run_id}/input/{key}", timeout=30)
    return r.json() if r.status_code == 200 else None


# the waits about a meeting: the meeting's Calendar invite (by its title) and the wait's rule in config/onboarding.yaml
MEETINGS = {"discovery-call-notes": ("Discovery call", "discovery_notes"),
            "kick-off-outcome": ("Kick-off", "kickoff_outcome")}


def told(served: Served, what: str, company: str) -> bool:
    """The person asked was told (the Slack DM saying what is asked, and by when)."""
    return any(m.get("text", "").startswith(f"*{what}* for {company} needs your answer")
               for k, ms in sandbox_state(served)["slack"].items() if k.startswith("messages.") for m in ms)


def start_after_the_meeting(served: Served, run_id: str, key: str) -> None:
    """A run suspended until its wait about a meeting starts (``<name>-before``): the wait starts at the
    meeting's end (as booked in the calendar) and times out from it; nobody is told before. A waits
    sweep before that time leaves the run waiting; one at that time (its clock set: ``as_of``)
    resumes it, and the run then asks."""
    from services.settings import Settings

    name = key.removesuffix("-before")
    record = read_input(served, run_id, f"wait-{name}")
    summary, rule = MEETINGS[name]
    (event,) = [e for e in sandbox_state(served)["google"]["event"]
                if e["summary"].startswith(f"{summary} — {record['client']}")]
    asked = datetime.fromisoformat(record["asked_at"])
    assert asked == datetime.fromisoformat(record["not_before"]) == datetime.fromisoformat(event["end"]["dateTime"])
    assert asked > datetime.now(UTC)  # the meeting is ahead: booked a day or more from now
    assert datetime.fromisoformat(record["deadline"]) - asked == timedelta(hours=Settings().rules.wait(rule).timeout_hours)
    assert not told(served, record["what"], record["client"])
    sweep_waits(served, as_of=asked - timedelta(minutes=1))
    state = served.flow_run(run_id)["state"]
    assert state["name"] == "Suspended" and state["state_details"]["pause_key"] == key
    assert not told(served, record["what"], record["client"])
    sweep_waits(served, as_of=asked)  # resumes the run: it tells the person and waits for the answer
    wait_for(f"the run to ask for {record['what']}",
             lambda: served.flow_run(run_id)["state"]["state_details"].get("pause_key") == f"{name}-0", 180, served)
    assert told(served, record["what"], record["client"])


def sample_client(name: str, tag: str) -> tuple[dict[str, Any], str]:
    domain = f"{name.lower()}-{tag}.example"
    return ({"company_name": f"{name} {tag} Foods", "contact_person": f"{name} Khumalo", "contact_title": "CEO",
             "phone": "+27 82 555 0199", "email": f"{name.lower()}@{domain}", "website": f"https://www.{domain}",
             "source_of_lead": "referral", "budget": 150000, "industry": "retail",
             "requested_services": ["business_strategy", "marketing"], "timeline_weeks": 10,
             "preferred_communication": "email"}, domain)


def walk_waits(served: Served, run_id: str, client: dict[str, Any], at_each_wait=lambda key: None,
               after_answer=lambda key: None) -> list[str]:
    """Carry the run through its waits as the client (`onboard client`) and staff (the Resume API) do,
    checking at each that no process holds the run and that the wait is written down; calls
    ``at_each_wait(key)`` first (a test kills the worker there) and ``after_answer(key)`` after staff
    answered (a test crashes the resumed run there). Returns the pause keys met."""
    from app.people import staff_policy
    from sop.client import NewClient

    answer = staff_policy(NewClient.model_validate(client), "launch", revise_once=False)
    waits: list[str] = []
    seen_running_process = filled_in = False
    deadline = time.monotonic() + RUN_TIMEOUT
    while (state := served.flow_run(run_id)["state"])["type"] != "COMPLETED":
        assert time.monotonic() < deadline, f"run stuck in {state}\n{served.log_tail()}"
        assert state["type"] not in ("FAILED", "CRASHED", "CANCELLED"), f"{state}\n{served.log_tail()}"
        if state["type"] == "RUNNING":
            seen_running_process = seen_running_process or bool(processes_of(run_id))
        if state["name"] != "Suspended":
            time.sleep(0.2)
            continue
        key = state["state_details"]["pause_key"]
        if key not in waits:
            waits.append(key)
            wait_for(f"the process of the run to end at {key}", lambda: not processes_of(run_id), 60, served)
            record = read_input(served, run_id, f"wait-{key.rsplit('-', 1)[0]}")
            assert record and record["client"] == client["company_name"] and record["deadline"] > record["asked_at"]
            at_each_wait(key)
        if key.endswith("-before"):  # a wait about a meeting: the waits sweep starts it at the meeting's end
            start_after_the_meeting(served, run_id, key)
        elif key == "intake-form-0":  # the client fills in the form (`onboard client`); the sweep resumes the run
            if not filled_in:
                out = subprocess.run([sys.executable, "-m", "app.cli", "client", client["email"], "--company",
                                      client["company_name"]], cwd=REPO, capture_output=True, text=True,
                                     env={**os.environ, "ONBOARD_SANDBOX_URL": served.sandbox}, timeout=120)
                assert "filled in the form" in out.stdout, out.stdout + out.stderr
                filled_in = True
            sweep_waits(served)
        else:
            assert not processes_of(run_id), f"a process holds the run while it waits at {key}"
            data, _why = answer(key, "")
            resume(served, run_id, data)
            after_answer(key)
        time.sleep(0.5)
    assert seen_running_process  # the process check can see a run's process
    assert waits == ["intake-form-0", "discovery-call-notes-before", "discovery-call-notes-0", "solution-design-0",
                     "client-s-answer-to-proposal-v1-0", "contract-signature-confirmation-0", "kick-off-outcome-before",
                     "kick-off-outcome-0"], waits
    return waits


def assert_one_of_everything(served: Served, domain: str, company: str) -> None:
    """Exactly one of everything the run made, by each record's natural key (app/census.py)."""
    from app.census import natural_keys

    keys = natural_keys(sandbox_state(served))
    mine = {k: n for k, n in keys.items() if domain in k[1] or company in k[1]}
    assert mine and all(n == 1 for n in mine.values()), {k: n for k, n in mine.items() if n > 1}
    kinds = Counter(kind for kind, _ in mine)
    assert kinds["hubspot/object:companies"] == kinds["hubspot/object:deals"] == 1
    assert kinds["zoom/meeting"] >= 2 and kinds["google/message"] >= 8 and kinds["slack/message"] >= 5


def test_a_served_run_waits_without_a_process_and_completes_once(served):
    client, domain = sample_client("Nomvula", uuid.uuid4().hex[:8])
    run = run_deployment(served, "onboard-client/new-client", {"client": client})
    walk_waits(served, run["id"], client)
    assert served.flow_run(run["id"])["state"]["type"] == "COMPLETED"
    assert_one_of_everything(served, domain, client["company_name"])


def test_a_second_run_for_a_client_in_progress_is_refused(served):
    client, domain = sample_client("Lerato", uuid.uuid4().hex[:8])
    first = run_deployment(served, "onboard-client/new-client", {"client": client})
    wait_for("the first run to wait for the intake form",
             lambda: served.flow_run(first["id"])["state"]["name"] == "Suspended", 180, served)
    second = run_deployment(served, "onboard-client/new-client", {"client": client})
    wait_for("the second run to end", lambda: served.flow_run(second["id"])["state"]["type"] == "COMPLETED", 180, served)
    result = httpx.get(f"{served.api}/flow_runs/{second['id']}", timeout=30).json()
    first_name = served.flow_run(first["id"])["name"]

    def refusal() -> list[str]:  # the run's logs arrive in batches, after its state
        logs = httpx.post(f"{served.api}/logs/filter", json={"logs": {"flow_run_id": {"any_": [second["id"]]}}},
                          timeout=30).json()
        return [log["message"] for log in logs if "already being onboarded by" in log["message"]]

    (message,) = wait_for("the refusal in the second run's log", refusal, 30, served)
    assert first_name in message and first["id"] in message, message
    assert result["state"]["type"] == "COMPLETED"

    # `onboard cancel` stops the waiting run (it holds no process: cancelled at once) and archives
    env = {**os.environ, "PREFECT_API_URL": served.api, "ONBOARD_SANDBOX_URL": served.sandbox}
    # `onboard status` says where the client is and who it waits on
    out = subprocess.run([sys.executable, "-m", "app.cli", "status", domain, "--json"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    (row,) = json.loads(out.stdout)
    assert row["client"] == domain and row["state"] == "Suspended" and row["phase"] == "1 — initial contact"
    assert row["waiting_for"] == "Intake form" and row["waits_on"] == "client" and row["step"] == "A2.1 B1.2"
    assert row["answer_at"].startswith("http") and row["deadline"] > row["since"]

    out = subprocess.run([sys.executable, "-m", "app.cli", "cancel", domain, "--reason", "the client withdrew"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"run '{first_name}' cancelled" in out.stdout, out.stdout
    assert served.flow_run(first["id"])["state"]["type"] == "CANCELLED"
    assert "company marked cancelled" in out.stdout


def task_runs_of(served: Served, run_id: str) -> int:
    r = httpx.post(f"{served.api}/task_runs/count", json={"flow_runs": {"id": {"any_": [run_id]}}}, timeout=30)
    r.raise_for_status()
    return r.json()


def test_a_week_long_wait_costs_no_task_run_while_it_waits(served):
    """The intake form is never answered: the waits sweep, run with its clock set through the week
    (as_of: days skipped, none slept), reminds the client at 48, 96 and 144 hours and ends the wait
    at 168. The waiting run itself makes no task run until then; afterwards it follows the timeout
    path (escalate) and goes on to wait for the discovery call's end (then its notes)."""
    client, domain = sample_client("Ayanda", uuid.uuid4().hex[:8])
    run = run_deployment(served, "onboard-client/new-client", {"client": client})
    wait_for("the run to wait for the intake form",
             lambda: served.flow_run(run["id"])["state"]["state_details"].get("pause_key") == "intake-form-0"
             and served.flow_run(run["id"])["state"]["name"] == "Suspended", 180, served)
    record = read_input(served, run["id"], "wait-intake-form")
    asked = datetime.fromisoformat(record["asked_at"])
    assert datetime.fromisoformat(record["deadline"]) - asked == timedelta(hours=168)
    before = task_runs_of(served, run["id"])

    sweeps = []
    for hours in (1, 24, 47, 49, 95, 97, 143, 145, 167):
        sweep = run_deployment(served, "waits-sweep/waits-sweep", {"as_of": (asked + timedelta(hours=hours)).isoformat()})
        wait_for("the sweep", lambda s=sweep: served.flow_run(s["id"])["state"]["type"] == "COMPLETED", 120, served)
        sweeps.append(sweep["id"])
        assert served.flow_run(run["id"])["state"]["name"] == "Suspended", hours
        assert task_runs_of(served, run["id"]) == before, f"the waiting run made task runs by hour {hours}"
    reminders = [m for m in sandbox_state(served)["google"]["message"]
                 if f"@{domain}>" in (m.get("_headers") or {}).get("message-id", "")
                 and "intake-request-" in m["_headers"]["message-id"]]
    assert sorted(m["_headers"]["message-id"].strip() for m in reminders) == \
        [f"<intake-request-{n}@{domain}>" for n in range(4)]  # the request, then one reminder a 48 hours
    # the sweeps' own task runs: one email per reminder of this wait (plus those of other waiting runs
    # of the served server, reminded by the same sweeps)
    sweep_task_runs = sum(task_runs_of(served, s) for s in sweeps)
    assert sweep_task_runs >= 3

    end = run_deployment(served, "waits-sweep/waits-sweep", {"as_of": (asked + timedelta(hours=169)).isoformat()})
    wait_for("the sweep at the deadline", lambda: served.flow_run(end["id"])["state"]["type"] == "COMPLETED", 120, served)
    wait_for("the run to go on to wait for the discovery call's end, then its notes",
             lambda: served.flow_run(run["id"])["state"]["state_details"].get("pause_key")
             == "discovery-call-notes-before", 180, served)
    after = task_runs_of(served, run["id"])
    print(f"168-hour wait: {before} task runs before it, 0 while it waited ({len(sweeps)} sweeps; "
          f"3 reminder emails, {sweep_task_runs} task runs in the sweeps for every waiting run), {after - before} when it ended (one re-run of "
          f"the steps before it, cached, plus the timeout path)")
    assert after - before <= 40
    manager_dms = [m for k, ms in sandbox_state(served)["slack"].items() if k.startswith("messages.") for m in ms
                   if "Escalation: the intake form was not answered" in m.get("text", "") and client["company_name"] in m["text"]]
    assert manager_dms  # the timeout path: the account manager told


def test_a_retry_of_a_crashed_run_asks_nothing_again_and_makes_nothing_twice(served):
    """The run's process is killed mid-phase 2, just after the solution design was answered: Prefect's
    runner marks it Crashed. Retry (as the UI's ⋮ → Retry: the run set AwaitingRetry) continues it:
    the solution design is not asked again, the run completes with one of everything."""
    import signal

    client, domain = sample_client("Thabo", uuid.uuid4().hex[:8])
    run = run_deployment(served, "onboard-client/new-client", {"client": client})
    crashed = []

    def crash_after_the_solution_design(key: str) -> None:
        if key != "solution-design-0" or crashed:
            return
        pids = wait_for("the resumed run running in its process", lambda: served.flow_run(run["id"])["state"]["type"]
                        == "RUNNING" and processes_of(run["id"]), 60, served, poll=0.05)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        wait_for("the run to be marked Crashed", lambda: served.flow_run(run["id"])["state"]["type"] == "CRASHED",
                 60, served)
        crashed.append(key)
        r = httpx.post(f"{served.api}/flow_runs/{run['id']}/set_state", timeout=30, json={"state": {
            "type": "SCHEDULED", "name": "AwaitingRetry", "message": "Retry from the UI"}})
        assert r.json()["status"] == "ACCEPT", r.text

    waits = walk_waits(served, run["id"], client, after_answer=crash_after_the_solution_design)
    assert crashed and waits.count("solution-design-0") == 1  # not asked again after the retry
    assert_one_of_everything(served, domain, client["company_name"])
