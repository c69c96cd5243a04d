"""The typed forms staff answer in the Prefect UI when a run waits on them (one per SOP decision).

Written for staff: every field has a title and a description; choices read as words; no optional
``None`` toggles (an empty text or a 0 means "not given"); links must look like links, so the Resume
dialog itself refuses a typo (Prefect checks the answer against the form's JSON schema, ``pattern``
included). What the schema cannot say is checked when the run loads the answer: an invalid answer
is asked again with the error shown (``flows/people/waits.ask_staff``), it never fails the run."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

from prefect.input import RunInput
from pydantic import Field, HttpUrl, create_model, model_validator

from sop.rules import OnboardingRules, ServicePackage

LINK = r"^https?://[^\s/$.?#][^\s]*\.[^\s]+$"  # what the Resume dialog accepts as a link (pydantic checks more)


class QualificationDecision(RunInput):
    """SOP-B 1.3 — a borderline lead: qualify or decline?"""

    decision: Literal["qualify", "decline"] = Field(
        title="Decision", description="qualify: the onboarding goes on; decline: the client gets a polite no")
    reason: str = Field(min_length=3, title="Why", description="Recorded on the deal in HubSpot")


class DiscoveryNotes(RunInput):
    """SOP-A 2.3 — notes from the discovery call."""

    expectations: str = Field(min_length=3, title="Expectations", description="What the client expects from us")
    deliverables: str = Field(min_length=3, title="Deliverables", description="Deliverables discussed")
    deadlines: str = Field(min_length=3, title="Deadlines", description="Deadlines and key dates")
    pain_points: str = Field("", title="Pain points", description="Pain points the client named (optional)")


class NegotiationDecision(RunInput):
    """SOP-B 2.3 — the client's answer to the proposal."""

    decision: Literal["accept", "revise", "reject"] = Field(
        title="Client's answer",
        description="accept: on to the contract; revise: a new proposal version with the changes below; "
                    "reject: the deal is closed lost")
    change_notes: str = Field("", title="Changes", description="For a revision: what changes, one per line")
    price: int = Field(0, ge=0, title="New price",
                       description="For a revision: the new price in whole currency units; 0 keeps the price")
    add_deliverables: str = Field("", title="Deliverables added",
                                  description="For a revision: deliverables the client asked for, one per line "
                                              "(they go into the contract and the project plan)")
    drop_deliverables: str = Field("", title="Deliverables dropped",
                                   description="For a revision: deliverables of this proposal to leave out, one per "
                                               "line, as the proposal names them")

    @model_validator(mode="after")
    def _a_revision_says_what_changes(self):  # a rule across fields: the form's JSON schema cannot say it
        if self.decision == "revise" and not (self.change_notes.strip() or self.add_deliverables.strip()
                                              or self.drop_deliverables.strip()):
            raise ValueError("a revision needs the changes: fill in Changes, one per line")
        return self

    def added(self) -> list[str]:
        return lines(self.add_deliverables)

    def dropped(self) -> list[str]:
        return lines(self.drop_deliverables)


def lines(text: str) -> list[str]:
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


def negotiation_form(deliverables: list[str]) -> type[NegotiationDecision]:
    """The proposal's answer form, refusing a dropped deliverable the proposal does not have (asked again
    with the proposal's list shown)."""
    known = {d.casefold() for d in deliverables}

    class ProposalAnswer(NegotiationDecision):
        @model_validator(mode="after")
        def _drops_what_the_proposal_has(self):
            unknown = [d for d in self.dropped() if d.casefold() not in known]
            if unknown:
                raise ValueError(f"{'; '.join(unknown)}: not a deliverable of this proposal; it has "
                                 f"{'; '.join(deliverables)}")
            return self

    ProposalAnswer.__name__ = ProposalAnswer.__qualname__ = "NegotiationDecision"
    return ProposalAnswer


class ContractSigned(RunInput):
    """SOP-B 2.4 — confirmation that both parties signed."""

    client_signatory: str = Field(min_length=3, title="Signed for the client by", description="Full name")
    provider_signatory: str = Field(min_length=3, title="Signed for us by", description="Full name")
    signed_on: date = Field(title="Signed on", description="The date of the last signature")
    signed_copy_url: HttpUrl = Field(title="Link to the signed copy",
                                     description="The e-signature or the scan, e.g. https://drive.google.com/…",
                                     json_schema_extra={"pattern": LINK})

    @model_validator(mode="after")
    def _signed_already(self):
        if self.signed_on > date.today() + timedelta(days=1):  # a day's grace for time zones
            raise ValueError(f"signed on {self.signed_on} is in the future: give the date of the last signature")
        return self


class SignatureDeclined(RunInput):
    """SOP-B 2.4 — a signer declined the contract in Dropbox Sign: what now?"""

    decision: Literal["send_again", "signed_on_paper", "lost"] = Field(
        title="What now",
        description="send_again: a new signature request (once the signer's concern is settled); "
                    "signed_on_paper: both parties signed a paper copy (you will be asked for its details); "
                    "lost: the deal is closed lost")
    note: str = Field("", title="Note", description="Recorded on the deal (optional)")


class KickoffOutcome(RunInput):
    """SOP-A 3.4 / B3.4 — what the kick-off meeting confirmed."""

    objectives: str = Field(min_length=3, title="Objectives", description="Confirmed objectives")
    timeline: str = Field(min_length=3, title="Timeline", description="Agreed timeline and milestones")
    next_steps: str = Field(min_length=3, title="Next steps", description="Immediate next steps and owners")


class InvoiceApproval(RunInput):
    """SOP-B, Finance — approve this invoice before it is issued to the client?"""

    decision: Literal["approve", "hold"] = Field(
        title="Decision", description="approve: the invoice is issued (open) and can be paid; hold: it stays a draft")
    reason: str = Field("", title="Why", description="For a hold: what is wrong (recorded in HubSpot)")

    @model_validator(mode="after")
    def _a_hold_says_why(self):
        if self.decision == "hold" and len(self.reason.strip()) < 3:
            raise ValueError("a hold needs the reason: fill in Why")
        return self


def package_label(p: ServicePackage) -> str:
    """What the dropdown shows for a package: its name, price and services."""
    return f"{p.name} — {p.price:,} — {', '.join(s.value.replace('_', ' ') for s in p.services)}"


def solution_design_form(rules: OnboardingRules) -> type[RunInput]:
    """SOP-B 2.1 — staff confirm or change the suggested package (a dropdown of the catalogue, labelled
    with each package's name, price and services; the answer's ``package.name`` is the package key)."""
    Package = StrEnum("Package", {p.key: package_label(p) for p in rules.service_packages})
    return create_model(
        "SolutionDesign",
        __base__=RunInput,
        __doc__="SOP-B 2.1 — confirm or change the service package for this client.",
        package=(Package, Field(title="Service package", description="The suggested package is preselected")),
        scope=(str, Field(min_length=10, title="Scope of work",
                          description="A few sentences; they go into the proposal")),
        price=(int, Field(0, ge=0, title="Price", description="Whole currency units; 0 keeps the catalogue price")),
        consulted=(str, Field("", title="Departments consulted", description="e.g. Operations, Finance (optional)")),
    )


def package_choice(rules: OnboardingRules, key: str) -> str:
    """The solution-design form's answer that picks the package ``key`` (what staff pick in the dropdown)."""
    return package_label(rules.package(key))
