"""A package's billing schedule as invoices (SOP-B: Finance, billing and invoicing), as pure arithmetic.

Invoice 0 is the deposit, drafted when the accounts are set up (B3.1); invoices 1, 2, … fall on their
dates within the contract (each month after service start up to the term's end, or each milestone) and
are the engagement timeline's ``invoice:<n>`` actions. Each invoice bills a slice of the price: the
slices are cumulative fractions rounded to cents, so the invoices always add up to the price exactly.
When the schedule changes between invoices (an adjustment moved the term's end: more or fewer months),
the next invoice starts where the last one billed ended (``rebased``), so they still add up.
No vendor calls, no Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta, tzinfo
from fractions import Fraction

from sop.rules import BillingSchedule
from sop.timeline import Action, ActionKind, EngagementRules, add_months, on_event


@dataclass(frozen=True)
class InvoicePart:
    """One invoice of the schedule: the slice ``[start, end)`` of the price (fractions of 1)."""

    n: int  # 0: the deposit
    label: str  # what the invoice's line items say it is for, e.g. "month 1 of 2"
    due: date | None  # the day it is drafted (None for the deposit: at account setup)
    start: Fraction
    end: Fraction

    @property
    def percent(self) -> float:
        return float((self.end - self.start) * 100)

    def amount(self, price: float) -> float:
        """This invoice's slice of ``price``, in cents; the slices of a schedule add up to ``price``."""
        cents = Fraction(round(price * 100))
        return float(round(cents * self.end) - round(cents * self.start)) / 100


def rebased(part: InvoicePart, billed: Fraction | None) -> InvoicePart:
    """``part`` starting at ``billed`` (the share billed through the invoice before it; None: as planned), its
    end moved so the rest of the price is spread as the schedule spreads it now; the last part still ends at
    1. With the schedule unchanged since the invoice before, ``part`` itself."""
    if billed is None or billed == part.start or part.start >= 1:
        return part
    return replace(part, start=billed, end=billed + (1 - billed) * (part.end - part.start) / (1 - part.start))


def deposit(schedule: BillingSchedule) -> InvoicePart | None:
    """Invoice 0, the deposit (None for a schedule without one)."""
    if not schedule.deposit_percent:
        return None
    return InvoicePart(0, f"deposit ({schedule.deposit_percent}%)", None, Fraction(0),
                       Fraction(schedule.deposit_percent, 100))


def invoice_parts(schedule: BillingSchedule, service_start: date, term_end: date) -> list[InvoicePart]:
    """Every invoice of the schedule, in order: the deposit (if any), then each month after service start
    up to ``term_end`` (the whole rest on ``term_end`` for a term shorter than a month), or each milestone."""
    first = deposit(schedule)
    parts: list[InvoicePart] = [first] if first else []
    done = Fraction(schedule.deposit_percent, 100)
    if schedule.then == "monthly":
        if done == 1:
            return parts
        months, i = [], 1
        while (day := add_months(service_start, i)) <= term_end:
            months.append(day)
            i += 1
        months = months or [term_end]
        each = (1 - done) / len(months)
        for i, day in enumerate(months, start=1):
            lo = done + each * (i - 1)
            parts.append(InvoicePart(i, f"month {i} of {len(months)}", day, lo, done + each * i))
        return parts
    for i, m in enumerate(schedule.milestones, start=1):
        hi = done + Fraction(m.percent, 100)
        parts.append(InvoicePart(i, f"{m.name} ({m.percent}%)", service_start + timedelta(weeks=m.after_weeks),
                                 done, hi))
        done = hi
    return parts


def invoice_actions(schedule: BillingSchedule, service_start: date, term_end: date, rules: EngagementRules,
                    tz: tzinfo) -> list[Action]:
    """The timeline's ``invoice:<n>`` actions: every invoice after the deposit, due on its day."""
    return [on_event(ActionKind.INVOICE, str(p.n), p.due, rules, tz)
            for p in invoice_parts(schedule, service_start, term_end) if p.due is not None]
