"""Each follow-up flow against the sandbox, run alone for one seeded client; every one twice (idempotent)."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from flows.engagement.check_in import check_in
from flows.engagement.complete_onboarding import complete_onboarding
from flows.engagement.halfway_feedback import halfway_feedback
from flows.engagement.monthly_report import monthly_report
from flows.engagement.onboarding_survey import onboarding_survey
from flows.engagement.plan import plan_engagement
from flows.engagement.quarterly_review import quarterly_review
from flows.engagement.retention import retention
from flows.engagement.testimonial import request_testimonial
from services.settings import Settings
from sop.profile import Role

SURVEYS = Settings().surveys


def test_plan_engagement_stores_the_next_action_and_replans(seeded, view, vendors):
    c = seeded()
    out = plan_engagement(c.domain, c.kickoff)
    first_tuesday = c.kickoff + timedelta(days=1)  # BASE is a Monday; check-ins are on Tuesdays
    assert out["next_action"] == f"check_in:{first_tuesday.isoformat()}"
    props = view(c).company()
    assert props["next_action_key"] == out["next_action"]
    assert props["next_action_date"] == c.kickoff.isoformat()  # booked a week ahead: at kick-off for the first
    assert props["engagement_plan_basis"] == f"{c.kickoff}|{c.start}|8|weekly"
    # the kick-off moves a week: re-planned, the done check-in is not planned again
    vendors.hubspot.update("companies", c.company_id, {"engagement_done_keys": out["next_action"],
                                                        "kickoff_date": (c.kickoff + timedelta(days=7)).isoformat()})
    again = plan_engagement(c.domain, c.kickoff)
    assert again["replanned"] is True
    assert again["next_action"] == f"check_in:{(first_tuesday + timedelta(days=7)).isoformat()}"
    assert view(c).company()["engagement_done_keys"] == out["next_action"]


def test_check_in_books_the_meeting_and_posts_progress_once(seeded, view):
    c = seeded()
    day = c.kickoff + timedelta(days=8)
    v = view(c)
    assert check_in(c.domain, day) == "done"
    first = v.counts()
    assert check_in(c.domain, day) == "done"
    assert v.counts() == first
    assert first["zoom"] == 1 and first["events"] == 1 and first["slack"] == 2
    summary, reminder = v.slack_texts()
    assert "*Done*" in summary and "*Overdue* (2)" in summary and "*Next*" in summary
    assert "Reminder: check-in" in reminder and "zoom" in reminder.lower()


def test_a_check_in_is_booked_a_week_ahead_at_a_slot_free_for_the_team(seeded, view, vendors):
    from datetime import datetime

    from integrations.google import event_id_for

    settings = Settings()
    c = seeded()
    day = c.kickoff + timedelta(days=15)  # a Tuesday
    manager = str(settings.profile.people(Role.ACCOUNT_MANAGER)[0].email)
    tz = settings.profile.tz
    # the account manager has a meeting at the series' 10:00 that day
    vendors.calendar.upsert_event(manager, event_id_for("busy", c.domain), "Board meeting", "",
                                  datetime.combine(day, datetime.min.time().replace(hour=10), tz),
                                  datetime.combine(day, datetime.min.time().replace(hour=11), tz),
                                  settings.profile.timezone, [manager], meet=False)
    assert check_in(c.domain, day - timedelta(days=7), key=f"check_in:{day}") == "done"
    (event,) = view(c).events()
    assert event["start"]["dateTime"].startswith(f"{day}T11:00")  # the first slot after the board meeting
    assert check_in(c.domain, day - timedelta(days=6), key=f"check_in:{day}") == "done"  # again: same slot
    assert [e["start"]["dateTime"][:16] for e in view(c).events()] == [f"{day}T11:00"]


def test_the_onboarding_survey_after_the_kick_off_gives_the_onboarding_csat_apart(seeded, view):
    from flows.engagement.kpi_report import client_outcomes
    from services import build_services

    c = seeded()
    v = view(c)
    day = c.kickoff + timedelta(days=1)
    assert onboarding_survey(c.domain, day) == "pending"
    props = v.company()
    assert props["onboarding_survey_status"] == "sent" and "survey_form_id" not in props  # not the halfway survey's
    assert onboarding_survey(c.domain, day + timedelta(days=2)) == "pending"  # reminded on day 2
    assert sum("How was your onboarding" in s for s in v.emails_to_client()) == 2
    titles = {q.key: q.title for q in SURVEYS.onboarding.questions}
    v.answer_form(props["onboarding_survey_form_id"], {titles["satisfaction"]: "4", titles["went_well"]: "Clear plan"})
    assert onboarding_survey(c.domain, day + timedelta(days=3)) == "done"
    props = v.company()
    assert props["onboarding_survey_status"] == "answered" and int(float(props["onboarding_csat"])) == 4
    assert not props.get("csat_scores")  # the halfway (project) scores stay apart
    (outcome,) = client_outcomes(build_services().clients.hubspot, {c.domain})
    assert (outcome.csat_scores, outcome.project_csat_scores) == ([4], [])
    first = v.counts()
    assert onboarding_survey(c.domain, day + timedelta(days=4)) == "done"
    assert v.counts() == first


def test_halfway_feedback_survey_csat_and_adjustments_that_wait_in_their_own_run(seeded, view, vendors, staff):
    from flows.engagement.adjustments import adjustments_after_feedback
    from flows.engagement.own_run import THREADS
    from flows.engagement.sweep import engagement_sweep
    from tasks.asana import shift_open_tasks

    c = seeded()
    v = view(c)
    halfway = c.start + timedelta(weeks=4)
    assert halfway_feedback(c.domain, halfway) == "pending"
    props = v.company()
    assert props["survey_status"] == "sent"
    assert halfway_feedback(c.domain, halfway + timedelta(days=2)) == "pending"  # a reminder on day 2
    subjects = v.emails_to_client()
    assert sum("Halfway feedback" in s for s in subjects) == 2 and any(s.startswith("Reminder") for s in subjects)
    titles = {q.key: q.title for q in SURVEYS.halfway_feedback.questions}
    v.answer_form(props["survey_form_id"], {titles["experience"]: "Slow start", titles["satisfaction"]: "2",
                                            titles["improve"]: "Faster replies"})
    due_before = {t.name: t.due_on for t in vendors.asana.list_tasks(c.project_gid)}
    # nobody has answered the adjustments form yet: the follow-up is done all the same, and the next
    # day's sweep completes while the account manager's decision is pending in a run of its own
    assert halfway_feedback(c.domain, halfway + timedelta(days=3)) == "done"
    props = v.company()
    assert props["survey_status"] == "answered" and props["csat_scores"] == "2"
    assert props["feedback_areas_to_improve"] == "Faster replies" and props["adjustments_status"] == "asked"
    assert engagement_sweep(halfway + timedelta(days=4))["failed"] == []
    assert v.company()["adjustments_status"] == "asked"
    assert {t.name: t.due_on for t in vendors.asana.list_tasks(c.project_gid)} == due_before  # nothing moved yet
    # CSAT 2 is at risk: the value-added retention offer went out
    assert any("Something extra" in s for s in v.emails_to_client())

    staff({"adjustments-after-feedback": {"shift_due_days": 7, "add_deliverables": "Weekly status summary",
                                          "notes": "agreed on the call"}})
    for thread in [t for t in THREADS if t.name == f"adjustments-{c.domain}"]:
        thread.join(timeout=120)
    props = v.company()
    assert props["adjustments_status"] == "applied"
    assert int(float(props["project_weeks"])) == 9  # 8 weeks and a week moved: the engagement re-plans from it
    after = {t.name: t for t in vendors.asana.list_tasks(c.project_gid)}
    assert "Weekly status summary" in after
    for name, due in due_before.items():
        assert after[name].due_on == (date.fromisoformat(due) + timedelta(days=7)).isoformat()
    # retried or asked again, the dates move once
    assert shift_open_tasks(vendors.asana, c.project_gid, 7, f"halfway-{c.domain}") == 0
    assert adjustments_after_feedback(c.domain, 2, halfway + timedelta(days=5)) == "applied"
    assert {t.name: t.due_on for t in vendors.asana.list_tasks(c.project_gid)} == {n: t.due_on for n, t in after.items()}
    first = v.counts()
    assert halfway_feedback(c.domain, halfway + timedelta(days=3)) == "done"
    assert v.counts() == first


def test_monthly_report_and_quarterly_review(seeded, view):
    c = seeded()
    v = view(c)
    month = c.start + timedelta(days=31)
    assert monthly_report(c.domain, month, key=f"monthly_report:{month:%Y-%m}") == "done"
    assert quarterly_review(c.domain, month, key="quarterly_review:q1") == "done"
    first = v.counts()
    assert monthly_report(c.domain, month, key=f"monthly_report:{month:%Y-%m}") == "done"
    assert quarterly_review(c.domain, month, key="quarterly_review:q1") == "done"
    assert v.counts() == first
    assert first["files"] == 3 and first["zoom"] == 1 and first["events"] == 1  # folder, report, QBR outline
    subjects = v.emails_to_client()
    assert any(s.startswith("Monthly report") for s in subjects)
    # sent and signed by the same person: the client's account manager
    report = next(m for m in v.state()["google"]["message"] if "Monthly report" in m["_headers"].get("subject", ""))
    manager = next(p for p in Settings().profile.people(Role.ACCOUNT_MANAGER))
    assert manager.email in report["_headers"]["from"] and f"Kind regards,<br>{manager.name}" in report["_html"]
    assert any(s.startswith("Quarterly business review (q1)") for s in subjects)
    assert any(t.startswith("Monthly report") for t in v.slack_texts())


def test_complete_onboarding_waits_for_deliverables_then_hands_over(seeded, view, vendors):
    c = seeded()
    v = view(c)
    end = c.start + timedelta(weeks=c.weeks)
    assert complete_onboarding(c.domain, end) == "pending"
    for t in vendors.asana.list_tasks(c.project_gid):
        v.complete_task(t.gid)
    assert complete_onboarding(c.domain, end + timedelta(days=1)) == "done"
    props = v.company()
    assert props["onboarding_status"] == "ongoing_support"
    assert props["onboarding_completed_date"] == (end + timedelta(days=1)).isoformat()
    owner = vendors.hubspot.owner_by_email("lindiwe@brightpath.example")
    assert props["hubspot_owner_id"] == owner.id
    manager = vendors.asana.user_by_email("lindiwe@brightpath.example")
    state = v.state()["asana"]
    tasks = [t for t in state["task"] if any(m["project"] == c.project_gid for m in t["memberships"])]
    assert tasks and all(manager in t["followers"] for t in tasks)
    assert any("is complete" in t for t in v.slack_texts())
    first = v.counts()
    assert complete_onboarding(c.domain, end + timedelta(days=2)) == "done"
    assert v.counts() == first


def test_testimonial_request_for_satisfied_clients_only(seeded, view):
    happy = seeded(csat_scores="5")
    v = view(happy)
    end = happy.start + timedelta(weeks=happy.weeks)
    assert request_testimonial(happy.domain, end) == "pending"  # not complete yet
    httpx.patch(f"{v.root}/_sandbox/hubspot/companies/{happy.company_id}",
                json={"properties": {"onboarding_completed_date": end.isoformat()}}).raise_for_status()
    assert request_testimonial(happy.domain, end + timedelta(days=7)) == "pending"
    props = v.company()
    assert props["testimonial_status"] == "requested"
    titles = {q.key: q.title for q in SURVEYS.testimonial.questions}
    v.answer_form(props["testimonial_form_id"], {titles["testimonial"]: "Superb team", titles["permission"]: "Yes"})
    assert request_testimonial(happy.domain, end + timedelta(days=8)) == "done"
    props = v.company()
    assert props["testimonial_status"] == "received" and props["testimonial_text"] == "Superb team"
    unhappy = seeded(csat_scores="3", onboarding_completed_date=end.isoformat())
    assert request_testimonial(unhappy.domain, end + timedelta(days=7)) == "done"
    assert view(unhappy).company()["testimonial_status"] == "not_eligible"
    assert not any("testimonial" in s.lower() or "experience with" in s for s in view(unhappy).emails_to_client())


def offer_form(v, slot: str) -> str:
    import json

    return json.loads(v.company()["retention_offers"])[slot]["form_id"]


def test_retention_programmes_do_what_they_offer_and_are_recorded(seeded, view, vendors):
    import json

    from tasks.hubspot import DEAL_KEY, DEAL_PROPERTIES

    yes, no = SURVEYS.retention_offer.questions[0].options
    answer = SURVEYS.retention_offer.questions[0].title
    c = seeded()
    v = view(c)
    hub = vendors.hubspot
    hub.ensure_property("deals", DEAL_KEY, *DEAL_PROPERTIES[DEAL_KEY])
    deal = hub.create("deals", {"dealname": c.domain, DEAL_KEY: c.domain})
    hub.add_line_item(deal.id, "Growth package", 1, 60_000)
    # the long-term discount: offered once (an email with its form), then accepted -> 10% off the billing
    day = c.start + timedelta(days=183)
    assert retention(c.domain, day, key="retention_offer:long_term_discount") == "pending"
    assert retention(c.domain, day, key="retention_offer:long_term_discount") == "pending"
    assert sum("long-term" in s for s in v.emails_to_client()) == 1
    v.answer_form(offer_form(v, "long_term_discount"), {answer: yes})
    assert retention(c.domain, day + timedelta(days=1), key="retention_offer:long_term_discount") == "done"
    (item,) = [hub.get("line_items", i, ["amount", "hs_discount_percentage"])
               for i in hub.associated_ids("deals", deal.id, "line_items")]
    assert float(item.properties["hs_discount_percentage"]) == 10 and float(item.properties["amount"]) == 54_000
    offers = json.loads(v.company()["retention_offers"])
    assert offers["long_term_discount"]["status"] == "accepted" and "10% off" in offers["long_term_discount"]["detail"]
    # the value-added session, accepted: booked once with the account manager (Zoom + invite)
    assert retention(c.domain, day, key="retention_offer:value_added") == "pending"
    v.answer_form(offer_form(v, "value_added"), {answer: yes, SURVEYS.retention_offer.questions[1].title: "Soon please"})
    assert retention(c.domain, day + timedelta(days=1), key="retention_offer:value_added") == "done"
    (session,) = [e for e in v.events() if e["summary"].startswith("Strategy session")]
    assert "lindiwe@brightpath.example" in {a["email"] for a in session["attendees"]}
    first = v.counts()
    for key in ("retention_offer:long_term_discount", "retention_offer:value_added"):
        assert retention(c.domain, day + timedelta(days=2), key=key) == "done"
    assert v.counts() == first  # answered offers: nothing again
    # the renewal offer declined: a churn signal at the term's end, recorded for the retention KPI
    assert retention(c.domain, day, key="retention_offer:loyalty") == "pending"
    v.answer_form(offer_form(v, "loyalty"), {answer: no})
    assert retention(c.domain, day + timedelta(days=1), key="retention_offer:loyalty") == "done"
    props = v.company()
    term_end = c.start + timedelta(weeks=c.weeks)
    assert (props["renewal_status"], props["churned_date"][:10], props["churn_reason"]) == (
        "declined", term_end.isoformat(), "renewal declined")
    assert v.counts()["notes"] == 6  # each offer sent and answered, on the CRM
    # an offer nobody answers closes after its wait, recorded as such
    quiet = seeded()
    assert retention(quiet.domain, day, key="retention_offer:long_term_discount") == "pending"
    assert retention(quiet.domain, day + timedelta(days=4), key="retention_offer:long_term_discount") == "pending"
    assert sum("long-term" in s for s in view(quiet).emails_to_client()) == 2  # and a reminder
    assert retention(quiet.domain, day + timedelta(days=14), key="retention_offer:long_term_discount") == "done"
    assert json.loads(view(quiet).company()["retention_offers"])["long_term_discount"]["status"] == "expired"


def test_90_day_check(seeded, view):
    c = seeded()
    assert retention(c.domain, c.start + timedelta(days=90), key="retention_check:90d") == "done"
    assert view(c).company()["retention_90d_status"] == "retained"
    left = c.start + timedelta(days=40)
    churned = seeded(churned_date=left.isoformat(), onboarding_status="churned")
    assert retention(churned.domain, left + timedelta(days=60), key="retention_offer:loyalty") == "skipped"
    assert retention(churned.domain, churned.start + timedelta(days=90), key="retention_check:90d") == "done"
    assert view(churned).company()["retention_90d_status"] == "churned"
