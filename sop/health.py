"""SOP-B 4.2 performance monitoring: a client's health (green, amber, red) and why, as pure rules.

Three signals, each read from a vendor by the health check (``flows/engagement/health.py``):

* overdue deliverables: the open tasks of the client's Asana project due before the day;
* check-ins missed: check-ins whose day has passed that the client declined (the Calendar invite's
  ``responseStatus``; the flow's docstring says why a declined invite, not an unanswered one), counted
  over the last ``missed_window_days``;
* survey scores over time: the client's survey scores (1-5), oldest first: the onboarding survey's,
  then the halfway survey's.

``assess`` turns them into a status with the reasons in words, by the thresholds of
``config/engagement.yaml`` ``health:`` (``HealthRules``) and the CSAT levels of its ``csat:`` section.
The history kept on the CRM ("2026-03-10:green;2026-03-17:red") is read and extended here too, and
``health_row`` / ``health_markdown`` make the per-client view from what the CRM holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from pydantic import Field, model_validator

from sop.base import Strict

HISTORY_KEEP = 104  # checks kept in the history property (two years of weekly checks)
SHOWN = 3  # overdue task names spelt out in a reason


class HealthStatus(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"

    @property
    def rank(self) -> int:
        return ("green", "amber", "red").index(self.value)


class HealthRules(Strict):
    """SOP-B 4.2: when a client's health turns amber or red (config/engagement.yaml ``health:``).

    A signal at or above its ``red_`` threshold makes the client red, at or above its ``amber_`` one
    amber; the worst signal wins. Survey scores use the ``csat:`` levels: the latest score below
    ``at_risk_below`` is red, below ``satisfied_at`` amber, and a fall of ``score_drop`` points or more
    from the score before is amber."""

    check_every_days: int | None = Field(None, ge=1, le=31)  # None: no health check is planned
    amber_overdue: int = Field(1, ge=1, le=1000)
    red_overdue: int = Field(3, ge=1, le=1000)
    amber_missed: int = Field(1, ge=1, le=100)
    red_missed: int = Field(2, ge=1, le=100)
    missed_window_days: int | None = Field(28, ge=1, le=3660)  # None: since kick-off
    score_drop: int = Field(1, ge=1, le=4)

    @model_validator(mode="after")
    def _amber_before_red(self):
        for signal in ("overdue", "missed"):
            if getattr(self, f"amber_{signal}") > getattr(self, f"red_{signal}"):
                raise ValueError(f"amber_{signal} must not be above red_{signal}")
        return self


@dataclass(frozen=True)
class HealthSignals:
    """What the tools say about one client on a day."""

    overdue: tuple[str, ...] = ()  # open tasks due before the day, e.g. "Marketing plan (due 2026-03-10)"
    missed: tuple[date, ...] = ()  # the days of the check-ins the client missed
    scores: tuple[int, ...] = ()  # survey scores 1-5, oldest first


@dataclass(frozen=True)
class Health:
    status: HealthStatus
    reasons: tuple[str, ...]
    overdue: int  # deliverables overdue
    missed: int  # check-ins missed within the window

    @property
    def text(self) -> str:
        return "; ".join(self.reasons)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _level(n: int, amber: int, red: int) -> HealthStatus | None:
    return HealthStatus.RED if n >= red else HealthStatus.AMBER if n >= amber else None


def missed_within(missed: Iterable[date], as_of: date, window_days: int | None) -> list[date]:
    """The missed check-ins before ``as_of`` that count: those of the last ``window_days`` (all: None)."""
    since = as_of - timedelta(days=window_days) if window_days else date.min
    return sorted(d for d in set(missed) if since <= d < as_of)


def assess(signals: HealthSignals, as_of: date, rules: HealthRules, satisfied_at: int, at_risk_below: int) -> Health:
    """The client's status on ``as_of`` and every reason for it (green: "on track")."""
    found: list[tuple[HealthStatus, str]] = []
    overdue = list(signals.overdue)
    level = _level(len(overdue), rules.amber_overdue, rules.red_overdue)
    if level:
        names = ", ".join(overdue[:SHOWN]) + (f" and {len(overdue) - SHOWN} more" if len(overdue) > SHOWN else "")
        found.append((level, f"{_plural(len(overdue), 'deliverable')} overdue: {names}"))
    missed = missed_within(signals.missed, as_of, rules.missed_window_days)
    level = _level(len(missed), rules.amber_missed, rules.red_missed)
    if level:
        window = f"in the last {rules.missed_window_days} days" if rules.missed_window_days else "since kick-off"
        found.append((level, f"{_plural(len(missed), 'check-in')} missed {window} (declined): "
                             + ", ".join(d.isoformat() for d in missed)))
    scores = [s for s in signals.scores if 1 <= s <= 5]
    if scores:
        latest = scores[-1]
        if latest < at_risk_below:
            found.append((HealthStatus.RED, f"latest survey score {latest}/5 is below {at_risk_below} (at risk)"))
        elif latest < satisfied_at:
            found.append((HealthStatus.AMBER, f"latest survey score {latest}/5 is below {satisfied_at} (not satisfied)"))
        if len(scores) > 1 and scores[-2] - latest >= rules.score_drop:
            found.append((HealthStatus.AMBER, f"survey score fell from {scores[-2]} to {latest}"))
    if not found:
        return Health(HealthStatus.GREEN, ("on track",), len(overdue), len(missed))
    status = max((s for s, _ in found), key=lambda s: s.rank)
    ordered = [text for s, text in found if s == HealthStatus.RED] + [text for s, text in found if s != HealthStatus.RED]
    return Health(status, tuple(ordered), len(overdue), len(missed))


