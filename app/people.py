"""Simulated people for the demo and tests: staff answering approvals through the Prefect API,
a client filling in forms and accepting invites through the sandbox, and the signers of a Dropbox
Sign request signing in turn through the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
from prefect.client.schemas.objects import StateType
from prefect.events.clients import get_events_subscriber
from prefect.events.filters import EventFilter, EventNameFilter
from prefect.exceptions import NotPausedError
from prefect.flow_runs import resume_flow_run

from flows.people.approvals import package_choice
from services.settings import Settings
from sop.client import NewClient

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
    """Answers paused runs' forms through the Prefect API, as a colleague would in the UI.

    It hears of each pause from Prefect's event stream (``prefect.flow-run.Paused``) and answers at
    once; every ``catch_up`` seconds without an event it also looks for paused runs itself (a pause
    from before it started, or an event it missed)."""

    policy: Policy
    say: Callable[[str], None] = print
    catch_up: float = 1.0
    answered: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _done: set[tuple[str, str]] = field(default_factory=set)

    def _run(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        pauses: asyncio.Queue[str] = asyncio.Queue()
        on_pause = EventFilter(event=EventNameFilter(name=["prefect.flow-run.Paused"]))
        async with get_client() as client, get_events_subscriber(filter=on_pause) as events:
            listening = asyncio.create_task(self._listen(events, pauses))
            try:
                await self._answer_paused(client)
                while not self._stop.is_set():
                    try:
                        run_id = await asyncio.wait_for(pauses.get(), timeout=self.catch_up)
                    except TimeoutError:
                        run_id = None
                    try:
                        if run_id is None:
                            await self._answer_paused(client)
                        else:
                            await self._answer(client, await client.read_flow_run(UUID(run_id)))
                    except Exception as exc:  # noqa: BLE001 - one failed answer must not silence the colleague
                        self.say(f"[staff] could not answer {run_id or 'the paused runs'}: {exc}")
            finally:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await listening

    @staticmethod
    async def _listen(events, pauses: asyncio.Queue[str]) -> None:
        async for event in events:
            pauses.put_nowait(event.resource.id.removeprefix("prefect.flow-run."))

    async def _answer_paused(self, client) -> None:
        paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED])))
        for run in await client.read_flow_runs(flow_run_filter=paused):
            await self._answer(client, run)

    async def _answer(self, client, run) -> None:
        if not (run.state and run.state.is_paused()):
            return
        key = run.state.state_details.pause_key or ""
        if not run.state.state_details.run_input_keyset:  # no form: a wait for a meeting to end, not a question
            return
        if (str(run.id), key) in self._done:
            return
        decision = self.policy(key, run.name)
        if decision is None:
            return
        answer, why = decision
        for _ in range(100):
            try:
                await resume_flow_run(run.id, run_input=answer)
                break
            except NotPausedError:  # timed out (or answered) between the read and the resume
                return
            except RuntimeError as exc:
                # the Paused event can come before the run has saved its form: answer once it has
                if "schema not found" not in str(exc):
                    raise
                await asyncio.sleep(0.02)
        else:
            return
        self._done.add((str(run.id), key))
        self.answered.append((key, answer))
        self.say(f"[staff] answered {key.rsplit('-', 1)[0]}: {why}")  # the answers themselves: `--json`


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
        done: set[str] = set()
        with httpx.Client(base_url=self.sandbox_root, timeout=30) as http:
            while not self._stop.wait(self.poll):
                for line in self.act_once(http, done):
                    self.say(line)

    def act_once(self, http: httpx.Client, done: set[str] | None = None) -> list[str]:
        """Answer the client's unanswered forms and accept its pending invites, once; what was done."""
        done = set() if done is None else done
        said = []
        google = http.get("/_sandbox/state", params={"vendor": "google", "kind": [
            "form", "form_response", "event"]}).json()["google"]
        for form in google.get("form", []):
            fid = form["formId"]
            if fid in done or any(r.get("formId") == fid for r in google.get("form_response", [])):
                done.add(fid)
                continue
            if self.company and self.company not in form["info"]["title"]:
                continue
            if not form.get("publishSettings", {}).get("publishState", {}).get("isAcceptingResponses", True):
                continue  # not published yet (made, then published: a client opens it only after)
            titles = {i.get("title") for i in form.get("items", [])}
            answers = {t: a for t, a in self.form_answers.items() if t in titles}
            if answers:
                answered = http.post(f"/_sandbox/google/forms/{fid}/responses",
                                     json={"answers": answers, "respondentEmail": self.email})
                if answered.is_client_error:  # the form refused it: say so, try again next time
                    said.append(f"[client] could not answer '{form['info']['title']}': {answered.text[:200]}")
                    continue
                answered.raise_for_status()
                done.add(fid)
                said.append(f"[client] filled in the form '{form['info']['title']}'")
        for event in google.get("event", []):
            mine = [a for a in event.get("attendees", []) if a["email"] == self.email]
            if event["id"] in done or not mine or mine[0].get("responseStatus") != "needsAction":
                continue
            http.post(f"/_sandbox/google/calendars/{event['_calendar']}/events/{event['id']}/respond",
                      json={"email": self.email, "responseStatus": "accepted"}).raise_for_status()
            done.add(event["id"])
            said.append(f"[client] accepted the invite '{event['summary']}'")
        return said


