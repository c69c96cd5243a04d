"""The engagement timeline: properties over random dates and rules, and examples worked out by hand."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sop.timeline import (
    WEEKDAYS,
    Action,
    ActionKind,
    EngagementRules,
    EngagementRulesError,
    add_months,
    due_actions,
    load_engagement_rules,
    next_action,
    plan_timeline,
    replan,
)

CONFIG = Path(__file__).resolve().parents[2] / "config" / "engagement.yaml"
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = [LONDON, NEW_YORK, ZoneInfo("Africa/Johannesburg"), ZoneInfo("Australia/Sydney"), ZoneInfo("Asia/Kolkata")]
K = ActionKind

FAST = settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def make_rules(**overrides) -> EngagementRules:
    raw = {"kpis": {"target_onboarding_days": 30, "target_csat_percent": 90, "target_retention_percent": 85}}
    return EngagementRules.model_validate(raw | overrides)


RULES = make_rules()
TWELVE_MONTHS = make_rules(retention={"contract_months": 12})  # a yearly contract instead of the project's term


def of(timeline: list[Action], kind: ActionKind) -> list[Action]:
    return [a for a in timeline if a.kind == kind]


def one(timeline: list[Action], kind: ActionKind) -> Action:
    (action,) = of(timeline, kind)
    return action


def meetings(timeline: list[Action], kind: ActionKind = ActionKind.CHECK_IN) -> list[date]:
    return [a.meeting_day for a in of(timeline, kind)]


def term_end(start: date, weeks: int, rules: EngagementRules) -> date:
    return rules.retention.term_end(start, start + timedelta(weeks=weeks))


def month_index(d: date) -> int:
    return d.year * 12 + d.month


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


# --------------------------------------------------------------------------- strategies

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31))
wall_times = st.builds(time, st.integers(7, 19), st.sampled_from([0, 15, 30, 45]))  # daytime: never in a DST gap
rules_st = st.builds(
    lambda cadence, weekday, at, action_at, testimonial, every, horizon, months, loyalty, discount: make_rules(
        check_ins={"cadence": cadence, "weekday": weekday, "local_time": at},
        action_time=action_at,
        testimonial={"request_after_days": testimonial},
        post_project={"check_in_every_days": every, "horizon_days": horizon},
        retention={"contract_months": months, "loyalty_offer_days_before_renewal": loyalty,
                   "long_term_discount_after_months": discount},
    ),
    st.sampled_from(["weekly", "biweekly"]), st.sampled_from(WEEKDAYS), wall_times, wall_times,
    st.integers(0, 30), st.integers(1, 90), st.integers(1, 800), st.integers(1, 36), st.integers(0, 27),
    st.integers(1, 36),
)


@st.composite
def projects(draw):
    """(kickoff, service_start, weeks, rules, tz); service starts on or up to three weeks after kick-off."""
    kickoff = draw(days)
    start = kickoff + timedelta(days=draw(st.integers(0, 21)))
    return kickoff, start, draw(st.integers(1, 60)), draw(rules_st), draw(st.sampled_from(ZONES))


# --------------------------------------------------------------------------- whole timeline


@FAST
@given(projects())
def test_keys_unique_sorted_and_local_times_right(project):
    kickoff, start, weeks, rules, tz = project
    timeline = plan_timeline(kickoff, start, weeks, rules, tz)
    keys = [a.key for a in timeline]
    assert len(keys) == len(set(keys))
    assert timeline == sorted(timeline, key=lambda a: (a.at, a.kind))
    for a in timeline:
        local = a.at.astimezone(tz)
        assert local.date() == a.due
        assert local.time() == rules.action_time  # a check-in's action is its booking, not the meeting
        assert a.at.utcoffset() is not None


@FAST
@given(projects())
def test_one_offs_where_the_sop_puts_them(project):
    kickoff, start, weeks, rules, tz = project
    timeline = plan_timeline(kickoff, start, weeks, rules, tz)
    completion = one(timeline, K.COMPLETE_ONBOARDING).due
    halfway = one(timeline, K.HALFWAY_FEEDBACK).due
    assert completion == start + timedelta(weeks=weeks)
    assert start < halfway < completion
    assert abs((halfway - start) - (completion - halfway)) <= timedelta(days=1)
    assert one(timeline, K.REQUEST_TESTIMONIAL).due == completion + timedelta(days=rules.testimonial.request_after_days)
    assert one(timeline, K.RETENTION_CHECK).due == start + timedelta(days=90)
    renewal = term_end(start, weeks, rules)
    offers = {a.key: a.due for a in of(timeline, K.RETENTION_OFFER)}
    discount = add_months(start, rules.retention.long_term_discount_after_months)
    midway = start + timedelta(days=max(1, (renewal - start).days // 2))
    assert offers == {
        # the renewal offer near the term's end, in its second half however short the term
        "retention_offer:loyalty": max(midway, renewal - timedelta(days=rules.retention.loyalty_offer_days_before_renewal)),
        **({"retention_offer:long_term_discount": discount} if discount < renewal else {}),  # within the term only
    }
    assert start < offers["retention_offer:loyalty"] <= max(renewal, start + timedelta(days=1))


# --------------------------------------------------------------------------- check-ins


@FAST
@given(projects())
def test_check_ins_keep_cadence_from_kickoff_to_completion(project):
    kickoff, start, weeks, rules, tz = project
    timeline = plan_timeline(kickoff, start, weeks, rules, tz)
    completion = start + timedelta(weeks=weeks)
    step = timedelta(days=7 if rules.check_ins.cadence == "weekly" else 14)
    check_ins = meetings(timeline)
    ahead = timedelta(days=rules.check_ins.book_ahead_days)
    # one series: each meeting booked book_ahead_days before it (at kick-off for the first ones)
    assert [a.due for a in of(timeline, K.CHECK_IN)] == [max(kickoff, d - ahead) for d in check_ins]
    first = kickoff + timedelta(days=1)
    while WEEKDAYS[first.weekday()] != rules.check_ins.weekday:
        first += timedelta(days=1)
    if first >= completion:
        assert check_ins == []
        return
    assert check_ins[0] == first  # the first check-in weekday strictly after kick-off
    assert all(b - a == step for a, b in zip(check_ins, check_ins[1:], strict=False))
    assert all(WEEKDAYS[d.weekday()] == rules.check_ins.weekday for d in check_ins)
    assert check_ins[-1] < completion <= check_ins[-1] + step  # never after completion, none missing before


@FAST
@given(projects(), st.one_of(st.none(), st.integers(1, 900)))
def test_post_project_check_ins_take_over_until_the_horizon(project, horizon_days):
    kickoff, start, weeks, rules, tz = project
    timeline = plan_timeline(kickoff, start, weeks, rules, tz, horizon_days=horizon_days)
    completion = start + timedelta(weeks=weeks)
    horizon_end = start + timedelta(days=horizon_days or rules.post_project.horizon_days)
    every = timedelta(days=rules.post_project.check_in_every_days)
    expected, day = [], completion + every
    while day <= horizon_end:
        expected.append(day)
        day += every
    assert meetings(timeline, K.POST_PROJECT_CHECK_IN) == expected
    ahead = timedelta(days=rules.check_ins.book_ahead_days)
    assert [a.due for a in of(timeline, K.POST_PROJECT_CHECK_IN)] == [d - ahead for d in expected]
    assert all(d < completion for d in meetings(timeline))


# --------------------------------------------------------------------------- month ends


@FAST
@given(projects())
def test_monthly_reports_every_month_once_on_the_clamped_day(project):
    kickoff, start, weeks, rules, tz = project
    reports = [a.due for a in of(plan_timeline(kickoff, start, weeks, rules, tz), K.MONTHLY_REPORT)]
    months = [month_index(d) for d in reports]
    assert months == list(range(month_index(start) + 1, month_index(start) + 1 + len(reports)))  # no skip, no double
    for d in reports:
        assert d.day == min(start.day, last_day(d.year, d.month))
    end = term_end(start, weeks, rules)
    # every month of the contract's term, none past it (an 8-week package gets one or two, not twelve)
    assert len(reports) == sum(1 for n in range(1, 130) if add_months(start, n) <= end)


@FAST
@given(projects())
def test_quarterly_reviews_every_three_months_on_the_clamped_day(project):
    kickoff, start, weeks, rules, tz = project
    reviews = of(plan_timeline(kickoff, start, weeks, rules, tz), K.QUARTERLY_REVIEW)
    assert [a.key for a in reviews] == [f"quarterly_review:q{n}" for n in range(1, len(reviews) + 1)]
    for n, a in enumerate(reviews, start=1):
        assert month_index(a.due) == month_index(start) + 3 * n
        assert a.due.day == min(start.day, last_day(a.due.year, a.due.month))
    end = term_end(start, weeks, rules)
    assert len(reviews) == sum(1 for n in range(1, 50) if add_months(start, 3 * n) <= end)


@FAST
@given(days, st.integers(-400, 400))
def test_add_months_clamps_and_never_drifts(d, n):
    moved = add_months(d, n)
    assert month_index(moved) == month_index(d) + n
    assert moved.day == min(d.day, last_day(moved.year, moved.month))
    assert add_months(d, 0) == d


def test_month_end_start_by_hand():
    timeline = plan_timeline(date(2026, 1, 26), date(2026, 1, 31), 8, TWELVE_MONTHS, LONDON)
    reports = [a.due for a in of(timeline, K.MONTHLY_REPORT)]
    assert reports[:6] == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30),
                           date(2026, 5, 31), date(2026, 6, 30), date(2026, 7, 31)]
    assert reports[-1] == date(2027, 1, 31)
    assert [a.due for a in of(timeline, K.QUARTERLY_REVIEW)] == [
        date(2026, 4, 30), date(2026, 7, 31), date(2026, 10, 31), date(2027, 1, 31)]
    leap = plan_timeline(date(2024, 1, 29), date(2024, 1, 31), 8, TWELVE_MONTHS, LONDON)
    assert [a.due for a in of(leap, K.MONTHLY_REPORT)][:2] == [date(2024, 2, 29), date(2024, 3, 31)]
    assert of(leap, K.MONTHLY_REPORT)[0].key == "monthly_report:2024-02"


# --------------------------------------------------------------------------- DST


@st.composite
def dst_spanning_projects(draw):
    """Weekly or bi-weekly projects in London or New York whose check-ins straddle a DST change."""
    year = draw(st.integers(2024, 2031))
    spring = draw(st.booleans())
    first, last = (date(year, 2, 1), date(year, 2, 28)) if spring else (date(year, 9, 15), date(year, 10, 15))
    kickoff = draw(st.dates(min_value=first, max_value=last))
    rules = make_rules(check_ins={"cadence": draw(st.sampled_from(["weekly", "biweekly"])),
                                  "weekday": draw(st.sampled_from(WEEKDAYS[:5])), "local_time": draw(wall_times)})
    return kickoff, kickoff + timedelta(days=draw(st.integers(0, 7))), draw(st.integers(12, 24)), rules, \
        draw(st.sampled_from([LONDON, NEW_YORK]))


@FAST
@given(dst_spanning_projects())
def test_check_in_wall_clock_survives_dst(project):
    kickoff, start, weeks, rules, tz = project
    starts = [a.meeting_start(rules, tz) for a in of(plan_timeline(kickoff, start, weeks, rules, tz), K.CHECK_IN)]
    assert {s.time() for s in starts} == {rules.check_ins.local_time}
    assert {s.weekday() for s in starts} == {WEEKDAYS.index(rules.check_ins.weekday)}
    assert len({s.utcoffset() for s in starts}) == 2  # winter and summer time
    assert len({s.astimezone(UTC).time() for s in starts}) == 2  # so the UTC time moves by the hour


def test_london_check_in_is_0900z_in_summer_and_1000z_in_winter():
    spring = of(plan_timeline(date(2026, 3, 23), date(2026, 3, 23), 4, RULES, LONDON), K.CHECK_IN)
    assert [(a.meeting_day, a.meeting_start(RULES, LONDON).astimezone(UTC)) for a in spring[:2]] == [
        (date(2026, 3, 24), datetime(2026, 3, 24, 10, tzinfo=UTC)),  # GMT
        (date(2026, 3, 31), datetime(2026, 3, 31, 9, tzinfo=UTC)),  # BST since Sun 29 March
    ]
    autumn = of(plan_timeline(date(2026, 10, 19), date(2026, 10, 19), 4, RULES, LONDON), K.CHECK_IN)
    assert [a.meeting_start(RULES, LONDON).astimezone(UTC) for a in autumn[:2]] == [
        datetime(2026, 10, 20, 9, tzinfo=UTC), datetime(2026, 10, 27, 10, tzinfo=UTC)]


def test_new_york_check_in_moves_an_hour_in_utc_on_8_march_2026():
    check_ins = of(plan_timeline(date(2026, 2, 23), date(2026, 3, 2), 4, RULES, NEW_YORK), K.CHECK_IN)
    assert [a.meeting_start(RULES, NEW_YORK).astimezone(UTC) for a in check_ins[:3]] == [
        datetime(2026, 2, 24, 15, tzinfo=UTC), datetime(2026, 3, 3, 15, tzinfo=UTC),  # EST, UTC-5
        datetime(2026, 3, 10, 14, tzinfo=UTC),  # EDT, UTC-4
    ]


# --------------------------------------------------------------------------- a whole plan by hand

# Kick-off Mon 2 March 2026, service starts Mon 9 March, 4-week project, default rules, London.
HAND = plan_timeline(date(2026, 3, 2), date(2026, 3, 9), 4, RULES, LONDON)


def test_plan_by_hand():
    # one check-in series, each meeting booked 7 days ahead (the first ones at kick-off), at 09:00 local
    assert [(a.key, a.due, a.at) for a in of(HAND, K.CHECK_IN)] == [
        ("check_in:2026-03-03", date(2026, 3, 2), datetime(2026, 3, 2, 9, tzinfo=UTC)),
        ("check_in:2026-03-10", date(2026, 3, 3), datetime(2026, 3, 3, 9, tzinfo=UTC)),
        ("check_in:2026-03-17", date(2026, 3, 10), datetime(2026, 3, 10, 9, tzinfo=UTC)),
        ("check_in:2026-03-24", date(2026, 3, 17), datetime(2026, 3, 17, 9, tzinfo=UTC)),
        ("check_in:2026-03-31", date(2026, 3, 24), datetime(2026, 3, 24, 9, tzinfo=UTC)),  # 7 April: after completion
    ]
    assert of(HAND, K.CHECK_IN)[-1].meeting_start(RULES, LONDON).astimezone(UTC) == datetime(2026, 3, 31, 9, tzinfo=UTC)
    assert one(HAND, K.ONBOARDING_SURVEY).due == date(2026, 3, 3)  # the onboarding CSAT survey: kick-off + 1 day
    assert one(HAND, K.HALFWAY_FEEDBACK).due == date(2026, 3, 23)  # 9 March + 14 days
    assert one(HAND, K.COMPLETE_ONBOARDING).at == datetime(2026, 4, 6, 8, tzinfo=UTC)  # 09:00 BST
    assert one(HAND, K.REQUEST_TESTIMONIAL).due == date(2026, 4, 13)
    assert one(HAND, K.RETENTION_CHECK).due == date(2026, 6, 7)  # 22 + 30 + 31 + 7 days
    # the term is the project (6 April): the renewal offer in its second half; no 6-month discount,
    # no monthly report (the first would be 9 April) and no quarterly review
    assert {a.key: a.due for a in of(HAND, K.RETENTION_OFFER)} == {"retention_offer:loyalty": date(2026, 3, 23)}
    assert of(HAND, K.MONTHLY_REPORT) == [] and of(HAND, K.QUARTERLY_REVIEW) == []
    post = meetings(HAND, K.POST_PROJECT_CHECK_IN)
    assert post[:3] == [date(2026, 5, 6), date(2026, 6, 5), date(2026, 7, 5)]
    assert post[-1] == date(2027, 3, 2) and len(post) == 11  # 1 April 2027 is past 9 March 2027
    assert {a.sop for a in HAND} == {"sop:A4.1", "sop:A4.2", "sop:A5.1", "sop:A5.2", "sop:A5.3", "sop:A5.4",
                                     "sop:B.KPI.retention_90d", "sop:B.KPI.csat_onboarding"}
    assert len(HAND) == 5 + 1 + 3 + 11 + 1 + 1


def test_a_yearly_contract_by_hand():
    """With retention.contract_months: 12 the term is a year: reports, reviews and offers run to it."""
    year = plan_timeline(date(2026, 3, 2), date(2026, 3, 9), 4, TWELVE_MONTHS, LONDON)
    assert {a.key: a.due for a in of(year, K.RETENTION_OFFER)} == {
        "retention_offer:long_term_discount": date(2026, 9, 9),
        "retention_offer:loyalty": date(2027, 2, 7),  # renewal 9 March 2027 - 30 days
    }
    reports = of(year, K.MONTHLY_REPORT)
    assert (len(reports), reports[0].key, reports[-1].due) == (12, "monthly_report:2026-04", date(2027, 3, 9))
    assert [a.due for a in of(year, K.QUARTERLY_REVIEW)] == [
        date(2026, 6, 9), date(2026, 9, 9), date(2026, 12, 9), date(2027, 3, 9)]


def test_an_8_and_a_24_week_package_get_reports_and_reviews_only_within_their_term():
    eight = plan_timeline(date(2026, 3, 2), date(2026, 3, 9), 8, RULES, LONDON)  # ends 4 May
    assert [a.due for a in of(eight, K.MONTHLY_REPORT)] == [date(2026, 4, 9)] and of(eight, K.QUARTERLY_REVIEW) == []
    twenty_four = plan_timeline(date(2026, 3, 2), date(2026, 3, 9), 24, RULES, LONDON)  # ends 24 August
    assert len(of(twenty_four, K.MONTHLY_REPORT)) == 5 and [a.due for a in of(twenty_four, K.QUARTERLY_REVIEW)] == [
        date(2026, 6, 9)]
    for timeline, end in ((eight, date(2026, 5, 4)), (twenty_four, date(2026, 8, 24))):
        assert all(a.due <= end for a in timeline if a.kind in (K.MONTHLY_REPORT, K.QUARTERLY_REVIEW, K.RETENTION_OFFER))


def test_biweekly_starts_the_next_weekday_after_kickoff_and_skips_a_week():
    rules = make_rules(check_ins={"cadence": "biweekly", "weekday": "tue"})
    check_ins = meetings(plan_timeline(date(2026, 3, 3), date(2026, 3, 3), 6, rules, LONDON))
    assert check_ins == [date(2026, 3, 10), date(2026, 3, 24), date(2026, 4, 7)]  # done 14 April


# --------------------------------------------------------------------------- due and next


def test_due_and_next_by_hand():
    done = {"check_in:2026-03-03", "onboarding_survey:kickoff"}
    # on 17 March the meetings of 10, 17 and 24 March are within the week ahead: all three to book
    assert [a.key for a in due_actions(HAND, done, date(2026, 3, 17))] == [
        "check_in:2026-03-10", "check_in:2026-03-17", "check_in:2026-03-24"]
    assert next_action(HAND, done, date(2026, 3, 17)).key == "halfway_feedback:project"
    just_before = datetime(2026, 3, 17, 8, 59, tzinfo=UTC)  # before 09:00, when the booking falls due
    assert [a.key for a in due_actions(HAND, done, just_before)] == ["check_in:2026-03-10", "check_in:2026-03-17"]
    assert next_action(HAND, done, just_before).key == "check_in:2026-03-24"
    assert next_action(HAND, {a.key for a in HAND}, date(2026, 1, 1)) is None
    assert due_actions(HAND, set(), date(2026, 3, 1)) == []
    assert [a.key for a in due_actions(HAND, set(), date(2026, 3, 2))] == ["check_in:2026-03-03"]  # at kick-off
    with pytest.raises(ValueError, match="timezone-aware"):
        due_actions(HAND, set(), datetime(2026, 3, 17, 10))


@FAST
@given(projects(), st.data())
def test_due_and_next_split_what_is_left(project, data):
    kickoff, start, weeks, rules, tz = project
    timeline = plan_timeline(kickoff, start, weeks, rules, tz)
    done = set(data.draw(st.lists(st.sampled_from([a.key for a in timeline]), max_size=20)))
    as_of = data.draw(st.one_of(
        st.dates(min_value=kickoff - timedelta(days=5), max_value=start + timedelta(days=800)),
        st.datetimes(min_value=datetime(2023, 12, 1), max_value=datetime(2034, 12, 31), timezones=st.just(UTC)),
    ))
    due = due_actions(timeline, done, as_of)
    upcoming = next_action(timeline, done, as_of)
    left = [a for a in timeline if a.key not in done]
    assert all(a.key not in done for a in due)
    assert due == left[:len(due)]  # everything overdue, in order, and nothing later
    assert upcoming == (left[len(due)] if len(left) > len(due) else None)
    if upcoming is not None:
        assert upcoming.due > as_of if not isinstance(as_of, datetime) else upcoming.at > as_of


# --------------------------------------------------------------------------- moved kick-off


@st.composite
def moves(draw):
    """An original project, what was done of it by some day, and new dates for the rest."""
    kickoff, start, weeks, rules, tz = draw(projects())
    old = plan_timeline(kickoff, start, weeks, rules, tz)
    cut = draw(st.integers(0, len(old)))
    done = {a.key for a in old[:cut]} | set(draw(st.lists(st.sampled_from([a.key for a in old]), max_size=5)))
    new_kickoff = kickoff + timedelta(days=draw(st.integers(-30, 120)))
    new_start = new_kickoff + timedelta(days=draw(st.integers(0, 21)))
    return old, done, (new_kickoff, new_start, draw(st.integers(1, 60)), rules, tz)


@FAST
@given(moves())
def test_replan_keeps_done_and_recomputes_the_rest(move):
    old, done, new = move
    new_kickoff, new_start, new_weeks, rules, tz = new
    result = replan(old, done, *new)
    keys = [a.key for a in result]
    assert len(keys) == len(set(keys))
    assert result == sorted(result, key=lambda a: (a.at, a.kind))
    assert [a for a in result if a.key in done] == [a for a in old if a.key in done]  # exactly as they were
    fresh = [a for a in result if a.key not in done]
    assert fresh == [a for a in plan_timeline(*new) if a.key not in done]
    completion = new_start + timedelta(weeks=new_weeks)
    for a in fresh:
        if a.kind == K.CHECK_IN:
            assert new_kickoff < a.meeting_day < completion and new_kickoff <= a.due < a.meeting_day
        elif a.kind == K.MONTHLY_REPORT:
            assert a.due.day == min(new_start.day, last_day(a.due.year, a.due.month))
        elif a.kind == K.HALFWAY_FEEDBACK:
            assert new_start < a.due < completion
        elif a.kind == K.COMPLETE_ONBOARDING:
            assert a.due == completion
    assert replan(result, done, *new) == result  # replanning again changes nothing


def test_replan_by_hand():
    done = {"check_in:2026-03-03", "check_in:2026-03-10", "monthly_report:2026-04", "halfway_feedback:project"}
    # kick-off slips a fortnight; the service now starts on Mon 23 March
    result = replan(HAND, done, date(2026, 3, 16), date(2026, 3, 23), 4, RULES, LONDON)
    assert meetings(result) == [
        date(2026, 3, 3), date(2026, 3, 10),  # done, kept
        date(2026, 3, 17), date(2026, 3, 24), date(2026, 3, 31), date(2026, 4, 7), date(2026, 4, 14)]
    assert one(result, K.HALFWAY_FEEDBACK).due == date(2026, 3, 23)  # collected already: not asked again
    assert one(result, K.COMPLETE_ONBOARDING).due == date(2026, 4, 20)
    assert of(result, K.MONTHLY_REPORT) == []  # a 4-week term: no month to report on
    assert replan(HAND, set(), date(2026, 3, 16), date(2026, 3, 23), 4, RULES, LONDON) == \
        plan_timeline(date(2026, 3, 16), date(2026, 3, 23), 4, RULES, LONDON)


# --------------------------------------------------------------------------- rules and models


def test_company_config_loads_with_its_defaults():
    rules = load_engagement_rules(CONFIG)
    assert rules.check_ins.cadence == "weekly"
    assert rules.testimonial.request_after_days == 7
    assert rules.post_project.check_in_every_days == 30 and rules.post_project.horizon_days == 365
    assert rules.retention.contract_months is None and rules.retention.check_after_days == 90  # the project's term
    assert rules.check_ins.book_ahead_days == 7
    assert rules.csat.satisfied_at == 4
    assert rules.is_satisfied(4) and not rules.is_satisfied(3.9)
    assert rules.is_at_risk(2.9) and not rules.is_at_risk(3)
    assert rules.kpis.target_csat_percent == 90


@pytest.mark.parametrize(("text", "field"), [
    ("check_ins: {cadence: monthly}\n", "check_ins.cadence"),
    ("check_ins: {local_time: '25:00'}\n", "check_ins.local_time"),
    ("csat: {satisfied_at: 3, at_risk_below: 4}\n", "csat"),
    ("retention: {contract_months: 1, loyalty_offer_days_before_renewal: 40}\n", "retention"),
    ("post_project: {horizon_days: 0}\n", "post_project.horizon_days"),
    ("colour: blue\n", "colour"),
    ("", "kpis"),
])
def test_bad_rules_name_the_file_and_the_field(tmp_path, text, field):
    kpis = "" if field == "kpis" else (
        "kpis: {target_onboarding_days: 30, target_csat_percent: 90, target_retention_percent: 85}\n")
    path = tmp_path / "engagement.yaml"
    path.write_text(text + kpis)
    with pytest.raises(EngagementRulesError) as err:
        load_engagement_rules(path)
    assert str(path) in str(err.value) and f"{field}:" in str(err.value)


def test_missing_or_broken_rules_file(tmp_path):
    with pytest.raises(EngagementRulesError, match="not found"):
        load_engagement_rules(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("check_ins: [unclosed\n")
    with pytest.raises(EngagementRulesError, match="not valid YAML"):
        load_engagement_rules(tmp_path / "bad.yaml")


def test_actions_are_frozen_and_aware():
    action = HAND[0]
    with pytest.raises(ValidationError, match="frozen"):
        action.due = date(2030, 1, 1)
    with pytest.raises(ValueError):
        Action(kind=K.CHECK_IN, due=date(2026, 3, 3), at=datetime(2026, 3, 3, 10), key="check_in:2026-03-03",
               sop="sop:A4.1")
    with pytest.raises(ValueError, match="must start with"):
        Action(kind=K.CHECK_IN, due=date(2026, 3, 3), at=datetime(2026, 3, 3, 10, tzinfo=UTC), key="x:1", sop="s")
    with pytest.raises(ValueError, match="project_weeks"):
        plan_timeline(date(2026, 3, 2), date(2026, 3, 9), 0, RULES, LONDON)