def turned_red(previous: str | None, now: HealthStatus) -> bool:
    """Red now and not red at the last check (or never checked): the account manager is told."""
    return now == HealthStatus.RED and previous != HealthStatus.RED


# --------------------------------------------------------------------------- history ("date:status;...")


def parse_history(text: str | None) -> list[tuple[date, HealthStatus]]:
    """The checks recorded, oldest first (entries that are not ``YYYY-MM-DD:status`` are left out)."""
    out: dict[date, HealthStatus] = {}
    for entry in (text or "").split(";"):
        day, _, status = entry.strip().partition(":")
        try:
            out[date.fromisoformat(day)] = HealthStatus(status)
        except ValueError:
            continue
    return sorted(out.items())


def add_to_history(text: str | None, day: date, status: HealthStatus, keep: int = HISTORY_KEEP) -> str:
    """The history with ``day``'s check (a second check that day replaces the first), the last ``keep``."""
    entries = dict(parse_history(text))
    entries[day] = status
    return ";".join(f"{d.isoformat()}:{s.value}" for d, s in sorted(entries.items())[-keep:])


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class HealthRow:
    """One client in the health view, from the properties the health check stored on the CRM."""

    company: str
    domain: str
    status: str  # green | amber | red | "not checked"
    overdue: str
    missed: str
    scores: str  # "5 → 4 → 2"
    reasons: str
    checked: str  # the date of the check shown
    history: str  # the statuses up to it, e.g. "G G A R"


def survey_scores(props: Mapping[str, str | None]) -> list[int]:
    """The client's survey scores (1-5), oldest first: the onboarding survey's after the kick-off
    (``onboarding_csat``), then the halfway survey's (``csat_scores``, ``;``-separated)."""
    def score(text: str | None) -> int | None:
        try:
            value = int(float(text or 0))
        except ValueError:
            return None
        return value if 1 <= value <= 5 else None

    found = [score(props.get("onboarding_csat")), *(score(s) for s in (props.get("csat_scores") or "").split(";"))]
    return [s for s in found if s is not None]


def _int(value: str | None) -> str:
    try:
        return str(int(float(value))) if value not in (None, "") else ""
    except ValueError:
        return ""


def health_row(props: Mapping[str, str | None], as_of: date | None = None) -> HealthRow:
    """The client's row as of ``as_of`` (None: the latest check). Checks after ``as_of`` are left out;
    the counts and reasons are those of the latest check, so they are shown only when it is on or
    before ``as_of`` (an earlier day shows its status from the history)."""
    history = [(d, s) for d, s in parse_history(props.get("health_history")) if as_of is None or d <= as_of]
    checked = (props.get("health_checked_date") or "")[:10]
    latest = bool(checked) and (as_of is None or checked <= as_of.isoformat())
    status = props.get("health_status") if latest else (history[-1][1].value if history else None)
    shown = checked if latest else (history[-1][0].isoformat() if history else "")
    scores = [str(s) for s in survey_scores(props)]
    return HealthRow(
        company=props.get("name") or props.get("domain") or "", domain=props.get("domain") or "",
        status=status or "not checked",
        overdue=_int(props.get("health_overdue")) if latest else "",
        missed=_int(props.get("health_missed_check_ins")) if latest else "",
        scores=" → ".join(scores) or "—",
        reasons=(props.get("health_reasons") or "") if latest else "",
        checked=shown, history=" ".join(s.value[0].upper() for _, s in history))


def by_urgency(rows: Iterable[HealthRow]) -> list[HealthRow]:
    """Red first, then amber, green and not checked; by company within each."""
    order = {"red": 0, "amber": 1, "green": 2}
    return sorted(rows, key=lambda r: (order.get(r.status, 3), r.company.lower()))


MARK = {"red": "🔴 red", "amber": "🟠 amber", "green": "🟢 green"}


def health_markdown(rows: Sequence[HealthRow], as_of: date | None) -> str:
    """The view as a markdown table (the ``client-health`` Prefect artifact)."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ") or "—"

    head = ("client", "status", "overdue deliverables", "check-ins missed", "survey scores", "reasons", "last checked",
            "history")
    lines = [f"# Client health (SOP-B 4.2){f' as of {as_of}' if as_of else ''}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += [f"| {cell(r.company)} | {MARK.get(r.status, r.status)} | {cell(r.overdue)} | {cell(r.missed)} | "
              f"{cell(r.scores)} | {cell(r.reasons)} | {cell(r.checked)} | {cell(r.history)} |" for r in rows]
    counts = {s: sum(r.status == s for r in rows) for s in ("red", "amber", "green")}
    lines += ["", f"{len(rows)} client(s): {counts['red']} red, {counts['amber']} amber, {counts['green']} green."]
    return "\n".join(lines)
