"""What staff type to start a new-client run (SOP-B 1.1 plus what later steps need)."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Annotated
from enum import StrEnum
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, WithJsonSchema, field_validator

EMAIL_PATTERN = r"^[^@\s,;:<>()\[\]]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
WEBSITE_PATTERN = r"^https?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(:[0-9]+)?(/[^\s]*)?$"
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def titled(title: str):
    """A human title for an enumeration's JSON schema (what the Prefect form shows instead of the class name)."""

    def decorate(cls):
        def schema(core_schema, handler):
            json_schema = handler.resolve_ref_schema(handler(core_schema))
            json_schema["title"] = title
            return json_schema

        cls.__get_pydantic_json_schema__ = classmethod(lambda c, cs, h: schema(cs, h))
        return cls

    return decorate


@titled("Source of the lead")
class LeadSource(StrEnum):
    REFERRAL = "referral"
    WEBSITE = "website"
    EVENT = "event"
    SOCIAL_MEDIA = "social_media"
    COLD_OUTREACH = "cold_outreach"
    PARTNER = "partner"
    OTHER = "other"


@titled("Industry")
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


@titled("Service")
class Service(StrEnum):
    BUSINESS_STRATEGY = "business_strategy"
    MARKETING = "marketing"
    OPERATIONS = "operations"
    COACHING = "coaching"
    FINANCE_ADVISORY = "finance_advisory"


@titled("Communication")
class CommunicationStyle(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    PHONE = "phone"
    VIDEO_CALL = "video_call"


class NewClient(BaseModel):
    """A new client as staff enter it; every field is checked before anything is created."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    company_name: str = Field(min_length=1, max_length=200, title="Company name", description="The client's company")
    contact_person: str = Field(min_length=1, max_length=120, title="Contact person",
                                description="Full name of the main contact")
    contact_title: str = Field(min_length=1, max_length=120, title="Contact's job title")
    phone: str = Field(pattern=r"^\+?[0-9 ()-]{6,20}$", title="Phone",
                       description="International format, e.g. +27 82 555 0144")
    # the patterns make the Prefect form itself refuse a typo (its JSON-schema check ignores "format")
    email: EmailStr = Field(title="Email", description="The contact's email address, e.g. sipho@acme.co.za",
                            json_schema_extra={"pattern": EMAIL_PATTERN})
    website: HttpUrl = Field(title="Website", description="With https://, e.g. https://www.acme.co.za "
                                                          "(its domain identifies the company)",
                             json_schema_extra={"pattern": WEBSITE_PATTERN})
    source_of_lead: LeadSource = Field(title="Source of the lead")
    budget: int = Field(ge=0, le=100_000_000, title="Budget", description="For the engagement, whole currency units")
    industry: Industry = Field(title="Industry")
    requested_services: list[Service] = Field(min_length=1, title="Requested services")
    timeline_weeks: int = Field(ge=1, le=104, title="Timeline (weeks)",
                                description="How long the client expects the project to run")
    preferred_communication: CommunicationStyle = Field(CommunicationStyle.EMAIL, title="Preferred communication")
    start_date: Annotated[date | None, WithJsonSchema({"type": "string", "format": "date", "title": "Start date",
                                                       "description": "Desired service start date (leave empty: "
                                                                      "after the kick-off)"})] = Field(
        None, json_schema_extra=lambda schema: schema.pop("default", None))  # no null for the form to fill in
    notes: str = Field("", max_length=5000, title="Notes")

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
