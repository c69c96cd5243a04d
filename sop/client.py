"""What staff type to start a new-client run (SOP-B 1.1 plus what later steps need)."""

from __future__ import annotations

import unicodedata
from datetime import date
from enum import StrEnum
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, field_validator

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class LeadSource(StrEnum):
    REFERRAL = "referral"
    WEBSITE = "website"
    EVENT = "event"
    SOCIAL_MEDIA = "social_media"
    COLD_OUTREACH = "cold_outreach"
    PARTNER = "partner"
    OTHER = "other"


class Industry(StrEnum):
    PROFESSIONAL_SERVICES = "professional_services"
    RETAIL = "retail"
    HOSPITALITY = "hospitality"
    HEALTHCARE = "healthcare"
    EDUCATION = "education"
    MANUFACTURING = "manufacturing"
    TECHNOLOGY = "technology"
    NON_PROFIT = "non_profit"
    FINANCE = "finance"
    GAMBLING = "gambling"
    OTHER = "other"


class Service(StrEnum):
    BUSINESS_STRATEGY = "business_strategy"
    MARKETING = "marketing"
    OPERATIONS = "operations"
    COACHING = "coaching"
    FINANCE_ADVISORY = "finance_advisory"


class CommunicationStyle(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    PHONE = "phone"
    VIDEO_CALL = "video_call"


class NewClient(BaseModel):
    """A new client as staff enter it; every field is checked before anything is created."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    company_name: str = Field(min_length=1, max_length=200, description="Client / company name")
    contact_person: str = Field(min_length=1, max_length=120, description="Full name of the main contact")
    contact_title: str = Field(min_length=1, max_length=120, description="Job title of the contact")
    phone: str = Field(pattern=r"^\+?[0-9 ()-]{6,20}$", description="Phone, international format")
    email: EmailStr = Field(description="Contact's email address")
    website: HttpUrl = Field(description="Company website (its domain identifies the company)")
    source_of_lead: LeadSource
    budget: int = Field(ge=0, le=100_000_000, description="Budget for the engagement, whole currency units")
    industry: Industry
    requested_services: list[Service] = Field(min_length=1)
    timeline_weeks: int = Field(ge=1, le=104, description="How long the client expects the project to run")
    preferred_communication: CommunicationStyle = CommunicationStyle.EMAIL
    start_date: date | None = Field(None, description="Desired service start date (default: after kick-off)")
    notes: str = Field("", max_length=5000)

    @field_validator("contact_person", "company_name")
    @classmethod
    def _has_letters(cls, v: str) -> str:
        if not any(ch.isalpha() for ch in v):
            raise ValueError("must contain letters")
        return v

    @field_validator("company_name", "contact_person", "contact_title", "notes")
    @classmethod
    def _no_control_characters(cls, v: str, info) -> str:
        # one-line fields end up in email subjects, file names and channel topics; direction overrides
        # can make a name read differently from what it is ("Trojan Source")
        allowed = "\n\t" if info.field_name == "notes" else ""
        bad = next((ch for ch in v if (unicodedata.category(ch) == "Cc" and ch not in allowed) or ch in BIDI_CONTROLS),
                   None)
        if bad is not None:
            raise ValueError(f"must not contain the control character U+{ord(bad):04X}")
        return v

    @property
    def domain(self) -> str:
        host = urlparse(str(self.website)).hostname or ""
        return host.removeprefix("www.").lower()

    @property
    def first_name(self) -> str:
        return self.contact_person.split()[0]

    @property
    def last_name(self) -> str:
        parts = self.contact_person.split(maxsplit=1)
        return parts[1] if len(parts) > 1 else ""
