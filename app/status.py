"""`onboard status`: where every client's onboarding is, who it waits on, since when, and where to answer."""

from __future__ import annotations

from typing import Any

from flows.onboarding.client_runs import unfinished_runs
from flows.people.waits import WaitRecord, run_url, wait_input


def client_status(domain: str | None = None) -> list[dict[str, Any]]:
    """One row per unfinished new-client run (of ``domain``, or of every client), oldest first."""
    from prefect.input import read_flow_run_input

    rows = []
    for run in unfinished_runs(domain):
        state = run.state
        row: dict[str, Any] = {
            "client": next(t.removeprefix("client:") for t in run.tags if t.startswith("client:")),
            "run": run.name, "state": state.name if state else "unknown",
            "since": state.timestamp.isoformat(timespec="seconds") if state else None,
            "phase": None, "step": None, "waiting_for": None, "waits_on": None, "deadline": None,
            "answer_at": run_url(str(run.id)),
        }
        key = state.state_details.pause_key if state and state.is_paused() else None
        stored = read_flow_run_input(wait_input(key.rsplit("-", 1)[0]), flow_run_id=run.id) if key else None
        if stored:
            wait = WaitRecord.model_validate(stored)
            row.update(step=wait.step, phase=wait.phase or None,
                       waiting_for=wait.what, waits_on=wait.waits_on, deadline=wait.deadline.isoformat(),
                       since=wait.asked_at.isoformat(timespec="seconds"), answer_at=wait.link)
        rows.append(row)
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no onboarding in progress"
    lines = []
    for r in rows:
        if r["waiting_for"]:
            lines.append(f"{r['client']}: phase {r['phase']}, step {r['step']}: waiting for {r['waiting_for']} "
                         f"on {r['waits_on']} since {r['since']} (until {r['deadline']}): {r['answer_at']}")
        else:
            lines.append(f"{r['client']}: {r['state']} since {r['since']}: {r['answer_at']}")
    return "\n".join(lines)
