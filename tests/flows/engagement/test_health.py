"""Client health (SOP-B 4.2) against the sandbox: overdue Asana tasks and declined check-ins turn a
client red, its account manager hears it once (Slack DM + email + CRM note); a green client stays quiet."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from flows.engagement.check_in import check_in
from flows.engagement.health import client_health, health_rows
from flows.engagement.sweep import FLOW_FOR
from integrations.google import event_id_for
from sop.timeline import ActionKind
from tests.flows.conftest import decode_email
from tests.flows.engagement.conftest import BASE

MANAGER = "lindiwe@brightpath.example"  # every seeded client's account manager


def told(root: str, company: str) -> dict[str, Any]:
    """What the account manager was told about ``company``: Slack DMs and emails."""
    state = httpx.get(f"{root}/_sandbox/state", params={"vendor": ["slack", "google"]}, timeout=30).json()
    slack = state["slack"]
    user = next(u["id"] for u in slack["user"] if u.get("profile", {}).get("email") == MANAGER)
    dms = [m["text"] for im in slack.get("im", []) if im["user"] == user
           for m in slack.get(f"messages.{im['id']}", []) if m.get("bot_id") and company in m.get("text", "")]
    mails = [e for e in (decode_email(m) for m in state["google"].get("message", []) if m.get("_raw"))
             if MANAGER in e.to and company in e.subject]
    return {"dms": dms, "emails": mails}


def test_a_client_turning_red_is_told_to_the_account_manager_once_and_a_green_one_stays_quiet(
        seeded, view, vendors, eng_sandbox, capsys):
    assert FLOW_FOR[ActionKind.HEALTH_CHECK] is client_health  # the daily sweep runs it when due
    red, green = seeded(), seeded()
    v = view(red)
    name = v.company()["name"]
    first, second = BASE + timedelta(days=1), BASE + timedelta(days=8)
    check_in(red.domain, BASE, key=f"check_in:{first}")  # both check-ins booked on the manager's calendar
    check_in(red.domain, first, key=f"check_in:{second}")
    for day in (first, second):  # ... and the client declines both
        httpx.post(f"{eng_sandbox.root}/_sandbox/google/calendars/{MANAGER}/events/"
                   f"{event_id_for(red.domain, f'check_in:{day}')}/respond",
                   json={"email": red.email, "responseStatus": "declined"}, timeout=30).raise_for_status()
    # three open tasks due before the day: the two onboarding tasks, and a deliverable brought forward
    growth = next(t for t in vendors.asana.list_tasks(red.project_gid) if t.name == "Growth strategy")
    vendors.asana.update_task(growth.gid, due_on=(BASE + timedelta(days=10)).isoformat())

    day = BASE + timedelta(days=15)
    assert client_health(red.domain, day, key=f"health_check:{day}") == "done"
    props = v.company()
    assert props["health_status"] == "red" and props["health_checked_date"] == day.isoformat()
    assert props["health_history"] == f"{day}:red"
    assert int(float(props["health_overdue"])) == 3 and int(float(props["health_missed_check_ins"])) == 2
    assert "3 deliverables overdue: Send welcome pack" in props["health_reasons"]
    assert f"2 check-ins missed in the last 28 days (declined): {first}, {second}" in props["health_reasons"]
    said = told(eng_sandbox.root, name)
    assert len(said["dms"]) == 1 and "turned red" in said["dms"][0] and "2 check-ins missed" in said["dms"][0]
    assert len(said["emails"]) == 1 and said["emails"][0].subject == f"Client health: {name} turned red"
    assert "Growth strategy" in said["emails"][0].html
    counts = v.counts()
    assert counts["notes"] == 1

    # the same check again (a retry), and next week's while the client is still red: nothing more is sent
    assert client_health(red.domain, day, key=f"health_check:{day}") == "done"
    week = day + timedelta(days=7)
    assert client_health(red.domain, week, key=f"health_check:{week}") == "done"
    assert told(eng_sandbox.root, name) == said and v.counts() == counts
    assert v.company()["health_history"] == f"{day}:red;{week}:red"
    # a check the sweep missed, a newer one being due, is skipped
    assert client_health(red.domain, week + timedelta(days=7), key=f"health_check:{day}") == "skipped"

    # green: the onboarding tasks done, no check-in declined, nothing due yet
    g = view(green)
    for t in vendors.asana.list_tasks(green.project_gid):
        if t.name in ("Send welcome pack", "Confirm access"):
            g.complete_task(t.gid)
    assert client_health(green.domain, second, key=f"health_check:{second}") == "done"
    assert (g.company()["health_status"], g.company()["health_reasons"]) == ("green", "on track")
    assert told(eng_sandbox.root, g.company()["name"]) == {"dms": [], "emails": []} and g.counts()["notes"] == 0

    # the view: red first; and `onboard health` prints it
    rows = health_rows(vendors.hubspot, week, {red.domain, green.domain})
    assert [(r.domain, r.status, r.overdue, r.missed, r.history) for r in rows] == [
        (red.domain, "red", "3", "2", "R R"), (green.domain, "green", "0", "0", "G")]
    from app.health_cli import main

    assert main(as_of=week.isoformat()) == 0
    assert "Client health (SOP-B 4.2)" in capsys.readouterr().out
