"""What each phase hands to the next, and what a run reports at the end."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel


class Outcome(StrEnum):
    ONBOARDED = "onboarded"
    DECLINED = "declined"  # not qualified (SOP-B 1.3)
    PROPOSAL_REJECTED = "proposal_rejected"
    PROPOSAL_EXPIRED = "proposal_expired"
    CONTRACT_UNSIGNED = "contract_unsigned"
    ALREADY_IN_PROGRESS = "already_in_progress"  # refused: another run is onboarding this client


class Lead(BaseModel):
    """Phase 1 -> 2: the CRM records and the people looking after the client."""

    company_id: str
    contact_id: str
    deal_id: str
    pipeline_id: str
    stage_ids: dict[str, str]  # config stage key -> HubSpot stage id
    owner_id: str
    specialist_email: str
    folder_ids: dict[str, str] = {}
    discovery_meeting_id: int | None = None
    discovery_at: datetime | None = None
    intake_answers: dict[str, str] = {}

    def ids(self) -> dict[str, str]:
        return {"contacts": self.contact_id, "companies": self.company_id, "deals": self.deal_id}


class Agreement(BaseModel):
    """Phase 2 -> 3: what was sold and signed."""

    package_key: str
    scope: str
    price: int
    deliverables: list[str] = []  # as negotiated (SOP-B 2.3); empty: the package's
    proposal_version: int
    proposal_file_id: str
    contract_file_id: str
    signed_file_id: str
    signed_on: date


class Setup(BaseModel):
    """Phase 3's result: where the client now lives in every tool."""

    client_id: str
    asana_project_gid: str
    slack_channel_id: str
    kickoff_meeting_id: int
    kickoff_at: datetime
    service_start: date
    welcome_letter_id: str


class OnboardingResult(BaseModel):
    outcome: Outcome
    company: str
    detail: str = ""
    lead: Lead | None = None
    agreement: Agreement | None = None
    setup: Setup | None = None
    seconds_per_phase: dict[str, float] = {}
