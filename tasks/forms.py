"""Google Forms side effects: the intake form and reading its answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.google import Form, FormResponse, Forms

from .base import step


@step(done_key=lambda p: p["title"])
def create_intake_form(forms: Forms, title: str, questions: list[Mapping[str, Any]]) -> Form:
    """The intake form built from templates/intake_questions.yaml."""
    return forms.create_form(title, title, [dict(q) for q in questions])


@step()
def get_form(forms: Forms, form_id: str) -> Form:
    return forms.get_form(form_id)


@step(retries=1)
def read_responses(forms: Forms, form_id: str) -> list[FormResponse]:
    return forms.responses(form_id)
