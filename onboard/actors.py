"""Simulated people for the demo and tests: staff answering approvals through the Prefect API,
and a client filling in forms and accepting invites through the sandbox."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.exceptions import NotPausedError
from prefect.flow_runs import resume_flow_run

# (answer, why) for a pause key such as "discovery-call-notes-0" in the flow run named e.g.
# "phase 1 — Acme Corp" (several clients may wait at once); None leaves the pause alone.
Policy = Callable[[str, str], tuple[dict[str, Any], str] | None]


class _Background:
    """start()/stop() for an actor whose ``_run`` loops until ``_stop`` is set. The thread runs in a
    copy of the caller's context, so the caller's Prefect settings (API URL) carry into it."""

    _stop: threading.Event
    _thread: threading.Thread | None

    def start(self):
        ctx = contextvars.copy_context()
        self._thread = threading.Thread(target=ctx.run, args=(self._run,), name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        raise NotImplementedError


@dataclass
class Staff(_Background):
    """Answers paused runs' forms through the Prefect API, as a colleague would in the UI."""

    policy: Policy
    say: Callable[[str], None] = print
    poll: float = 0.3
    answered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        done: set[tuple[str, str]] = set()
        paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])))
        async with get_client() as client:
            while not self._stop.is_set():
                for run in await client.read_flow_runs(flow_run_filter=paused):
                    key = run.state.state_details.pause_key or ""
                    if (str(run.id), key) in done:
                        continue
                    decision = self.policy(key, run.name)
                    if decision is None:
                        continue
                    answer, why = decision
                    try:
                        await resume_flow_run(run.id, run_input=answer)
                    except NotPausedError:  # timed out (or answered) between the read and the resume
                        continue
                    done.add((str(run.id), key))
                    self.answered.append((key, answer))
                    self.say(f"[staff] {key.rsplit('-', 1)[0]}: {answer} — {why}")
                await asyncio.sleep(self.poll)


@dataclass
class ClientActor(_Background):
    """Does what the client does: answers intake forms and accepts invites, via /_sandbox routes."""

    sandbox_root: str
    email: str
    form_answers: dict[str, str]  # question title -> answer
    say: Callable[[str], None] = print
    company: str = ""  # answer only forms whose title names this company (several clients at once)
    poll: float = 0.3
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        answered_forms: set[str] = set()
        accepted: set[str] = set()
        with httpx.Client(base_url=self.sandbox_root, timeout=30) as http:
            while not self._stop.wait(self.poll):
                google = http.get("/_sandbox/state", params={"vendor": "google", "kind": [
                    "form", "form_response", "event"]}).json()["google"]
                for form in google.get("form", []):
                    fid = form["formId"]
                    if fid in answered_forms or any(r.get("formId") == fid for r in google.get("form_response", [])):
                        answered_forms.add(fid)
                        continue
                    if self.company and self.company not in form["info"]["title"]:
                        continue
                    titles = {i.get("title") for i in form.get("items", [])}
                    answers = {t: a for t, a in self.form_answers.items() if t in titles}
                    if answers:
                        http.post(f"/_sandbox/google/forms/{fid}/responses",
                                  json={"answers": answers, "respondentEmail": self.email}).raise_for_status()
                        answered_forms.add(fid)
                        self.say(f"[client] filled in the form '{form['info']['title']}'")
                for event in google.get("event", []):
                    mine = [a for a in event.get("attendees", []) if a["email"] == self.email]
                    if event["id"] in accepted or not mine or mine[0].get("responseStatus") != "needsAction":
                        continue
                    http.post(f"/_sandbox/google/calendars/{event['_calendar']}/events/{event['id']}/respond",
                              json={"email": self.email, "responseStatus": "accepted"}).raise_for_status()
                    accepted.add(event["id"])
                    self.say(f"[client] accepted the invite '{event['summary']}'")
