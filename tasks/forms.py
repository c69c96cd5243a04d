"""Google Forms side effects: the intake form, the surveys, and reading their answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.google import Form, FormResponse, Forms
from tasks.base import side_effect


@side_effect(done_key=lambda p: p["title"])
def create_intake_form(forms: Forms, title: str, questions: list[Mapping[str, Any]]) -> Form:
    """The intake form of config/surveys.yaml, made once per title."""
    return forms.create_form(title, title, [dict(q) for q in questions])


@side_effect("A4.2", "B4.2")
def create_form(forms: Forms, title: str, questions: list[Mapping[str, Any]]) -> Form:
    """A Google Form (survey or testimonial request); the caller stores its id so it is made once."""
    return forms.create_form(title, title, [dict(q) for q in questions])


# --- reads: plain functions, not task runs (they change nothing: nothing to remember or retry as a step)


def get_form(forms: Forms, form_id: str) -> Form:
    return forms.get_form(form_id)


def read_responses(forms: Forms, form_id: str) -> list[FormResponse]:
    return forms.responses(form_id)
