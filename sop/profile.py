"""The company profile (config/company.yaml): letterhead, team roster by role, timezone."""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import EmailStr, Field, HttpUrl, field_validator, model_validator

from sop.base import Strict
from sop.config_files import load_yaml_model


class ProfileError(ValueError):
    """The profile file is missing or invalid; the message names the file and the field."""


class Role(StrEnum):
    CLIENT_RELATIONS_MANAGER = "client_relations_manager"
    ONBOARDING_SPECIALIST = "onboarding_specialist"
    ACCOUNT_MANAGER = "account_manager"
    SALES = "sales"
    OPERATIONS = "operations"
    FINANCE = "finance"


class Letterhead(Strict):
    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    phone: str = Field(pattern=r"^\+?[0-9 ()-]{6,20}$")
    email: EmailStr
    website: HttpUrl


class Person(Strict):
    name: str = Field(min_length=1)
    email: EmailStr
    title: str = ""


class WorkingHours(Strict):
    start: time = time(9)
    end: time = time(17)
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = ["mon", "tue", "wed", "thu", "fri"]


class Signatory(Strict):
    name: str
    title: str


class MarketingStage(StrEnum):
    """The SOP stages a lead or client passes that the company's email campaigns start from."""

    LEAD = "lead"  # B1.1: captured
    QUALIFIED = "qualified"  # B1.3: qualified
    DECLINED_WITH_REFERRAL = "declined_with_referral"  # B1.3: declined, referred on (nurture)
    ONBOARDED = "onboarded"  # B4.1: kicked off, handed over
    CHURNED = "churned"  # A5.4: left (win-back)


class EmailMarketing(Strict):
    """Which email-marketing system the company uses and the tag its campaigns start from at each stage."""

    system: Literal["keap", "none"] = "none"
    # Why the lead may be emailed, recorded by Keap with a new contact's opt-in ("" leaves them unmarketable)
    opt_in_reason: str = Field("", max_length=250)
    tags: dict[MarketingStage, str] = Field(default_factory=dict)
    # the lead's source as a tag of its own, e.g. "Lead source: website" ("" for none)
    lead_source_tag: str = Field("Lead source: {source}", max_length=100)

    @model_validator(mode="after")
    def _every_stage_tagged(self) -> EmailMarketing:
        if self.system != "none":
            missing = [s.value for s in MarketingStage if not (self.tags.get(s) or "").strip()]
            if missing:
                raise ValueError(f"tags: {self.system} needs the tag of every SOP stage; missing: {', '.join(missing)}")
        try:
            self.lead_source_tag.format(source="website")
        except (KeyError, IndexError, ValueError):
            raise ValueError("lead_source_tag: the only placeholder is {source}") from None
        return self

    def tag(self, stage: MarketingStage) -> str:
        return self.tags[stage]


class CompanyProfile(Strict):
    company: Letterhead
    timezone: str
    working_hours: WorkingHours = WorkingHours()
    crm_system_name: str = "HubSpot"
    asana_team: str = Field("Client Services", min_length=1)  # the Asana team that holds client projects
    team: dict[Role, list[Person]]
    approving_manager: Signatory
    email_marketing: EmailMarketing = EmailMarketing()  # the SOP's "Email Marketing: Infusionsoft" (Keap)
    # where the client's folder and documents live: Google Drive (Google Docs) or Dropbox (PDFs, shared links)
    storage: Literal["google_drive", "dropbox"] = "google_drive"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {v!r} (e.g. 'Africa/Johannesburg')") from None
        return v

    @field_validator("team")
    @classmethod
    def _every_role_staffed(cls, v: dict[Role, list[Person]]) -> dict[Role, list[Person]]:
        missing = [r.value for r in Role if not v.get(r)]
        if missing:
            raise ValueError(f"every role needs at least one person; missing: {', '.join(missing)}")
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def people(self, role: Role) -> list[Person]:
        return list(self.team[role])

    def person(self, role: Role, email: str | None = None) -> Person:
        """The roster member with ``email`` in ``role``, or the first of that role."""
        people = self.team[role]
        return next((p for p in people if p.email == email), people[0])

    def everyone(self) -> list[Person]:
        """Each team member once, in roster order."""
        seen: dict[str, Person] = {}
        for people in self.team.values():
            for p in people:
                seen.setdefault(p.email, p)
        return list(seen.values())


def load_profile(path: str | Path) -> CompanyProfile:
    """Read and validate the company profile; errors say which file and which field is wrong."""
    return load_yaml_model(path, CompanyProfile, "company profile", ProfileError)