"""The engagement timeline after kick-off (SOP-A 4-5, SOP-B 4 and the KPIs), as pure date arithmetic.

``plan_timeline`` turns a kick-off date, a service start date and the project length into dated
actions; ``due_actions``/``next_action`` say what to do now and next; ``replan`` moves a project
without repeating anything already done. No vendor calls, no Prefect. The company's rules live in
config/engagement.yaml (``load_engagement_rules``).

Dates are local dates in the company timezone; every action also carries ``at``, its local time of
day on that date converted to UTC through zoneinfo, so a 10:00 Europe/London check-in is 09:00Z in
summer and 10:00Z in winter.

Keys name an occurrence, not a moment, so that a moved project never repeats what was done:

* ``check_in:2026-03-03``, ``post_project_check_in:2026-05-06`` - one meeting per date (the key names
  the meeting's day; the action is due the day it is booked, ``check_ins.book_ahead_days`` before);
* ``health_check:2026-03-10`` - the weekly client health check (SOP-B 4.2, ``health:`` in the rules);
* ``monthly_report:2026-04`` - one report per calendar month;
* ``quarterly_review:q1`` - the n-th quarter of service;
* ``onboarding_survey:kickoff``, ``halfway_feedback:project``, ``complete_onboarding:project``, ``request_testimonial:project``,
  ``retention_check:90d``, ``retention_offer:loyalty``, ``retention_offer:long_term_discount`` -
  one-offs, once per engagement;
* ``invoice:2`` - invoice 2 of the package's billing schedule (added by ``sop/billing.py``).
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from sop.base import Strict
from sop.config_files import load_yaml_model
from sop.health import HealthRules
from sop.kpi import KpiTargets
from sop.rules import Wait

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
QUARTER_MONTHS = 3


class EngagementRulesError(ValueError):
    """The engagement rules file is missing or invalid; the message names the file and the field."""


# --------------------------------------------------------------------------- rules (config/engagement.yaml)


class CheckIns(Strict):
    """SOP-A 4.1 / SOP-B 4.1: progress check-ins from kick-off until the project completes, one series:
    each is booked (Zoom + invite, at a slot free for the team) ``book_ahead_days`` before it."""

    cadence: Literal["weekly", "biweekly"] = "weekly"
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "tue"
    local_time: time = time(10)
    minutes: int = Field(30, gt=0, le=480)
    book_ahead_days: int = Field(7, ge=1, le=60)

    @property
    def every_days(self) -> int:
        return 7 if self.cadence == "weekly" else 14


class OnboardingSurvey(Strict):
    """SOP-B KPI, CSAT for onboarding: a short survey this many days after the kick-off (the end of
    the SOP's onboarding), apart from the halfway project survey (SOP-A 4.2)."""

    send_after_days: int = Field(1, ge=0, le=60)


class Testimonial(Strict):
    """SOP-A 5.2: ask satisfied clients for a testimonial this many days after completion."""

    request_after_days: int = Field(7, ge=0, le=365)


class Csat(Strict):
    """Client satisfaction on a 1-5 survey scale (SOP-B 4.2 and the CSAT KPI)."""

    satisfied_at: int = Field(4, ge=1, le=5)
    at_risk_below: int = Field(3, ge=1, le=5)

    @model_validator(mode="after")
    def _at_risk_is_below_satisfied(self):
        if self.at_risk_below > self.satisfied_at:
            raise ValueError("at_risk_below must not be above satisfied_at")
        return self


class PostProject(Strict):
    """SOP-A 5.3: periodic check-ins after the project ends, up to a horizon counted from service start."""

    check_in_every_days: int = Field(30, ge=1, le=365)
    horizon_days: int = Field(365, ge=1, le=3660)


class Programme(Strict):
    """One retention programme (SOP-A 5.4): the offer's email and the one thing it gives when accepted,
    a discount on the billing record or a session booked with the account manager."""

    template: str = Field(min_length=1, description="the offer's email, in templates/")
    discount_percent: int | None = Field(None, ge=1, le=100, description="off the deal's line items when accepted")
    session_minutes: int | None = Field(None, ge=15, le=480, description="a session booked when accepted")

    @model_validator(mode="after")
    def _one_benefit(self):
        if (self.discount_percent is None) == (self.session_minutes is None):
            raise ValueError("a programme gives exactly one of discount_percent or session_minutes")
        return self


class Retention(Strict):
    """SOP-A 5.4 touch-points and the first-90-day retention check (SOP-B KPI).

    The contract's term ends ``contract_months`` after service start, or, unset, when the package's
    project ends (the SOP's engagement is the project): monthly reports, quarterly reviews and the
    offers fall within it, the renewal offer near its end. The 90-day check counts from the service
    start date, not from lead capture: retention is about a paying client.
    """

    contract_months: int | None = Field(None, ge=1, le=120)
    loyalty_offer_days_before_renewal: int = Field(30, ge=0)
    long_term_discount_after_months: int = Field(6, ge=1, le=120)
    check_after_days: int = Field(90, ge=1, le=3660)
    # SOP-A 5.4's programmes: each offer's email and what it gives when the client accepts it
    programmes: dict[Literal["loyalty", "long_term_discount", "value_added"], Programme] = {
        "loyalty": Programme(template="email/retention/loyalty.html.j2", discount_percent=10),
        "long_term_discount": Programme(template="email/retention/long_term_discount.html.j2", discount_percent=10),
        "value_added": Programme(template="email/retention/value_added.html.j2", session_minutes=60),
    }

    @model_validator(mode="after")
    def _loyalty_offer_after_service_start(self):
        # 28 days is the shortest month, so the offer can never fall before the service starts
        if self.contract_months and self.loyalty_offer_days_before_renewal >= 28 * self.contract_months:
            raise ValueError("loyalty_offer_days_before_renewal must be shorter than the contract")
        return self

    def term_end(self, service_start: date, completion: date) -> date:
        """The day the contract's term ends (its renewal date)."""
        return add_months(service_start, self.contract_months) if self.contract_months else completion


class FollowUpWaits(Strict):
    """How long a follow-up waits on a person, counted in days of the sweep's clock."""

    onboarding_survey: Wait = Wait(remind_every_hours=48, timeout_hours=168, on_timeout="end")
    halfway_survey: Wait = Wait(remind_every_hours=48, timeout_hours=168, on_timeout="end")
    retention_offer: Wait = Wait(remind_every_hours=96, timeout_hours=336, on_timeout="end")
    testimonial: Wait = Wait(remind_every_hours=96, timeout_hours=336, on_timeout="end")
    adjustments: Wait = Wait(remind_every_hours=24, timeout_hours=72, on_timeout="end")


class EngagementRules(Strict):
    """How this company runs the engagement after kick-off (config/engagement.yaml)."""

    check_ins: CheckIns = CheckIns()
    health: HealthRules = HealthRules()  # SOP-B 4.2: the weekly health check and its thresholds
    action_time: time = time(9)  # local time every action other than a check-in falls due
    onboarding_survey: OnboardingSurvey = OnboardingSurvey()
    testimonial: Testimonial = Testimonial()
    csat: Csat = Csat()
    post_project: PostProject = PostProject()
    retention: Retention = Retention()
    waits: FollowUpWaits = FollowUpWaits()
    kpis: KpiTargets

    def kpi_targets(self) -> KpiTargets:
        """The KPI targets, with the CSAT score this company counts as satisfied."""
        return self.kpis.model_copy(update={"satisfied_score": self.csat.satisfied_at})

    def is_satisfied(self, csat: float) -> bool:
        """A CSAT score that makes the client eligible for a testimonial request (and counts for the KPI)."""
        return csat >= self.csat.satisfied_at

    def is_at_risk(self, csat: float) -> bool:
        """A CSAT score low enough to warrant the value-added retention offer (event-driven, not planned)."""
        return csat < self.csat.at_risk_below


def load_engagement_rules(path: str | Path) -> EngagementRules:
    """Read and validate the engagement rules; errors say which file and which field is wrong."""
    return load_yaml_model(path, EngagementRules, "engagement rules", EngagementRulesError)


# --------------------------------------------------------------------------- actions


class ActionKind(StrEnum):
    CHECK_IN = "check_in"
    ONBOARDING_SURVEY = "onboarding_survey"
    HEALTH_CHECK = "health_check"
    HALFWAY_FEEDBACK = "halfway_feedback"
    MONTHLY_REPORT = "monthly_report"
    QUARTERLY_REVIEW = "quarterly_review"
    COMPLETE_ONBOARDING = "complete_onboarding"
    REQUEST_TESTIMONIAL = "request_testimonial"
    POST_PROJECT_CHECK_IN = "post_project_check_in"
    RETENTION_OFFER = "retention_offer"
    RETENTION_CHECK = "retention_check"
    INVOICE = "invoice"  # invoice n of the package's billing schedule (sop/billing.py)


SOP_STEP = {
    ActionKind.CHECK_IN: "sop:A4.1",
    ActionKind.ONBOARDING_SURVEY: "sop:B.KPI.csat_onboarding",
    ActionKind.HEALTH_CHECK: "sop:B4.2",
    ActionKind.HALFWAY_FEEDBACK: "sop:A4.2",
    ActionKind.MONTHLY_REPORT: "sop:B4.1",
    ActionKind.QUARTERLY_REVIEW: "sop:B4.3",
    ActionKind.COMPLETE_ONBOARDING: "sop:A5.1",
    ActionKind.REQUEST_TESTIMONIAL: "sop:A5.2",
    ActionKind.POST_PROJECT_CHECK_IN: "sop:A5.3",
    ActionKind.RETENTION_OFFER: "sop:A5.4",
    ActionKind.RETENTION_CHECK: "sop:B.KPI.retention_90d",
    ActionKind.INVOICE: "sop:B.roles.finance",
}


class Action(Strict):
    """One dated step of the engagement; ``key`` identifies it for idempotency (see the module docstring)."""

    kind: ActionKind
    due: date
    at: AwareDatetime
    key: str
    sop: str

    @model_validator(mode="after")
    def _key_names_the_kind(self):
        if not self.key.startswith(f"{self.kind.value}:"):
            raise ValueError(f"key {self.key!r} must start with {self.kind.value!r}:")
        return self

    @property
    def meeting_day(self) -> date | None:
        """A check-in's meeting day (its key names it; the action is due when it is booked), else None."""
        if self.kind in (ActionKind.CHECK_IN, ActionKind.POST_PROJECT_CHECK_IN):
            return date.fromisoformat(self.key.split(":", 1)[1])
        return None

    def meeting_start(self, rules: EngagementRules, tz: tzinfo) -> datetime | None:
        """When a check-in meets, in ``tz`` (the configured local time on its day; a busy slot is moved
        when it is booked), else None."""
        day = self.meeting_day
        return datetime.combine(day, rules.check_ins.local_time, tzinfo=tz) if day else None


def add_months(d: date, months: int) -> date:
    """``d`` moved by whole calendar months, its day clamped to the month end (31 Jan + 1 -> 28/29 Feb)."""
    years, month0 = divmod(d.month - 1 + months, 12)
    year, month = d.year + years, month0 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _utc(day: date, local: time, tz: tzinfo) -> datetime:
    # fold=0: a wall time skipped by a DST jump lands just after the jump, an ambiguous one on its first occurrence
    return datetime.combine(day, local, tzinfo=tz).astimezone(UTC)


def _action(kind: ActionKind, slot: str, due: date, local: time, tz: tzinfo) -> Action:
    return Action(kind=kind, due=due, at=_utc(due, local, tz), key=f"{kind.value}:{slot}", sop=SOP_STEP[kind])


def on_event(kind: ActionKind, slot: str, due: date, rules: EngagementRules, tz: tzinfo) -> Action:
    """An action no plan schedules, added when something happens (a value-added offer after a low score)."""
    return _action(kind, slot, due, rules.action_time, tz)


def _every(first: date, step_days: int, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=step_days)


def _monthly(start: date, every_months: int, last: date) -> Iterator[tuple[int, date]]:
    # always counted from the start date, never from the previous occurrence, so a clamped 28 Feb
    # does not drag every later month to the 28th
    n = 1
    while (day := add_months(start, n * every_months)) <= last:
        yield n, day
        n += 1


def _first_weekday_after(day: date, weekday: str) -> date:
    return day + timedelta(days=(WEEKDAYS.index(weekday) - day.weekday() - 1) % 7 + 1)


def check_in_dates(kickoff: date, completion: date, rules: EngagementRules) -> list[date]:
    """The days of the project's check-in series: the first check-in weekday after kick-off, then every
    week or two, until the day before completion (the completion meeting replaces one on that day)."""
    c = rules.check_ins
    return list(_every(_first_weekday_after(kickoff, c.weekday), c.every_days, completion - timedelta(days=1)))


def _check_ins(kickoff: date, completion: date, rules: EngagementRules, tz: tzinfo) -> Iterator[Action]:
    # each is due the day it is booked, book_ahead_days before the meeting (the kick-off day at the
    # earliest: the run that holds the kick-off books what falls within the window already)
    ahead = timedelta(days=rules.check_ins.book_ahead_days)
    for day in check_in_dates(kickoff, completion, rules):
        yield _action(ActionKind.CHECK_IN, day.isoformat(), max(kickoff, day - ahead), rules.action_time, tz)


def _health_checks(kickoff: date, completion: date, rules: EngagementRules, tz: tzinfo) -> Iterator[Action]:
    # SOP-B 4.2: from a week after the first check-in (whether the client came is known by then) until completion
    every = rules.health.check_every_days
    if every is None:
        return
    first = _first_weekday_after(kickoff, rules.check_ins.weekday) + timedelta(days=7)
    for day in _every(first, every, completion):
        yield _action(ActionKind.HEALTH_CHECK, day.isoformat(), day, rules.action_time, tz)


def _reports_and_reviews(service_start: date, renewal: date, rules: EngagementRules, tz: tzinfo) -> Iterator[Action]:
    t = rules.action_time
    for _, day in _monthly(service_start, 1, renewal):
        yield _action(ActionKind.MONTHLY_REPORT, f"{day:%Y-%m}", day, t, tz)
    for n, day in _monthly(service_start, QUARTER_MONTHS, renewal):
        yield _action(ActionKind.QUARTERLY_REVIEW, f"q{n}", day, t, tz)


def _project_milestones(kickoff: date, service_start: date, completion: date, rules: EngagementRules,
                        tz: tzinfo) -> Iterator[Action]:
    t = rules.action_time
    yield _action(ActionKind.ONBOARDING_SURVEY, "kickoff", kickoff + timedelta(days=rules.onboarding_survey.send_after_days),
                  t, tz)
    halfway = service_start + timedelta(days=(completion - service_start).days // 2)
    testimonial = completion + timedelta(days=rules.testimonial.request_after_days)
    yield _action(ActionKind.HALFWAY_FEEDBACK, "project", halfway, t, tz)
    yield _action(ActionKind.COMPLETE_ONBOARDING, "project", completion, t, tz)
    yield _action(ActionKind.REQUEST_TESTIMONIAL, "project", testimonial, t, tz)


def _post_project(completion: date, horizon_end: date, rules: EngagementRules, tz: tzinfo) -> Iterator[Action]:
    every, ahead = rules.post_project.check_in_every_days, timedelta(days=rules.check_ins.book_ahead_days)
    for day in _every(completion + timedelta(days=every), every, horizon_end):
        yield _action(ActionKind.POST_PROJECT_CHECK_IN, day.isoformat(), day - ahead, rules.action_time, tz)


def _retention(service_start: date, renewal: date, rules: EngagementRules, tz: tzinfo) -> Iterator[Action]:
    r, t = rules.retention, rules.action_time
    # the renewal offer near the term's end: in its second half however short the term
    midway = service_start + timedelta(days=max(1, (renewal - service_start).days // 2))
    loyalty = max(midway, renewal - timedelta(days=r.loyalty_offer_days_before_renewal))
    discount = add_months(service_start, r.long_term_discount_after_months)
    check = service_start + timedelta(days=r.check_after_days)
    yield _action(ActionKind.RETENTION_OFFER, "loyalty", loyalty, t, tz)
    if discount < renewal:  # a long-term client's offer: only within a term that long
        yield _action(ActionKind.RETENTION_OFFER, "long_term_discount", discount, t, tz)
    yield _action(ActionKind.RETENTION_CHECK, f"{r.check_after_days}d", check, t, tz)


def _in_order(actions: Iterable[Action]) -> list[Action]:
    return sorted(actions, key=lambda a: (a.at, a.kind, a.key))


def plan_timeline(
    kickoff: date,
    service_start: date,
    project_weeks: int,
    rules: EngagementRules,
    tz: tzinfo,
    *,
    horizon_days: int | None = None,
) -> list[Action]:
    """Every engagement action from kick-off to the end of the contract, sorted by (at, kind).

    The project runs from ``service_start`` for ``project_weeks`` weeks; its end is the onboarding
    completion. Check-ins run from the first check-in weekday after kick-off until completion, each
    due when it is booked (``book_ahead_days`` before it; its key names the meeting's day); monthly
    reports and quarterly reviews run within the contract's term (``Retention.term_end``: by default
    the project); post-project check-ins run until ``horizon_days`` after service start.
    """
    if project_weeks < 1:
        raise ValueError(f"project_weeks must be at least 1, got {project_weeks}")
    horizon = rules.post_project.horizon_days if horizon_days is None else horizon_days
    if horizon < 1:
        raise ValueError(f"horizon_days must be at least 1, got {horizon}")
    completion = service_start + timedelta(weeks=project_weeks)
    renewal = rules.retention.term_end(service_start, completion)
    horizon_end = service_start + timedelta(days=horizon)
    return _in_order([
        *_check_ins(kickoff, completion, rules, tz),
        *_health_checks(kickoff, completion, rules, tz),
        *_project_milestones(kickoff, service_start, completion, rules, tz),
        *_reports_and_reviews(service_start, renewal, rules, tz),
        *_post_project(completion, horizon_end, rules, tz),
        *_retention(service_start, renewal, rules, tz),
    ])


def _reached(action: Action, as_of: date | datetime) -> bool:
    # datetime is a subclass of date: test it first, and compare moments with moments, days with days
    if isinstance(as_of, datetime):
        if as_of.tzinfo is None or as_of.utcoffset() is None:
            raise ValueError("as_of must be timezone-aware when given as a datetime")
        return action.at <= as_of
    return action.due <= as_of


def due_actions(timeline: Iterable[Action], done_keys: Collection[str], as_of: date | datetime) -> list[Action]:
    """Every action not yet done that is due on or before ``as_of``, oldest first.

    A ``date`` compares with each action's local ``due`` day (the whole day counts); an aware
    ``datetime`` compares with its ``at`` moment.
    """
    return _in_order(a for a in timeline if a.key not in done_keys and _reached(a, as_of))


def next_action(timeline: Iterable[Action], done_keys: Collection[str], as_of: date | datetime) -> Action | None:
    """The first action not yet done that is due after ``as_of`` (what to wait for), or None.

    Overdue actions are ``due_actions``' business: for the same ``as_of`` the two never overlap.
    """
    upcoming = _in_order(a for a in timeline if a.key not in done_keys and not _reached(a, as_of))
    return upcoming[0] if upcoming else None


def replan(
    old_timeline: Iterable[Action],
    done_keys: Collection[str],
    new_kickoff: date,
    new_service_start: date,
    new_weeks: int,
    rules: EngagementRules,
    tz: tzinfo,
    *,
    horizon_days: int | None = None,
) -> list[Action]:
    """The timeline for new dates: done actions stay exactly as they were, the rest is planned afresh.

    A key that is done is never scheduled again, even when the new dates would put it elsewhere
    (the halfway feedback already collected is not asked for twice; a month already reported on
    gets no second report). Old actions that are not done are dropped and recomputed.
    """
    done = set(done_keys)
    kept: dict[str, Action] = {}
    for action in old_timeline:
        if action.key in done:
            kept.setdefault(action.key, action)
    fresh = plan_timeline(new_kickoff, new_service_start, new_weeks, rules, tz, horizon_days=horizon_days)
    return _in_order([*kept.values(), *(a for a in fresh if a.key not in done)])
