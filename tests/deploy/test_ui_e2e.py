"""`onboard serve` as staff use it, in headless Chromium: open the new-client deployment, fill in its
form (a mistyped email is refused by the form itself), start the run, see its SOP artifact while it
waits, answer the first approval (Discovery call notes) from a Resume dialog that names it and shows
its context, and see the run move on.

Debian's `chromium` (/usr/bin/chromium) driven by Playwright; `.ci/run` installs it on CI. Only the
client is simulated (a ClientActor fills in the intake form through the sandbox); everything staff
do goes through the UI. On failure a screenshot and the page's accessibility tree land in /tmp.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Served, wait_for
from .test_durable_waits import start_after_the_meeting, sweep_waits

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage",
                 "--disable-extensions", "--no-first-run", "--mute-audio"]
STEP_TIMEOUT = 120  # s: the run reaching a pause, the next step after an answer


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing on CI: .ci/run installs Debian's chromium package")
    pytest.skip(f"{CHROMIUM} is missing (install it: apt-get install -y chromium); not on CI, so skipped")


# ------------------------------------------------------------------------------ the browser


@pytest.fixture
def page(served):
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(30_000)
        yield context.new_page()
        context.close()
        browser.close()


@contextmanager
def step(page, name: str, served: Served):
    """A named step of the test; on failure a screenshot and accessibility tree of the page in /tmp."""
    try:
        yield
    except BaseException:
        stem = f"/tmp/onboard-e2e-{time.strftime('%H%M%S')}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}"
        try:
            page.screenshot(path=f"{stem}.png", full_page=True)
            Path(f"{stem}.aria.txt").write_text(f"{page.url}\n{page.locator('body').aria_snapshot()}")
            Path(f"{stem}.serve.log").write_text(served.log_tail(200_000))
            print(f"\n[e2e] step '{name}' failed; see {stem}.png, {stem}.aria.txt, {stem}.serve.log")
        except Exception as exc:  # noqa: BLE001 — the browser may be what failed
            print(f"\n[e2e] step '{name}' failed; no screenshot ({exc})")
        raise


def choose(page, select_button: str, *options: str) -> None:
    """A dropdown of the parameter form (an enum, or an array of enums): open it, pick each option, close.

    The form re-renders (and reorders its fields) as values change, which now and then swallows the
    click that opens a dropdown: reopen until the option can be picked."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for option in options:
        for _ in range(5):
            if not page.get_by_role("listbox").is_visible():
                page.get_by_role("button", name=select_button).click()
            try:
                page.get_by_role("option", name=option, exact=True).click(timeout=3_000)
                break
            except PlaywrightTimeout:
                page.keyboard.press("Escape")
        else:
            raise AssertionError(f"could not pick {option!r} in {select_button!r}")
    page.keyboard.press("Escape")


def submit_until(page, started: Callable[[], Any], tries: int = 3, wait: float = 10) -> None:
    """Submit the parameter form until the run exists. The form re-renders as the corrected field is
    re-validated, which can swallow a click on Submit (seen once on CI: no run, no error): while the page
    is still the form and no run exists after `wait` seconds, click again (the UI creates a run in well
    under a second, so a second click never makes a second run)."""
    for _ in range(tries):
        page.get_by_role("button", name="Submit").click()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if started() or not re.search(r"/run(\?|$)", page.url):  # the run exists, or the UI left the form
                return
            time.sleep(0.5)


# ------------------------------------------------------------------------------ the test


