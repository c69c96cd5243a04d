"""SOP-B KPIs: onboarding completion time, onboarding CSAT and first-90-day retention (and, reported
apart, the project's CSAT from the halfway survey, SOP-A 4.2).

Pure computation over recorded client outcomes (no vendor calls, no Prefect), plus the
funnel, a weekly trend, and rows for a Prefect table artifact (the chart and the terminal table
are drawn by the KPI report flow and the `onboard kpi` command).

Definitions (every KPI is computed *as of* a date: anything dated after it has not happened):

* Onboarding completion time: days from the start event to the end event the targets name
  (``KpiTargets.onboarding_from`` / ``onboarding_to``, set in config/engagement.yaml): by default from
  the contract's signature (``won_at``) to the kick-off held (``kickoff_at``), the SOP's onboarding
  (phases 1-3 end with the kick-off; the project after it is the engagement). Over clients whose end
  event happened on or before ``as_of``; mean and median. Met when the mean is at most the target.
* Onboarding CSAT: share of onboarding-survey scores ``>= satisfied_score`` (default 4 of 5), in
  percent; the survey goes out after the kick-off (``csat_scores``: one score per client). Scores
  carry no date of their own, so they count from the client's ``kickoff_at``, else
  ``lead_captured_at``. Met when the percentage is at least the target.
* Project CSAT (SOP-A 4.2, reported apart): the same share over the halfway survey's scores
  (``project_csat_scores``), counted from the kick-off too.
* First-90-day retention: day 90 of a client is ``service_start + 90 days``. Eligible are the
  clients whose day 90 is on or before ``as_of``; retained are those not churned *before*
  day 90 (churn on day 90 itself counts as retained, churn on day 89 does not).
  Met when the percentage is at least the target.

A KPI with nothing to measure has value ``None`` and ``met`` ``None``, never 0.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import Field, model_validator

from sop.base import Strict

RETENTION_DAYS = 90

FUNNEL_STAGES = (
    "Leads",
    "Qualified",
    "Won",
    "Kicked off",
    "Onboarding complete",
    "Retained 90 days",
)

Score = Annotated[int, Field(ge=1, le=5)]


class ClientOutcome(Strict):
    """What happened to one client, as recorded (HubSpot/Asana/surveys); unknowns are None."""

    client_id: str = Field(min_length=1)
    lead_captured_at: date
    qualified: bool | None = None
    won_at: date | None = None
    kickoff_at: date | None = None
    service_start: date | None = None
    onboarding_completed_at: date | None = None
    csat_scores: list[Score] = []  # the onboarding survey's, after the kick-off
    project_csat_scores: list[Score] = []  # the halfway survey's (SOP-A 4.2)
    churned_at: date | None = None
    declined: bool = False

    @model_validator(mode="after")
    def _nothing_before_the_lead(self):
        for name in ("won_at", "kickoff_at", "service_start", "onboarding_completed_at", "churned_at"):
            when = getattr(self, name)
            if when is not None and when < self.lead_captured_at:
                raise ValueError(f"{name} {when} is before lead_captured_at {self.lead_captured_at}")
        return self


# the events the onboarding time runs between: (the outcome's field, how the definition names it)
ONBOARDING_FROM = {"contract_signed": ("won_at", "contract signed"), "lead_captured": ("lead_captured_at", "lead captured")}
ONBOARDING_TO = {"kickoff": ("kickoff_at", "kick-off held"),
                 "project_completed": ("onboarding_completed_at", "project completed")}


class KpiTargets(Strict):
    """SOP-B targets: {{target_onboarding_days}}, {{target_CSAT_score}}%, {{target_retention_rate}}%,
    and the events the onboarding time runs between."""

    target_onboarding_days: int = Field(gt=0)
    target_csat_percent: float = Field(ge=0, le=100)
    target_retention_percent: float = Field(ge=0, le=100)
    satisfied_score: int = Field(4, ge=1, le=5)
    onboarding_from: Literal["contract_signed", "lead_captured"] = "contract_signed"
    onboarding_to: Literal["kickoff", "project_completed"] = "kickoff"

    def onboarding_definition(self) -> str:
        return f"days from {ONBOARDING_FROM[self.onboarding_from][1]} to {ONBOARDING_TO[self.onboarding_to][1]}"


class OnboardingTime(Strict):
    """Days between the targets' two events (``definition``); ``met`` means mean <= target."""

    mean_days: float | None
    median_days: float | None
    n: int
    target_days: int
    met: bool | None
    definition: str = ""


