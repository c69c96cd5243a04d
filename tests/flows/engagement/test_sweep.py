"""The daily sweep: only clients with an action due, each action once per client and date."""

from __future__ import annotations

from datetime import timedelta

from flows.engagement.plan import plan_engagement
from flows.engagement.sweep import engagement_sweep
from tests.flows.engagement.conftest import BASE


def test_sweep_runs_only_due_clients_and_is_idempotent_per_day(seeded, view):
    due = seeded(kickoff=BASE)
    later = seeded(kickoff=BASE + timedelta(days=28))
    for c in (due, later):
        plan_engagement(c.domain, BASE)
    first_check_in = BASE + timedelta(days=1)

    out = engagement_sweep(first_check_in)
    by_client = {r["client"]: r for r in out["clients"]}
    assert later.domain not in by_client
    assert by_client[due.domain]["ran"] == [(f"check_in:{first_check_in}", "done")]
    v = view(due)
    props = v.company()
    assert props["engagement_done_keys"] == f"check_in:{first_check_in}"
    assert props["next_action_date"] == (first_check_in + timedelta(days=7)).isoformat()
    assert props["engagement_last_sweep"] == first_check_in.isoformat()
    counts = v.counts()
    assert counts["zoom"] == 1 and counts["slack"] == 2

    again = engagement_sweep(first_check_in)  # the same day again: nothing new
    assert due.domain not in {r["client"] for r in again["clients"]}
    assert v.counts() == counts

    # the next day: the client is not due (its next action is a week later), so not even selected
    assert due.domain not in {r["client"] for r in engagement_sweep(first_check_in + timedelta(days=1))["clients"]}
    assert v.counts() == counts
    assert view(later).counts()["zoom"] == 0


def test_a_missed_sweep_catches_up_without_booking_meetings_in_the_past(seeded, view):
    c = seeded(kickoff=BASE)
    plan_engagement(c.domain, BASE)
    day = BASE + timedelta(days=16)  # two check-ins (BASE+1, BASE+8) missed, BASE+15 passed too
    out = {r["client"]: r for r in engagement_sweep(day)["clients"]}
    ran = dict(out[c.domain]["ran"])
    assert set(ran.values()) == {"skipped"} and len(ran) == 3
    assert view(c).counts()["zoom"] == 0
    assert view(c).company()["next_action_date"] == (BASE + timedelta(days=22)).isoformat()
