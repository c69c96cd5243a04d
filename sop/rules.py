"""Company rules for the SOP (config/onboarding.yaml): qualification, catalogue, waits, pipeline."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import EmailStr, Field, model_validator

from sop.base import Strict
from sop.client import Industry, NewClient, Service
from sop.config_files import load_yaml_model


class RulesError(ValueError):
    """The rules file is invalid; the message names the file and the field."""


class Referral(Strict):
    name: str
    email: EmailStr
    note: str = ""


class Qualification(Strict):
    minimum_budget: int = Field(ge=0)
    industries_served: list[Industry]
    borderline_budget_fraction: float = Field(0.0, ge=0, lt=1)
    borderline_industries: list[Industry] = []
    referral: Referral | None = None


class Verdict(StrEnum):
    QUALIFIED = "qualified"
    BORDERLINE = "borderline"
    NOT_QUALIFIED = "not_qualified"


class QualificationResult(Strict):
    verdict: Verdict
    reasons: list[str]


class Milestone(Strict):
    """A part of the price invoiced when the project reaches a point: ``after_weeks`` from service start."""

    name: str = Field(min_length=1)
    after_weeks: int = Field(ge=1)
    percent: int = Field(gt=0, le=100)


class BillingSchedule(Strict):
    """How a package is invoiced (SOP-B's Finance: billing and invoicing): a deposit when the accounts
    are set up (B3.1), then the rest in equal monthly parts within the contract, or at milestones."""

    deposit_percent: int = Field(ge=0, le=100)
    then: Literal["monthly", "milestones"]
    milestones: list[Milestone] = Field(default_factory=list)
    due_days: int = Field(30, ge=0, le=365, description="an invoice is payable within this many days")

    @model_validator(mode="after")
    def _adds_up(self):
        if self.then == "monthly" and self.milestones:
            raise ValueError("milestones are only for then: milestones")
        if self.then == "milestones":
            if not self.milestones:
                raise ValueError("then: milestones needs at least one milestone")
            total = self.deposit_percent + sum(m.percent for m in self.milestones)
            if total != 100:
                raise ValueError(f"deposit_percent and the milestones' percent add up to {total}, not 100")
        return self

    def describe(self) -> str:
        """The contract's wording of the schedule."""
        rest = 100 - self.deposit_percent
        if self.then == "monthly":
            later = f"the remaining {rest}% invoiced monthly in equal parts" if rest else ""
        else:
            later = ", ".join(f"{m.percent}% at {m.name} (week {m.after_weeks})" for m in self.milestones)
        deposit = f"{self.deposit_percent}% invoiced as a deposit at the start" if self.deposit_percent else ""
        return "; ".join(p for p in (deposit, later) if p) + f", each payable within {self.due_days} days of invoice"


DEFAULT_BILLING = BillingSchedule(deposit_percent=30, then="monthly")


class ServicePackage(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    name: str
    services: list[Service]
    price: int = Field(gt=0)
    weeks: int = Field(gt=0)
    deliverables: list[str] = Field(min_length=1)
    billing: BillingSchedule = DEFAULT_BILLING

    @model_validator(mode="after")
    def _milestones_within_the_project(self):
        late = [m.name for m in self.billing.milestones if m.after_weeks > self.weeks]
        if late:
            raise ValueError(f"billing milestone(s) {', '.join(late)} fall after the package's {self.weeks} weeks")
        return self


class Wait(Strict):
    remind_every_hours: float = Field(gt=0)
    timeout_hours: float = Field(gt=0)
    on_timeout: Literal["escalate", "decline", "end"]


class DealStage(Strict):
    key: str
    label: str
    probability: float = Field(ge=0, le=1)
    closed: bool = False


class DealPipeline(Strict):
    label: str
    stages: list[DealStage] = Field(min_length=2)

    def stage_specs(self) -> list[tuple[str, float, bool]]:
        """(label, probability, closed) per stage, in order: what the CRM's pipeline is made from."""
        return [(s.label, s.probability, s.closed) for s in self.stages]

    @model_validator(mode="after")
    def _has_won_and_lost(self):
        keys = {s.key for s in self.stages}
        if not {"lead", "won", "lost"} <= keys:
            raise ValueError("stages must include the keys lead, won and lost")
        return self


class Meetings(Strict):
    discovery_minutes: int = Field(30, gt=0, le=480)
    kickoff_minutes: int = Field(60, gt=0, le=480)
    earliest_days_ahead: int = Field(1, ge=0)


class OnboardingRules(Strict):
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    qualification: Qualification
    service_packages: list[ServicePackage] = Field(min_length=1)
    approvals: dict[str, Wait]
    pipeline: DealPipeline
    meetings: Meetings = Meetings()
    billing: Literal["hubspot_line_items"] = "hubspot_line_items"
    # SOP-B 2.4: how both signatures are obtained. dropbox_sign: a signature request to the client contact,
    # then the approving manager; staff_confirmation: staff confirm a signature made elsewhere (a form).
    esign: Literal["dropbox_sign", "staff_confirmation"] = "staff_confirmation"
    # A declined e-signature: ask_sales (sales choose: send again, signed on paper, or lost) | lost
    on_signature_declined: Literal["ask_sales", "lost"] = "ask_sales"

    def package(self, key: str) -> ServicePackage:
        for p in self.service_packages:
            if p.key == key:
                return p
        raise KeyError(f"no service package {key!r}; known: {', '.join(p.key for p in self.service_packages)}")

    def wait(self, name: str) -> Wait:
        return self.approvals[name]

    def qualify(self, client: NewClient) -> QualificationResult:
        """SOP-B 1.3: minimum budget and industry suitability; near misses go to staff."""
        q = self.qualification
        hard, soft = [], []
        if client.industry not in q.industries_served:
            hard.append(f"industry {client.industry.value} is not one we serve")
        elif client.industry in q.borderline_industries:
            soft.append(f"industry {client.industry.value} needs a staff decision")
        floor = q.minimum_budget * (1 - q.borderline_budget_fraction)
        if client.budget < floor:
            hard.append(f"budget {client.budget} is below the minimum {q.minimum_budget}")
        elif client.budget < q.minimum_budget:
            soft.append(f"budget {client.budget} is just under the minimum {q.minimum_budget}")
        if hard:
            return QualificationResult(verdict=Verdict.NOT_QUALIFIED, reasons=hard + soft)
        if soft:
            return QualificationResult(verdict=Verdict.BORDERLINE, reasons=soft)
        return QualificationResult(verdict=Verdict.QUALIFIED, reasons=["meets budget and industry criteria"])

    def suggest_package(self, client: NewClient) -> ServicePackage:
        """The package covering most requested services within budget (cheapest on ties)."""
        wanted = set(client.requested_services)
        affordable = [p for p in self.service_packages if p.price <= client.budget] or self.service_packages
        return max(affordable, key=lambda p: (len(wanted & set(p.services)), -p.price))


def load_rules(path: str | Path) -> OnboardingRules:
    """Read and validate the onboarding rules; errors say which file and which field is wrong."""
    return load_yaml_model(path, OnboardingRules, "onboarding rules", RulesError)