class Percentage(Strict):
    """``hits`` of ``n`` in percent; ``met`` means percent >= target."""

    percent: float | None
    hits: int
    n: int
    target_percent: float
    met: bool | None


class KpiReport(Strict):
    """The three SOP-B KPIs as of one date."""

    as_of: date
    onboarding_time: OnboardingTime
    csat: Percentage
    retention_90d: Percentage
    project_csat: Percentage | None = None
    satisfied_score: int
    leads: int
    declined: int


class WeeklyKpis(KpiReport):
    """A :class:`KpiReport` as of the last day of the week starting ``week_start``."""

    week_start: date


# --- which facts are known as of a date ----------------------------------------------------


def _by(when: date | None, as_of: date) -> bool:
    """True when a milestone happened on or before ``as_of``."""
    return when is not None and when <= as_of


def _known(outcomes: Iterable[ClientOutcome], as_of: date) -> list[ClientOutcome]:
    """The clients that existed (lead captured) on ``as_of``."""
    return [o for o in outcomes if o.lead_captured_at <= as_of]


def day_90(outcome: ClientOutcome) -> date | None:
    """The client's day 90: ``service_start + 90 days`` (None without a service start)."""
    return None if outcome.service_start is None else outcome.service_start + timedelta(days=RETENTION_DAYS)


def is_retention_eligible(outcome: ClientOutcome, as_of: date) -> bool:
    """Day 90 is on or before ``as_of``, so the client's first 90 days are over."""
    d90 = day_90(outcome)
    return d90 is not None and d90 <= as_of


def is_retained_90(outcome: ClientOutcome, as_of: date) -> bool:
    """Eligible and not churned before day 90 (churning on day 90 itself still counts as retained)."""
    if not is_retention_eligible(outcome, as_of):
        return False
    return outcome.churned_at is None or outcome.churned_at >= day_90(outcome)


def survey_date(outcome: ClientOutcome) -> date:
    """When a client's survey scores count (they carry no date): the kick-off, else lead capture."""
    return outcome.kickoff_at or outcome.lead_captured_at



# --- the KPIs -----------------------------------------------------------------------------


def _percentage(hits: int, n: int, target: float) -> Percentage:
    """A share in percent with its target; empty sets give None, not 0."""
    if n == 0:
        return Percentage(percent=None, hits=0, n=0, target_percent=target, met=None)
    percent = 100.0 * hits / n
    return Percentage(percent=percent, hits=hits, n=n, target_percent=target, met=percent >= target)


def onboarding_time(outcomes: Iterable[ClientOutcome], targets: KpiTargets, as_of: date) -> OnboardingTime:
    """Mean and median days between the targets' two events, over clients whose end event is by ``as_of``."""
    start_field, end_field = ONBOARDING_FROM[targets.onboarding_from][0], ONBOARDING_TO[targets.onboarding_to][0]
    days = [
        (getattr(o, end_field) - getattr(o, start_field)).days
        for o in outcomes
        if _by(getattr(o, end_field), as_of) and getattr(o, start_field) is not None
    ]
    target = targets.target_onboarding_days
    if not days:
        return OnboardingTime(mean_days=None, median_days=None, n=0, target_days=target, met=None,
                              definition=targets.onboarding_definition())
    mean = statistics.fmean(days)
    return OnboardingTime(
        mean_days=mean, median_days=float(statistics.median(days)), n=len(days), target_days=target, met=mean <= target,
        definition=targets.onboarding_definition(),
    )


def csat(outcomes: Iterable[ClientOutcome], targets: KpiTargets, as_of: date) -> Percentage:
    """Share of onboarding-survey scores >= ``satisfied_score``, over responses known by ``as_of``."""
    scores = [s for o in outcomes if survey_date(o) <= as_of for s in o.csat_scores]
    hits = sum(s >= targets.satisfied_score for s in scores)
    return _percentage(hits, len(scores), targets.target_csat_percent)


def project_csat(outcomes: Iterable[ClientOutcome], targets: KpiTargets, as_of: date) -> Percentage:
    """Share of halfway-survey scores >= ``satisfied_score`` (SOP-A 4.2), over responses known by ``as_of``."""
    scores = [s for o in outcomes if survey_date(o) <= as_of for s in o.project_csat_scores]
    return _percentage(sum(s >= targets.satisfied_score for s in scores), len(scores), targets.target_csat_percent)


def retention_90d(outcomes: Iterable[ClientOutcome], targets: KpiTargets, as_of: date) -> Percentage:
    """Among clients whose day 90 is on or before ``as_of``, the share not churned before day 90."""
    eligible = [o for o in outcomes if is_retention_eligible(o, as_of)]
    hits = sum(is_retained_90(o, as_of) for o in eligible)
    return _percentage(hits, len(eligible), targets.target_retention_percent)


