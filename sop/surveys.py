"""The forms clients fill in (config/surveys.yaml): the intake form, the onboarding survey after the
kick-off, the halfway survey, the answer to a retention offer, the testimonial request. Each question's ``key`` names where its answer is kept."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sop.base import Strict
from sop.config_files import load_yaml_model


class SurveysError(ValueError):
    """The surveys file is missing or invalid; the message names the file and the field."""


class Question(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1, max_length=300)
    kind: Literal["text", "paragraph", "choice", "scale"] = "text"
    required: bool = False
    options: list[str | int] = []

    @model_validator(mode="after")
    def _options_fit_the_kind(self):
        if self.kind == "choice" and not self.options:
            raise ValueError(f"{self.key}: a choice question needs options")
        if self.kind == "scale" and len(self.options) not in (0, 2):
            raise ValueError(f"{self.key}: a scale takes [low, high]")
        return self


class Survey(Strict):
    title: str = Field(description="the form's title; {company} and {client} are filled in")
    questions: list[Question] = Field(min_length=1)

    @field_validator("title")
    @classmethod
    def _known_placeholders(cls, v: str) -> str:
        names = {name for _, name, _, _ in string.Formatter().parse(v) if name is not None}
        if names - {"company", "client"}:
            raise ValueError(f"unknown placeholder(s) {sorted(names - {'company', 'client'})}; use {{company}}, {{client}}")
        return v

    def form_title(self, company: str, client: str) -> str:
        return self.title.format(company=company, client=client)

    def question_specs(self) -> list[dict]:
        """The questions as the forms integration takes them."""
        return [q.model_dump() for q in self.questions]


class Surveys(Strict):
    intake: Survey  # SOP-A 2.1 / SOP-B 1.2: keys are the HubSpot properties the answers go to
    onboarding: Survey  # SOP-B KPI, CSAT for onboarding: must ask `satisfaction` on a 1-5 scale
    halfway_feedback: Survey  # SOP-A 4.2 / SOP-B 4.2: must ask `satisfaction` on a 1-5 scale (the project's CSAT)
    retention_offer: Survey  # SOP-A 5.4: must ask `answer`, a choice whose first option accepts the offer
    testimonial: Survey  # SOP-A 5.2

    @model_validator(mode="after")
    def _csat_question(self):
        for name in ("onboarding", "halfway_feedback"):
            q = next((q for q in getattr(self, name).questions if q.key == "satisfaction"), None)
            if q is None or q.kind != "scale":
                raise ValueError(f"{name} needs a `satisfaction` scale question (the CSAT score)")
        answer = next((q for q in self.retention_offer.questions if q.key == "answer"), None)
        if answer is None or answer.kind != "choice" or len(answer.options) != 2:
            raise ValueError("retention_offer needs an `answer` choice of two options (the first accepts)")
        return self

    def accepts(self, answer: str) -> bool:
        """A retention offer's answer takes it up (the `answer` question's first option)."""
        question = next(q for q in self.retention_offer.questions if q.key == "answer")
        return answer == str(question.options[0])


def load_surveys(path: str | Path) -> Surveys:
    """Read and validate the surveys; errors say which file and which field is wrong."""
    return load_yaml_model(path, Surveys, "surveys", SurveysError)
