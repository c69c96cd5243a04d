"""The daily sweep: only clients with an action due, each action once per client and date."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flows.engagement.plan import plan_engagement
from flows.engagement.sweep import engagement_sweep
from tests.flows.engagement.conftest import BASE


# the onboarding survey (due the day after kick-off) already answered: these tests follow the check-ins
ANSWERED = {"onboarding_survey_status": "answered"}


def test_sweep_runs_only_due_clients_and_is_idempotent_per_day(seeded, view, vendors):
    due = seeded(kickoff=BASE, **ANSWERED)
    later = seeded(kickoff=BASE + timedelta(days=28))
    for c in (due, later):
        plan_engagement(c.domain, BASE)
    first_check_in, second = BASE + timedelta(days=1), BASE + timedelta(days=8)

    out = engagement_sweep(BASE)  # the kick-off day: the first check-in (tomorrow) is booked
    by_client = {r["client"]: r for r in out["clients"]}
    assert later.domain not in by_client
    assert by_client[due.domain]["ran"] == [(f"check_in:{first_check_in}", "done")]
    v = view(due)
    props = v.company()
    assert props["engagement_done_keys"] == f"check_in:{first_check_in}"
    assert props["next_action_date"] == first_check_in.isoformat()  # when the second is booked, a week ahead
    assert props["engagement_last_sweep"] == BASE.isoformat()
    counts = v.counts()
    assert counts["zoom"] == 1 and counts["slack"] == 2

    again = engagement_sweep(BASE)  # the same day again: nothing new
    assert due.domain not in {r["client"] for r in again["clients"]}
    assert v.counts() == counts

    # the next day the second check-in is booked, a week before it, at the series' time
    out = {r["client"]: r for r in engagement_sweep(first_check_in)["clients"]}
    assert out[due.domain]["ran"] == [(f"check_in:{second}", "done"), ("onboarding_survey:kickoff", "done")]
    assert out[due.domain]["late"] == []
    starts = sorted(e["start"]["dateTime"][:16] for e in v.events())
    assert [s[:10] for s in starts] == [str(first_check_in), str(second)]
    # at 10:00, or (the account manager busy with another client's check-in then) the next free slot:
    # never two meetings at once on the manager's calendar
    manager = [e for e in vendors.calendar.list_events(v.events()[0]["organizer"]["email"],
                                                       *(datetime.combine(d, time(0), UTC) for d in (BASE, BASE + timedelta(days=9))))]
    spans = sorted((datetime.fromisoformat(e.start), datetime.fromisoformat(e.end)) for e in manager if "T" in e.start)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))
    # and then nothing until the third is booked
    assert due.domain not in {r["client"] for r in engagement_sweep(first_check_in + timedelta(days=1))["clients"]}
    assert view(later).counts()["zoom"] == 0


def test_a_sweep_that_did_not_run_for_three_days_catches_up_once_late_and_says_so(seeded, view):
    c = seeded(kickoff=BASE, **ANSWERED)
    plan_engagement(c.domain, BASE)
    engagement_sweep(BASE)  # books BASE+1
    day = BASE + timedelta(days=4)  # no sweep on BASE+1..BASE+3: the booking of BASE+8 (due BASE+1) was missed
    out = {r["client"]: r for r in engagement_sweep(day)["clients"]}[c.domain]
    assert out["ran"] == [(f"check_in:{BASE + timedelta(days=8)}", "done"), ("onboarding_survey:kickoff", "done")]
    assert out["late"] == [(f"check_in:{BASE + timedelta(days=8)}", 3), ("onboarding_survey:kickoff", 3)]
    assert view(c).counts()["zoom"] == 2
    assert engagement_sweep(day)["actions"] == 0  # once


def test_a_long_gap_books_no_meeting_in_the_past(seeded, view):
    c = seeded(kickoff=BASE, **ANSWERED)
    plan_engagement(c.domain, BASE)
    day = BASE + timedelta(days=16)  # check-ins BASE+1, +8, +15 passed unbooked; BASE+22's booking is due
    out = {r["client"]: r for r in engagement_sweep(day)["clients"]}
    ran = dict(out[c.domain]["ran"])
    assert [ran[f"check_in:{BASE + timedelta(days=d)}"] for d in (1, 8, 15, 22)] == ["skipped"] * 3 + ["done"]
    assert view(c).counts()["zoom"] == 1
    assert view(c).company()["next_action_date"] == (BASE + timedelta(days=22)).isoformat()


def test_a_client_who_leaves_or_is_cancelled_leaves_the_sweep_and_their_meetings_ahead_go(seeded, view, make_services,
                                                                                         vendors):
    from flows.engagement.leaving import client_leaving
    from flows.onboarding.cancel import archive_onboarding
    from tasks.hubspot import DEAL_PROPERTIES

    vendors.hubspot.ensure_properties("deals", DEAL_PROPERTIES)  # as a new-client run leaves the account

    leaving, cancelled = seeded(kickoff=BASE), seeded(kickoff=BASE)
    for c in (leaving, cancelled):
        plan_engagement(c.domain, BASE)
    engagement_sweep(BASE)
    engagement_sweep(BASE + timedelta(days=1))  # both have two check-ins booked ahead
    assert view(leaving).counts()["events"] == view(cancelled).counts()["events"] == 2

    out = client_leaving(leaving.domain, "budget cut", BASE + timedelta(days=1))
    assert out["churned_date"] == str(BASE + timedelta(days=1))
    archive_onboarding(make_services(), cancelled.domain, "the client withdrew")
    for c in (leaving, cancelled):
        v = view(c)
        assert [e for e in v.events() if e.get("status") != "cancelled"] == [] or v.counts()["events"] == 0
        assert v.company()["next_action_date"] in ("", None)
    assert view(leaving).company()["churn_reason"] == "budget cut"
    # every day after: neither is selected, nothing is sent to them
    before = (view(leaving).counts(), view(cancelled).counts())
    for day in range(2, 40, 3):
        selected = {r["client"] for r in engagement_sweep(BASE + timedelta(days=day))["clients"]}
        assert not selected & {leaving.domain, cancelled.domain}
    assert (view(leaving).counts(), view(cancelled).counts()) == before
    assert client_leaving(leaving.domain, "budget cut", BASE + timedelta(days=9))["churned_date"] == \
        str(BASE + timedelta(days=1))  # recorded again: the first date stays


def test_a_client_without_a_contact_is_an_error_for_staff_not_a_guessed_address(seeded, vendors, make_services):
    import pytest

    from flows.engagement.record import NoContact, load_record

    c = seeded(kickoff=BASE)
    for contact_id in vendors.hubspot.associated_ids("companies", c.company_id, "contacts"):
        vendors.hubspot.archive("contacts", contact_id)
    with pytest.raises(NoContact, match="add the client's contact person"):
        load_record(make_services(), c.domain)


def test_an_offer_made_on_an_event_stays_due_until_answered_and_a_declined_renewal_ends_the_follow_ups(seeded, view):
    import json

    from flows.engagement.retention import retention
    from services.settings import Settings

    question = Settings().surveys.retention_offer.questions[0]
    c = seeded(kickoff=BASE, **ANSWERED)
    v = view(c)
    plan_engagement(c.domain, BASE)
    day = BASE + timedelta(days=30)
    from flows.engagement.record import load_record, timeline_for
    from services import build_services

    svc = build_services()
    done = ";".join(a.key for a in timeline_for(svc, load_record(svc, c.domain)) if a.due <= day + timedelta(days=2))
    svc.clients.hubspot.update("companies", c.company_id, {"engagement_done_keys": done})  # not the point here
    # a low halfway score made the value-added offer: not on the plan, due from the day it went out
    assert retention(c.domain, day, key="retention_offer:value_added") == "pending"
    plan_engagement(c.domain, day)
    assert v.company()["next_action_key"] == "retention_offer:value_added"
    out = {r["client"]: r for r in engagement_sweep(day + timedelta(days=1))["clients"]}[c.domain]
    assert out["pending"] == ["retention_offer:value_added"]
    v.answer_form(json.loads(v.company()["retention_offers"])["value_added"]["form_id"], {question.title: question.options[1]})
    out = {r["client"]: r for r in engagement_sweep(day + timedelta(days=2))["clients"]}[c.domain]
    assert ("retention_offer:value_added", "done") in out["ran"]
    assert json.loads(v.company()["retention_offers"])["value_added"]["status"] == "declined"
    assert v.company()["next_action_key"] != "retention_offer:value_added"
    # a declined renewal: the client leaves at the term's end; nothing after it but the 90-day check
    leaves = c.start + timedelta(days=35)
    svc.clients.hubspot.update("companies", c.company_id, {"churned_date": leaves.isoformat()})
    out = {r["client"]: r for r in engagement_sweep(leaves + timedelta(days=30))["clients"]}[c.domain]
    after = [(k, o) for k, o in out["ran"] if not k.startswith("retention_check")]
    assert after and all(o == "skipped" for _, o in after)


def test_a_deal_closed_lost_in_hubspot_is_churn_the_sweep_records(seeded, view, vendors, make_services):
    from flows.onboarding.deal_pipeline import onboarding_pipeline
    from tasks.hubspot import DEAL_KEY, DEAL_PROPERTIES

    vendors.hubspot.ensure_properties("deals", DEAL_PROPERTIES)
    c = seeded(kickoff=BASE, **ANSWERED)
    plan_engagement(c.domain, BASE)
    pipeline, stages = onboarding_pipeline(make_services())
    deal = vendors.hubspot.create("deals", {"dealname": c.domain, DEAL_KEY: c.domain, "pipeline": pipeline.id,
                                            "dealstage": stages["won"]})
    assert ("check_in:" + str(BASE + timedelta(days=1)), "done") in \
        {r["client"]: r for r in engagement_sweep(BASE)["clients"]}[c.domain]["ran"]  # won: followed up
    vendors.hubspot.update("deals", deal.id, {"dealstage": stages["lost"]})  # staff close it lost
    out = {r["client"]: r for r in engagement_sweep(BASE + timedelta(days=1))["clients"]}[c.domain]
    assert out["ran"] == [] and "closed lost" in out["note"]
    props = view(c).company()
    assert (props["onboarding_status"], props["churned_date"][:10]) == ("churned", str(BASE + timedelta(days=1)))
    assert props["churn_reason"] == "the deal was closed lost in HubSpot"
    assert c.domain not in {r["client"] for r in engagement_sweep(BASE + timedelta(days=8))["clients"]}