def compute_kpis(outcomes: Iterable[ClientOutcome], targets: KpiTargets, as_of: date) -> KpiReport:
    """The three SOP-B KPIs as of ``as_of`` (clients and milestones dated later are ignored)."""
    known = _known(outcomes, as_of)
    return KpiReport(
        as_of=as_of,
        onboarding_time=onboarding_time(known, targets, as_of),
        csat=csat(known, targets, as_of),
        retention_90d=retention_90d(known, targets, as_of),
        project_csat=project_csat(known, targets, as_of),
        satisfied_score=targets.satisfied_score,
        leads=len(known),
        declined=sum(o.declined for o in known),
    )


def _stage_reached(o: ClientOutcome, as_of: date) -> int:
    """How many funnel stages the client reached; a later milestone implies the earlier ones."""
    reached = 1  # a lead
    if o.qualified:
        reached = 2
    for stage, when in ((3, o.won_at), (4, o.kickoff_at), (5, o.onboarding_completed_at)):
        if _by(when, as_of):
            reached = stage
    if reached == 5 and is_retained_90(o, as_of):
        reached = 6
    return reached


def funnel(outcomes: Iterable[ClientOutcome], as_of: date | None = None) -> list[tuple[str, int]]:
    """Clients per stage, leads -> qualified -> won -> kicked off -> onboarding complete -> retained 90 days.

    A client counts at every stage up to the furthest it reached, so counts never increase
    down the funnel: a won client with no qualification recorded counts as qualified.
    "Retained 90 days" counts only clients who also completed onboarding (unlike the
    retention KPI, which counts every client whose service started). ``as_of`` defaults to today.
    """
    as_of = as_of or date.today()
    reached = [_stage_reached(o, as_of) for o in _known(outcomes, as_of)]
    return [(name, sum(r >= i for r in reached)) for i, name in enumerate(FUNNEL_STAGES, start=1)]


def weekly_trend(
    outcomes: Iterable[ClientOutcome], targets: KpiTargets, start: date, weeks: int
) -> list[WeeklyKpis]:
    """The KPIs as of the last day of each of ``weeks`` weeks from ``start`` (cumulative, not windowed)."""
    outcomes = list(outcomes)
    rows = []
    for i in range(weeks):
        week_start = start + timedelta(weeks=i)
        report = compute_kpis(outcomes, targets, week_start + timedelta(days=6))
        rows.append(WeeklyKpis(week_start=week_start, **dict(report)))
    return rows


# --- presentation -------------------------------------------------------------------------


def fmt_value(value: float | None, unit: str) -> str:
    """``12.5 days`` / ``87.5%`` / ``n/a``."""
    if value is None:
        return "n/a"
    return f"{value:.1f}%" if unit == "%" else f"{value:.1f} days"


def status_word(met: bool | None) -> str:
    return "n/a" if met is None else "met" if met else "missed"


def headline(value: float | None, unit: str, met: bool | None) -> str:
    """``71.4% (missed)``, or ``n/a`` when there is nothing to measure."""
    return "n/a" if value is None else f"{fmt_value(value, unit)} ({status_word(met)})"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def kpi_table(report: KpiReport) -> list[dict]:
    """Rows ``{kpi, value, target, met, n}`` for a Prefect table artifact (values rounded to 0.1)."""
    t, c, r = report.onboarding_time, report.csat, report.retention_90d
    return [
        {
            "kpi": f"Onboarding completion time (mean {t.definition or 'days'})",
            "value": _round(t.mean_days),
            "target": t.target_days,
            "met": t.met,
            "n": t.n,
        },
        {
            "kpi": f"Onboarding CSAT (% of onboarding-survey scores >= {report.satisfied_score}; survey after the kick-off)",
            "value": _round(c.percent),
            "target": c.target_percent,
            "met": c.met,
            "n": c.n,
        },
        {
            "kpi": "First-90-day retention (% of clients past day 90 not churned before it: staff's leaving, "
                   "deal closed lost, renewal declined)",
            "value": _round(r.percent),
            "target": r.target_percent,
            "met": r.met,
            "n": r.n,
        },
        *([{
            "kpi": f"Project CSAT, halfway survey A4.2 (% of scores >= {report.satisfied_score})",
            "value": _round(p.percent),
            "target": p.target_percent,
            "met": p.met,
            "n": p.n,
        }] if (p := report.project_csat) is not None else []),
    ]