def test_staff_start_a_new_client_and_answer_the_first_approval_in_the_ui(served, page):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    from app.people import INTAKE_ANSWERS, ClientActor

    tag = uuid.uuid4().hex[:8]
    company, email = f"Kgosi {tag} Outfitters", f"lerato@kgosi-{tag}.example"
    notes = {"Expectations": f"A marketing engine they can run themselves ({tag})",
             "Deliverables": "Strategy, 90-day marketing plan", "Deadlines": "Board meeting in 8 weeks",
             "Pain points (Optional)": "Flat online sales"}
    client = ClientActor(served.sandbox, email, INTAKE_ANSWERS, say=lambda m: None).start()  # the client's side
    try:
        with step(page, "open the new-client deployment", served):
            page.goto(served.ui)  # the printed address: the UI's dashboard
            page.get_by_role("link", name="Deployments", exact=True).click()
            page.get_by_role("link", name="new-client", exact=True).click()
            expect(page.get_by_role("navigation", name="breadcrumb")).to_contain_text("new-client")

        with step(page, "fill in the new-client form", served):
            page.get_by_role("button", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Custom run").click()
            expect(page.get_by_role("heading", name="Parameters")).to_be_visible()
            page.get_by_role("textbox", name="Company name").fill(company)
            page.get_by_role("textbox", name="Contact person").fill("Lerato Kgosi")
            page.get_by_role("textbox", name="Contact's job title").fill("Managing Director")
            page.get_by_role("textbox", name="Phone", exact=True).fill("+27 82 555 0123")
            page.get_by_role("textbox", name="Email", exact=True).fill(f"lerato@kgosi-{tag},example")  # a typo
            page.get_by_role("textbox", name="Website").fill(f"https://www.kgosi-{tag}.example")
            choose(page, "Select Source of the lead", "referral")
            page.get_by_role("spinbutton", name="Budget").fill("150000")
            choose(page, "Select Industry", "retail")
            choose(page, "Select Service", "business_strategy", "marketing")
            page.get_by_role("spinbutton", name="Timeline (weeks)").fill("12")
            choose(page, "Select Preferred communication", "slack")
            page.get_by_role("textbox", name="Notes (Optional)").fill("Entered in the UI by the e2e test")

        with step(page, "the form refuses the mistyped email", served):
            page.get_by_role("button", name="Submit").click()
            # refused at the form (the field's error) and by the server (Prefect checks the schema)
            expect(page.get_by_text(re.compile(r"does not match")).first).to_be_visible()
            assert not [r for r in served.flow_runs() if company in str(r["parameters"])], "a run started"
            page.get_by_role("textbox", name="Email", exact=True).fill(email)

        with step(page, "start the run", served):
            # the run, from the API (the toast saying it was scheduled can come and go before it is seen)
            started = lambda: [
                r for r in served.flow_runs() if (r["parameters"].get("client") or {}).get("email") == email]
            submit_until(page, started)
            wait_for("the run started from the form", started, 30, served)
            try:  # the toast's link to the new run
                page.get_by_role("link", name="View run").click(timeout=10_000)
                page.wait_for_url(re.compile(r"/runs/flow-run/[0-9a-f-]{36}"))
            except PlaywrightTimeout:  # the toast went before the click: the run from the API, its page by URL
                mine = [r for r in served.flow_runs() if (r["parameters"].get("client") or {}).get("email") == email]
                assert mine, "no flow run with the client entered in the form"
                page.goto(f"{served.ui}/v2/runs/flow-run/{mine[0]['id']}")
            run_id = re.search(r"/flow-run/([0-9a-f-]{36})", page.url).group(1)
            entered = {k: v for k, v in served.flow_run(run_id)["parameters"]["client"].items() if v not in (None, "")}
            assert entered == {
                "company_name": company, "contact_person": "Lerato Kgosi", "contact_title": "Managing Director",
                "phone": "+27 82 555 0123", "email": email, "website": f"https://www.kgosi-{tag}.example",
                "source_of_lead": "referral", "budget": 150000, "industry": "retail",
                "requested_services": ["business_strategy", "marketing"], "timeline_weeks": 12,
                "preferred_communication": "slack", "notes": "Entered in the UI by the e2e test"}

        def waiting_at(key: str) -> bool:
            state = served.flow_run(run_id)["state"]
            if state["type"] in ("FAILED", "CRASHED", "CANCELLED", "COMPLETED"):
                raise AssertionError(f"the run ended {state['type']} before '{key}':\n{served.log_tail()}")
            at = state["state_details"].get("pause_key") if state["name"] == "Suspended" else None
            if at == "intake-form-0" and key != at:
                sweep_waits(served)  # notices the client's answer (the sweep runs every 5 minutes)
            if at == "discovery-call-notes-before" and key != at:
                start_after_the_meeting(served, run_id, at)  # the sweep at the call's end (its clock set)
            return at == key

        with step(page, "the run waits for the discovery call notes, holding no process", served):
            wait_for("the wait for the discovery call notes (after the intake form)",
                     lambda: waiting_at("discovery-call-notes-0"), STEP_TIMEOUT, served, poll=1)

        with step(page, "the SOP artifact shows what the run waits for", served):
            page.reload()
            page.get_by_role("tab", name="Artifacts").click()
            expect(page.get_by_text(re.compile(r"onboarding-kgosi-")).first).to_be_visible()
            artifacts = httpx.post(f"{served.api}/artifacts/filter", timeout=30,
                                   json={"artifacts": {"flow_run_id": {"any_": [run_id]}}}).json()
            latest = max(artifacts, key=lambda a: a["created"])
            assert "Waiting: Discovery call notes" in latest["data"] and "| waiting |" in latest["data"]

        with step(page, "answer the approval form", served):
            page.get_by_role("main").get_by_role("button", name="Open menu").first.click()
            page.get_by_role("menuitem", name="Resume").click()
            dialog = page.get_by_role("dialog", name="Resume Flow Run")
            expect(dialog.get_by_text(re.compile(r"Discovery call notes.*SOP step A2\.3"))).to_be_visible()
            expect(dialog.get_by_text(company, exact=True)).to_be_visible()
            # the client's intake answers, to write the notes with
            expect(dialog.get_by_text(re.compile(r"What are your goals for this project\?: Open in two new"))).to_be_visible()
            for label, text in notes.items():
                dialog.get_by_role("textbox", name=label, exact=True).fill(text)
            dialog.get_by_role("button", name="Resume", exact=True).click()
            expect(page.get_by_text("Flow run resumed")).to_be_visible()
            expect(dialog).to_be_hidden()

        with step(page, "the run moves on", served):
            wait_for("the next approval (solution design, phase 2)",
                     lambda: waiting_at("solution-design-0"), STEP_TIMEOUT, served)
            hub = httpx.get(f"{served.sandbox}/_sandbox/state", timeout=30).json()["hubspot"]
            bodies = [n["properties"].get("hs_note_body") or "" for n in hub.get("object:notes", [])]
            assert any(notes["Expectations"] in b for b in bodies), "the typed notes are not on the HubSpot note"
    finally:
        client.stop()
