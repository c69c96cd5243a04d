"""The typed forms staff answer in the Prefect UI when a run pauses (one per SOP decision)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from prefect.input import RunInput
from pydantic import Field, HttpUrl, create_model

from sop.rules import OnboardingRules


class QualificationDecision(RunInput):
    """SOP-B 1.3 — a borderline lead: qualify or decline?"""

    decision: Literal["qualify", "decline"] = Field(description="qualify continues; decline sends a polite no")
    reason: str = Field(min_length=3, description="Why (recorded on the deal)")


class DiscoveryNotes(RunInput):
    """SOP-A 2.3 — notes from the discovery call."""

    expectations: str = Field(min_length=3, description="What the client expects from us")
    deliverables: str = Field(min_length=3, description="Deliverables discussed")
    deadlines: str = Field(min_length=3, description="Deadlines and key dates")
    pain_points: str = Field("", description="Pain points the client named")


class NegotiationDecision(RunInput):
    """SOP-B 2.3 — the client's answer to the proposal."""

    decision: Literal["accept", "revise", "reject"]
    change_notes: str = Field("", description="For a revision: what changes (one per line)")
    price: int | None = Field(None, ge=0, description="For a revision: the new price, if it changes")


class ContractSigned(RunInput):
    """SOP-B 2.4 — confirmation that both parties signed."""

    client_signatory: str = Field(min_length=3, description="Who signed for the client")
    provider_signatory: str = Field(min_length=3, description="Who signed for us")
    signed_on: date
    signed_copy_url: HttpUrl = Field(description="Link to the signed copy (e-signature or scan)")


class KickoffOutcome(RunInput):
    """SOP-A 3.4 / B3.4 — what the kick-off meeting confirmed."""

    objectives: str = Field(min_length=3, description="Confirmed objectives")
    timeline: str = Field(min_length=3, description="Agreed timeline and milestones")
    next_steps: str = Field(min_length=3, description="Immediate next steps and owners")


def solution_design_form(rules: OnboardingRules) -> type[RunInput]:
    """SOP-B 2.1 — staff confirm or change the suggested package (a dropdown of the catalogue)."""
    Package = StrEnum("Package", {p.key: p.key for p in rules.service_packages})
    return create_model(
        "SolutionDesign",
        __base__=RunInput,
        __doc__="SOP-B 2.1 — confirm or change the service package for this client.",
        package=(Package, Field(description="Service package from the catalogue")),
        scope=(str, Field(min_length=10, description="Scope of work, in a few sentences for the proposal")),
        price=(int | None, Field(None, ge=0, description="Price, if different from the catalogue")),
        consulted=(str, Field("", description="Departments consulted (e.g. Operations, Finance)")),
    )