@dataclass
class Signers(_Background):
    """The people who sign in Dropbox Sign: for each signature request of the client ``domain`` (its
    metadata), whoever's turn it is acts as ``actions`` says (their email -> "sign" or "decline"),
    through the sandbox's signer routes (``/_sandbox/dropbox_sign/{id}/sign``), in the request's order."""

    sandbox_root: str
    domain: str
    actions: dict[str, str]
    say: Callable[[str], None] = print
    poll: float = 0.3
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        with httpx.Client(base_url=self.sandbox_root, timeout=30) as http:
            while not self._stop.wait(self.poll):
                for line in self.act_once(http):
                    self.say(line)

    def act_once(self, http: httpx.Client) -> list[str]:
        said = []
        state = http.get("/_sandbox/state", params={"vendor": "dropbox_sign", "kind": "signature_request"}).json()
        for req in state.get("dropbox_sign", {}).get("signature_request", []):
            if (req["metadata"].get("client_domain") != self.domain or req["_cancelled"] or req["is_complete"]
                    or req["is_declined"]):
                continue
            turn = next((s for s in req["signatures"] if s["status_code"] == "awaiting_signature"), None)
            action = self.actions.get(turn["signer_email_address"]) if turn else None
            if action not in ("sign", "decline"):
                continue
            body = {"email": turn["signer_email_address"]}
            if action == "decline":
                body["reason"] = "We would rather sign on paper"
            http.post(f"/_sandbox/dropbox_sign/{req['signature_request_id']}/{action}", json=body).raise_for_status()
            said.append(f"[{turn['signer_name']}] {action.rstrip('e')}ed '{req['title']}' in Dropbox Sign")
        return said


# ------------------------------------------------------------------ what the demo's people answer

INTAKE_ANSWERS = {
    "Tell us about your business": "A regional retailer of home goods with 14 stores.",
    "What are your goals for this project?": "Open in two new provinces and lift online sales by 30%.",
    "How do you prefer to communicate?": "Slack",
    "Any specific requirements or constraints?": "Board approval needed for spend over R100k.",
    "What budget have you set aside (ZAR)?": "120000",
    "Which industry are you in?": "Retail",
    "When do you need results by?": "Within 12 weeks",
}


def staff_policy(client: NewClient, package_key: str, revise_once: bool = True):
    """How the demo's staff answer each approval, and why (printed as they answer)."""
    asked: dict[str, int] = {}

    def answer(pause_key: str, run_name: str = "") -> tuple[dict[str, Any], str] | None:
        what = pause_key.rsplit("-", 1)[0]  # e.g. "discovery-call-notes" (see flows.waits.slug)
        asked[what] = asked.get(what, 0) + 1
        if what.startswith("discovery-call-notes"):
            return ({"expectations": "Expansion plan and a marketing engine they can run themselves",
                     "deliverables": "Strategy, marketing plan, operations playbook",
                     "deadlines": "Board presentation in 8 weeks"}, "the specialist's notes from the call")
        if what.startswith("qualification-decision"):
            return {"decision": "qualify", "reason": "strategic fit despite the budget"}, "a good fit"
        if what.startswith("solution-design"):
            return ({"package": package_choice(Settings().rules, package_key), "scope": f"Strategy, marketing and operations support for "
                     f"{client.company_name}'s expansion.", "consulted": "Operations"},
                    "the catalogue package that covers the requested services within budget")
        if what == "client-s-answer-to-proposal-v1" and revise_once:
            return ({"decision": "revise", "change_notes": "Split payment into 3",
                     "add_deliverables": "Monthly KPI dashboard"}, "the client asked for two changes")
        if what.startswith("client-s-answer-to-proposal"):
            return {"decision": "accept"}, "the client accepted the revised proposal"
        if what.startswith("contract-declined"):
            return {"decision": "signed_on_paper", "note": "the client signed a paper copy"}, "signed on paper instead"
        if what.startswith(("contract-signature-confirmation", "contract-signed-on-paper")):
            return ({"client_signatory": client.contact_person, "provider_signatory": "Lindiwe Dlamini",
                     "signed_on": time.strftime("%Y-%m-%d"),
                     "signed_copy_url": f"https://esign.example/{client.domain}/signed.pdf"},
                    "both parties signed electronically")
        if what.startswith("invoice-approval"):
            return {"decision": "approve"}, "Finance checked the amounts and the client's details"
        if what.startswith("kick-off-outcome"):
            return ({"objectives": "Two new provinces live; online sales +30%",
                     "timeline": "12 weeks from the start date, review at week 6",
                     "next_steps": "Access to POS data (ops), brand assets (client)"}, "what the kick-off confirmed")
        return None

    return answer
