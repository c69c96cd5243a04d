"""Client-facing texts from templates/ (Jinja2): a missing variable is an error, HTML is escaped.

The templates are files the business edits, so they render in Jinja2's sandbox: a template can
format what it is given but cannot reach Python internals (``{{ ''.__class__.__mro__ }}`` and the
like raise ``SecurityError``). Client data only ever enters as values, never as template source, so
Jinja2 syntax typed into a form is printed literally."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment


@dataclass(frozen=True)
class Rendered:
    subject: str  # from `{% set subject = ... %}` in the template; "" for documents
    body: str


class Renderer:
    def __init__(self, templates_dir: str | Path, **common: Any) -> None:
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(templates_dir)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.common = common  # company, approving_manager, ... available to every template

    def render(self, name: str, **context: Any) -> Rendered:
        template = self.env.get_template(name)
        ctx = {**self.common, **context}
        subject = str(getattr(template.make_module(ctx), "subject", ""))
        return Rendered(subject=" ".join(subject.split()), body=template.render(ctx).strip() + "\n")
