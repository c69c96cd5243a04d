"""The project plan of templates/project_plan.yaml, expanded for one client (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sop.profile import Role
from sop.rules import ServicePackage


@dataclass(frozen=True)
class PlannedTask:
    section: str
    name: str
    role: Role
    due_on: date
    notes: str = ""


def expand_plan(template: dict[str, Any], package: ServicePackage, start: date,
                deliverables: list[str] | None = None) -> list[PlannedTask]:
    """Every task with its due date (start + ``due_day``, or a fraction of the package's length) and
    the role that does it; a ``deliverables`` section gets one task per deliverable (the negotiated
    ones, else the package's), evenly spread."""
    total_days = package.weeks * 7
    deliverables = deliverables or list(package.deliverables)
    tasks: list[PlannedTask] = []
    for section in template["sections"]:
        name = section["name"]
        if section.get("deliverables"):
            n = len(deliverables)
            for i, deliverable in enumerate(deliverables, start=1):
                due = start + timedelta(days=round(total_days * i / (n + 1)))
                tasks.append(PlannedTask(name, deliverable, Role(section["role"]), due, f"Deliverable {i} of {n}"))
            continue
        for t in section["tasks"]:
            offset = t["due_day"] if "due_day" in t else round(total_days * float(t["due_fraction"]))
            tasks.append(PlannedTask(name, t["name"], Role(t["role"]), start + timedelta(days=offset), t.get("notes", "")))
    return tasks
