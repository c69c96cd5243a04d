"""A small deterministic simulation (3 clients, 42 days, seed 10) in a sandbox of its own;
its KPIs are checked against values worked out by hand from the drawn behaviour and the SOP rules."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from app.simulate import run_simulation

SEED, CLIENTS, DAYS = 10, 3, 42


@pytest.fixture
def own_sandbox(prefect_api):
    from app.sandbox import sandbox_server

    saved = {k: os.environ.get(k) for k in ("ONBOARD_SANDBOX_URL", "ONBOARD_WAIT_HOUR_SECONDS", "ONBOARD_POLL_SECONDS")}
    with sandbox_server(rate_limits="off") as server:
        os.environ.update(ONBOARD_SANDBOX_URL=server.root, ONBOARD_WAIT_HOUR_SECONDS="1", ONBOARD_POLL_SECONDS="0.3")
        try:
            yield server
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def test_small_simulation_matches_the_hand_computed_kpis(own_sandbox):
    r = run_simulation(CLIENTS, DAYS, SEED, own_sandbox.root, say=lambda m: None)
    end = r.end
    state = own_sandbox.state()["hubspot"]["object:companies"]
    props = {c["properties"]["domain"]: c["properties"] for c in state}

    # By hand: the survey goes out at the project midpoint (service start + weeks*7//2 days) and its
    # answer counts if the client answers by the last day and has not churned before; no project of
    # 8+ weeks can complete within 42 days; no client reaches day 90.
    # The onboarding survey goes out the day after the kick-off; its answer counts the same way.
    scores, onboarding_scores = [], []
    for b in r.behaviours:
        p = props[b.domain]
        start = r.start.fromisoformat(p["service_start_date"])
        halfway = start + timedelta(days=int(p["project_weeks"]) * 7 // 2)
        churned = b.churn_day is not None and b.churn_day <= (halfway - r.start).days
        if b.survey_delay_days is not None and halfway + timedelta(days=b.survey_delay_days) <= end and not churned:
            scores.append(b.csat)
        if b.onboarding_survey_delay_days is not None:
            answered = r.start.fromisoformat(p["kickoff_date"][:10]) + timedelta(days=1 + b.onboarding_survey_delay_days)
            if answered <= end and (b.churn_day is None or b.churn_day > (answered - r.start).days):
                onboarding_scores.append(b.onboarding_csat)
    onboarding, csat, retention, project_csat = r.kpis
    # onboarding time: contract signed -> kick-off held (config/engagement.yaml), for every client
    days = [(r.start.fromisoformat(p["kickoff_date"][:10]) - r.start.fromisoformat(p["won_date"][:10])).days
            for p in props.values() if p.get("kickoff_date") and p.get("won_date")]
    assert onboarding["n"] == len(days) == CLIENTS and onboarding["value"] == round(sum(days) / len(days), 1)
    assert "contract signed to kick-off held" in onboarding["kpi"]
    assert csat["n"] == len(onboarding_scores) > 0 and csat["kpi"].startswith("Onboarding CSAT")
    assert csat["value"] == round(100 * sum(s >= 4 for s in onboarding_scores) / len(onboarding_scores), 1)
    assert project_csat["n"] == len(scores) and project_csat["kpi"].startswith("Project CSAT")
    assert retention["value"] is None and retention["n"] == 0
    # seed 10: Umoya (CSAT 4) and Baobab (CSAT 5) answer the day after the survey goes out; Karoo, the
    # one churner, leaves on day 34, before its midpoint -> 2 of 2 scores >= 4 = 100.0 %
    assert sorted(scores) == [4, 5] and project_csat["value"] == 100.0
    churners = [b for b in r.behaviours if b.churn_day is not None]
    assert [props[b.domain]["onboarding_status"] for b in churners] == ["churned"]

    # what ran is what the timelines planned: every check-in and report, nothing twice
    totals: dict[str, int] = {}
    for counts in r.weekly.values():
        for k, v in counts.items():
            totals[k] = totals.get(k, 0) + v
    assert totals.get("check_in", 0) == r.planned.get("check_in", 0) > 0
    assert totals.get("monthly_report", 0) == r.planned.get("monthly_report", 0)
    assert len(r.done) == len(set(r.done))
    assert len({(c, k) for _, c, k in r.done}) == len(r.done)
