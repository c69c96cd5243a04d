"""Side effects of the engagement after kick-off (SOP-A 4-5, SOP-B 4): one vendor call (or one read) each.

The follow-up flows (flows/followups.py) and the sweep (flows/engagement.py) compose these with the
existing tasks of tasks/{crm,email,chat,meetings,documents}.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from integrations.asana import AsanaProjects, Task
from integrations.google import Form, Forms
from integrations.hubspot import HubSpotCRM, Record

from .base import step
from .crm import COMPANY_PROPERTIES

ENGAGEMENT_READ = ("name", "domain", "createdate", "hubspot_owner_id", "qualification", *COMPANY_PROPERTIES)
INACTIVE = ("churned", "declined")


@dataclass(frozen=True)
class Progress:
    """The Asana project at a date: what is done, overdue and next (task names with due dates)."""

    done: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    upcoming: list[str] = field(default_factory=list)
    total: int = 0

    @property
    def percent_done(self) -> int:
        return round(100 * len(self.done) / self.total) if self.total else 0


@step("A2.2")
def ensure_engagement_properties(crm: HubSpotCRM, names: list[str]) -> None:
    """The company properties the engagement keeps (accounts onboarded before they existed get them now)."""
    crm.ensure_properties("companies", {name: COMPANY_PROPERTIES[name] for name in names})


@step("A4.1")
def find_company(crm: HubSpotCRM, domain: str) -> Record | None:
    """The client's company by website domain, with every engagement property."""
    return next(iter(crm.search("companies", [("domain", "EQ", domain)], list(ENGAGEMENT_READ),
                                sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}])), None)


@step("A4.1", "B4.1")
def companies_due(crm: HubSpotCRM, as_of: date) -> list[Record]:
    """Active clients whose next engagement action is due on or before ``as_of`` (a HubSpot search on
    ``next_action_date``, not a scan of every company)."""
    return list(crm.search("companies", [("next_action_date", "LTE", as_of.isoformat()),
                                         ("onboarding_status", "NOT_IN", list(INACTIVE))],
                           list(ENGAGEMENT_READ), sorts=[{"propertyName": "next_action_date", "direction": "ASCENDING"}]))


@step("B4.3")
def companies_with(crm: HubSpotCRM, prop: str) -> list[Record]:
    """Every company that has ``prop`` set (e.g. ``kickoff_date``: every client past kick-off)."""
    return list(crm.search("companies", [(prop, "HAS_PROPERTY")], list(ENGAGEMENT_READ)))


@step("A4.1")
def primary_contact(crm: HubSpotCRM, company_id: str) -> Record | None:
    """The oldest contact associated with the company (the client's contact person)."""
    ids = sorted(crm.associated_ids("companies", company_id, "contacts"), key=lambda i: int(i) if i.isdigit() else 0)
    if not ids:
        return None
    return crm.get("contacts", ids[0], ["email", "firstname", "lastname"])


@step("A4.1", "B4.1")
def project_progress(asana: AsanaProjects, project_gid: str, as_of: date) -> Progress:
    """Done, overdue (open and due before ``as_of``) and next (open, due from ``as_of``) tasks."""
    tasks = list(asana.list_tasks(project_gid))
    done, overdue, upcoming = [], [], []
    for t in sorted(tasks, key=lambda t: (t.due_on or "9999", t.name)):
        label = f"{t.name} (due {t.due_on})" if t.due_on else t.name
        if t.completed:
            done.append(t.name)
        elif t.due_on and date.fromisoformat(t.due_on) < as_of:
            overdue.append(label)
        else:
            upcoming.append(label)
    return Progress(done=done, overdue=overdue, upcoming=upcoming, total=len(tasks))


@step("A5.1")
def deliverable_tasks(asana: AsanaProjects, project_gid: str, section: str = "Deliverables") -> list[Task]:
    """The tasks in the plan's deliverables section (all tasks when the project has no such section)."""
    sections = {s.name: s.gid for s in [asana.find_or_create_section(project_gid, section)]}
    tasks = list(asana.list_tasks(project_gid))
    mine = [t for t in tasks if sections[section] in t.section_gids]
    return mine or tasks


@step("A4.2", "B4.2")
def create_form(forms: Forms, title: str, questions: list[Mapping[str, Any]]) -> Form:
    """A Google Form (survey or testimonial request); the caller stores its id so it is made once."""
    return forms.create_form(title, title, [dict(q) for q in questions])


@step("A4.3")
def shift_open_tasks(asana: AsanaProjects, project_gid: str, days: int) -> int:
    """Move the due date of every open task by ``days``; returns how many moved.

    Idempotent per adjustment because the caller records the adjustment (a HubSpot note key) and
    does not apply it twice."""
    moved = 0
    for t in asana.list_tasks(project_gid):
        if not t.completed and t.due_on:
            asana.update_task(t.gid, due_on=(date.fromisoformat(t.due_on) + timedelta(days=days)).isoformat())
            moved += 1
    return moved


@step("A4.3")
def add_deliverable(asana: AsanaProjects, project_gid: str, name: str, assignee_email: str | None,
                    due_on: date) -> Task:
    """A new deliverable task in the Deliverables section (found by name on a re-run)."""
    section = asana.find_or_create_section(project_gid, "Deliverables")
    assignee = asana.user_by_email(assignee_email) if assignee_email else None
    return asana.find_or_create_task(project_gid, name, section_gid=section.gid, assignee_gid=assignee,
                                     due_on=due_on, notes="Added after the halfway feedback (SOP-A 4.3)")


@step("A4.3")
def drop_deliverable(asana: AsanaProjects, project_gid: str, name: str) -> bool:
    """A deliverable taken out of scope: closed and renamed ``[dropped] ...``; False when not found."""
    for t in asana.list_tasks(project_gid):
        if t.name == name:
            asana.update_task(t.gid, name=f"[dropped] {name}", completed=True)
            return True
    return False


@step("A5.1")
def follow_tasks(asana: AsanaProjects, project_gid: str, email: str) -> int:
    """Make a team member follower of every task of the project (Asana notifications); returns count."""
    user = asana.user_by_email(email)
    if not user:
        return 0
    n = 0
    for t in asana.list_tasks(project_gid):
        asana.add_followers(t.gid, [user])
        n += 1
    return n
