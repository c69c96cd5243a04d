"""Client health (SOP-B 4.2): the rating by hand and over random signals, the history, the view's rows,
the weekly checks on the timeline and the ``health:`` rules of config/engagement.yaml."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sop.health import (
    HealthRules,
    HealthSignals,
    HealthStatus,
    add_to_history,
    assess,
    by_urgency,
    health_markdown,
    health_row,
    parse_history,
    survey_scores,
    turned_red,
)
from sop.timeline import ActionKind, EngagementRules, EngagementRulesError, load_engagement_rules, plan_timeline

CONFIG = Path(__file__).resolve().parents[2] / "config" / "engagement.yaml"
RULES = HealthRules()  # red: 3 overdue or 2 missed; amber: 1 of either
DAY = date(2026, 3, 17)
G, A, R = HealthStatus.GREEN, HealthStatus.AMBER, HealthStatus.RED
FAST = settings(max_examples=200, deadline=None, database=None)


def rate(overdue=0, missed=(), scores=(), rules=RULES):
    signals = HealthSignals(tuple(f"Task {i} (due 2026-03-0{i % 9 + 1})" for i in range(overdue)),
                            tuple(DAY - timedelta(days=d) for d in missed), tuple(scores))
    return assess(signals, DAY, rules, satisfied_at=4, at_risk_below=3)


# --------------------------------------------------------------------------- by hand


def test_a_client_with_nothing_wrong_is_green_and_on_track():
    h = rate(scores=(4, 5))
    assert (h.status, h.reasons, h.overdue, h.missed) == (G, ("on track",), 0, 0)


@pytest.mark.parametrize(("kw", "status", "reason"), [
    ({"overdue": 1}, A, "1 deliverable overdue: Task 0 (due 2026-03-01)"),
    ({"overdue": 2}, A, "2 deliverables overdue"),
    ({"overdue": 3}, R, "3 deliverables overdue"),
    ({"overdue": 5}, R, "Task 2 (due 2026-03-03) and 2 more"),
    ({"missed": (7,)}, A, "1 check-in missed in the last 28 days (declined): 2026-03-10"),
    ({"missed": (7, 14)}, R, "2 check-ins missed in the last 28 days (declined): 2026-03-03, 2026-03-10"),
    ({"missed": (7, 35)}, A, "1 check-in missed"),  # the one five weeks ago is out of the window
    ({"missed": (0,)}, G, "on track"),  # today's check-in has not happened yet
    ({"scores": (2,)}, R, "latest survey score 2/5 is below 3 (at risk)"),
    ({"scores": (3,)}, A, "latest survey score 3/5 is below 4 (not satisfied)"),
    ({"scores": (5, 4)}, A, "survey score fell from 5 to 4"),
    ({"scores": (2, 4)}, G, "on track"),  # rising and satisfied
])
def test_each_signal_by_hand(kw, status, reason):
    h = rate(**kw)
    assert h.status == status
    assert any(reason in r for r in h.reasons), h.reasons


def test_the_worst_signal_wins_and_every_reason_is_given_red_first():
    h = rate(overdue=1, missed=(7, 14), scores=(5, 4))
    assert h.status == R and (h.overdue, h.missed) == (1, 2)
    assert h.reasons[0].startswith("2 check-ins missed") and len(h.reasons) == 3
    assert "; " in h.text


def test_thresholds_come_from_the_rules():
    lenient = HealthRules(amber_overdue=2, red_overdue=5, amber_missed=2, red_missed=3, missed_window_days=None,
                          score_drop=2)
    assert rate(overdue=1, rules=lenient).status == G
    assert rate(overdue=4, rules=lenient).status == A
    assert rate(missed=(7, 70), rules=lenient).status == A  # no window: since kick-off
    assert rate(scores=(5, 4), rules=lenient).status == G  # a drop of 1 is not 2


def test_turned_red_only_when_it_was_not_red_at_the_last_check():
    assert turned_red(None, R) and turned_red("green", R) and turned_red("amber", R)
    assert not turned_red("red", R) and not turned_red("green", A) and not turned_red(None, G)


# --------------------------------------------------------------------------- properties


signals = st.builds(
    HealthSignals,
    overdue=st.lists(st.text(min_size=1, max_size=8), max_size=8).map(tuple),
    missed=st.lists(st.dates(DAY - timedelta(days=90), DAY + timedelta(days=7)), max_size=8).map(tuple),
    scores=st.lists(st.integers(1, 5), max_size=5).map(tuple),
)
rules = st.builds(
    lambda ao, ro, am, rm, w, d: HealthRules(amber_overdue=ao, red_overdue=ao + ro, amber_missed=am,
                                             red_missed=am + rm, missed_window_days=w, score_drop=d),
    st.integers(1, 5), st.integers(0, 5), st.integers(1, 4), st.integers(0, 4), st.none() | st.integers(1, 120),
    st.integers(1, 4))


@FAST
@given(signals, rules, st.integers(1, 5), st.integers(1, 5))
def test_rating_is_consistent_with_its_signals(s, r, a, b):
    satisfied, at_risk = max(a, b), min(a, b)
    h = assess(s, DAY, r, satisfied, at_risk)
    assert h.reasons  # always a reason, in words
    assert (h.status == G) == (h.reasons == ("on track",))
    assert h.overdue == len(s.overdue) and 0 <= h.missed <= len(set(s.missed))
    red = (h.overdue >= r.red_overdue or h.missed >= r.red_missed or bool(s.scores and s.scores[-1] < at_risk))
    assert (h.status == R) == red
    # more trouble never makes a client healthier
    worse = HealthSignals((*s.overdue, "Another task (due 2026-03-01)"), (*s.missed, DAY - timedelta(days=1)),
                          s.scores)
    assert assess(worse, DAY, r, satisfied, at_risk).status.rank >= h.status.rank


@FAST
@given(st.lists(st.tuples(st.dates(date(2025, 1, 1), date(2027, 12, 31)), st.sampled_from(list(HealthStatus))),
                max_size=30))
def test_history_keeps_one_entry_per_day_in_order_and_the_latest_of_a_day(checks):
    text = None
    for day, status in checks:
        text = add_to_history(text, day, status, keep=20)
    parsed = parse_history(text)
    expected = dict(checks)
    assert [d for d, _ in parsed] == sorted(expected)[-20:]
    assert all(expected[d] == s for d, s in parsed)
    assert parse_history(add_to_history(text, date(2028, 1, 1), G, keep=20))[-1] == (date(2028, 1, 1), G)


def test_history_skips_what_is_not_an_entry():
    assert parse_history("2026-03-10:green;junk;2026-13-01:red;2026-03-17:purple;;2026-03-03:red") == [
        (date(2026, 3, 3), R), (date(2026, 3, 10), G)]
    assert parse_history(None) == [] and add_to_history("", DAY, A) == "2026-03-17:amber"


# --------------------------------------------------------------------------- the view's rows


PROPS = {"name": "Acme", "domain": "acme.example", "health_status": "red", "health_checked_date": "2026-03-17",
         "health_reasons": "3 deliverables overdue: ...", "health_overdue": "3", "health_missed_check_ins": "1.0",
         "health_history": "2026-03-03:green;2026-03-10:amber;2026-03-17:red", "csat_scores": "5;3"}


def test_a_row_shows_the_latest_check_or_the_status_on_an_earlier_day():
    row = health_row(PROPS)
    assert (row.status, row.overdue, row.missed, row.scores, row.checked, row.history) == (
        "red", "3", "1", "5 → 3", "2026-03-17", "G A R")
    earlier = health_row(PROPS, date(2026, 3, 12))
    assert (earlier.status, earlier.checked, earlier.history, earlier.overdue, earlier.reasons) == (
        "amber", "2026-03-10", "G A", "", "")
    never = health_row({"name": "New", "domain": "new.example"})
    assert (never.status, never.scores, never.history) == ("not checked", "—", "")


def test_survey_scores_are_the_onboarding_survey_then_the_halfway_ones():
    assert survey_scores({"onboarding_csat": "4", "csat_scores": "5;2"}) == [4, 5, 2]
    assert survey_scores({"onboarding_csat": "4.0"}) == [4]
    assert survey_scores({"onboarding_csat": "", "csat_scores": "3;x;9;"}) == [3]
    assert survey_scores({}) == []
    assert health_row({"onboarding_csat": "4", "csat_scores": "2"}).scores == "4 → 2"


def test_rows_red_first_and_the_markdown_table():
    rows = by_urgency([health_row({"name": "Zed", "health_status": "green", "health_checked_date": "2026-03-17"}),
                       health_row({"name": "Bee"}), health_row(PROPS),
                       health_row({"name": "Amb", "health_status": "amber", "health_checked_date": "2026-03-17"})])
    assert [r.company for r in rows] == ["Acme", "Amb", "Zed", "Bee"]
    md = health_markdown(rows, DAY)
    assert md.splitlines()[0] == "# Client health (SOP-B 4.2) as of 2026-03-17"
    assert "| Acme | 🔴 red | 3 | 1 | 5 → 3 |" in md and md.endswith("4 client(s): 1 red, 1 amber, 1 green.")


# --------------------------------------------------------------------------- timeline and rules


def test_weekly_health_checks_from_a_week_after_the_first_check_in_until_completion():
    rules = load_engagement_rules(CONFIG)
    assert rules.health.check_every_days == 7 and rules.health.red_overdue == 3 and rules.health.red_missed == 2
    # kick-off Mon 2 March 2026, start 9 March, 4 weeks (completion 6 April); check-ins on Tuesdays from 3 March
    timeline = plan_timeline(date(2026, 3, 2), date(2026, 3, 9), 4, rules, ZoneInfo("Europe/London"))
    checks = [a for a in timeline if a.kind == ActionKind.HEALTH_CHECK]
    assert [(a.key, a.due) for a in checks] == [(f"health_check:{d}", d) for d in (
        date(2026, 3, 10), date(2026, 3, 17), date(2026, 3, 24), date(2026, 3, 31))]
    assert {a.sop for a in checks} == {"sop:B4.2"}
    # without check_every_days (a rules file with no health: section) none is planned
    plain = EngagementRules.model_validate({"kpis": rules.kpis.model_dump()})
    assert not [a for a in plan_timeline(date(2026, 3, 2), date(2026, 3, 9), 4, plain, ZoneInfo("Europe/London"))
                if a.kind == ActionKind.HEALTH_CHECK]


@pytest.mark.parametrize(("text", "field"), [
    ("health: {amber_overdue: 4, red_overdue: 3}\n", "health"),
    ("health: {red_missed: 0}\n", "health.red_missed"),
    ("health: {check_every_days: 0}\n", "health.check_every_days"),
    ("health: {score_drop: five}\n", "health.score_drop"),
    ("health: {red_late: 3}\n", "health.red_late"),
])
def test_bad_health_rules_name_the_file_and_the_field(tmp_path, text, field):
    path = tmp_path / "engagement.yaml"
    path.write_text(text + "kpis: {target_onboarding_days: 30, target_csat_percent: 90, target_retention_percent: 85}\n")
    with pytest.raises(EngagementRulesError) as err:
        load_engagement_rules(path)
    assert str(path) in str(err.value) and f"{field}:" in str(err.value)
