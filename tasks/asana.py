"""Asana side effects: the client's project plan, its progress and its adjustments."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from integrations.asana import AsanaProjects, Project, Section, Task
from tasks.base import in_parallel, side_effect


@side_effect()
def create_project(asana: AsanaProjects, name: str, team: str, notes: str, start_on: date, due_on: date) -> Project:
    return asana.find_or_create_project(name, asana.team_gid(team), notes=notes, start_on=start_on, due_on=due_on)


@side_effect()
def create_sections(asana: AsanaProjects, project: Project, names: Iterable[str]) -> dict[str, Section]:
    """The project's sections called ``names``, in order: those a re-run (or a retry) finds, the rest
    created."""
    have = {s.name: s for s in asana.sections(project.gid)}
    return {name: have.get(name) or asana.create_section(project.gid, name) for name in names}


@dataclass(frozen=True)
class PlanTask:
    """One task of the client's plan, placed in its section and assigned."""

    section_gid: str
    name: str
    assignee_gid: str | None
    due_on: date
    notes: str = ""


@side_effect(done_key=lambda p: p["project_gid"])
def create_plan_tasks(asana: AsanaProjects, project_gid: str, tasks: list[PlanTask]) -> list[Task]:
    """The plan's tasks the project does not hold yet (a re-run's or a retried step's are found by name),
    created at the same time; returns those it created."""
    have = {t.name for t in asana.list_tasks(project_gid)}
    return in_parallel([lambda t=t: asana.create_task(project_gid, t.name, section_gid=t.section_gid,
                                                      assignee_gid=t.assignee_gid, due_on=t.due_on, notes=t.notes)
                        for t in tasks if t.name not in have])


@side_effect()
def archive_project(asana: AsanaProjects, project_gid: str) -> Project:
    """Archive the client's project (kept in Asana, out of every list)."""
    return asana.update_project(project_gid, archived=True)


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


@side_effect("A4.3")
def shift_open_tasks(asana: AsanaProjects, project_gid: str, days: int, key: str) -> int:
    """Move the due date of every open task by ``days``; returns how many moved.

    Idempotent per ``key`` (the adjustment): each task's new date and a marker naming the key are one
    update, so a retry, or the same adjustment again, skips the tasks already moved."""
    marker = f"[moved {days:+d} days: {key}]"
    moved = 0
    for t in asana.list_tasks(project_gid):
        if not t.completed and t.due_on and marker not in (t.notes or ""):
            asana.update_task(t.gid, due_on=(date.fromisoformat(t.due_on) + timedelta(days=days)).isoformat(),
                              notes=f"{t.notes}\n{marker}".strip())
            moved += 1
    return moved


@side_effect("A4.3")
def add_deliverable(asana: AsanaProjects, project_gid: str, name: str, assignee_email: str | None,
                    due_on: date) -> Task:
    """A new deliverable task in the Deliverables section (found by name on a re-run)."""
    section = asana.find_or_create_section(project_gid, "Deliverables")
    assignee = asana.user_by_email(assignee_email) if assignee_email else None
    return asana.find_or_create_task(project_gid, name, section_gid=section.gid, assignee_gid=assignee,
                                     due_on=due_on, notes="Added after the halfway feedback (SOP-A 4.3)")


@side_effect("A4.3")
def drop_deliverable(asana: AsanaProjects, project_gid: str, name: str) -> bool:
    """A deliverable taken out of scope: closed and renamed ``[dropped] ...``; False when not found."""
    for t in asana.list_tasks(project_gid):
        if t.name == name:
            asana.update_task(t.gid, name=f"[dropped] {name}", completed=True)
            return True
    return False


@side_effect("A5.1")
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


# --- reads: plain functions, not task runs (they change nothing: nothing to remember or retry as a step)


def user_gids(asana: AsanaProjects, emails: Iterable[str]) -> dict[str, str | None]:
    """The Asana user of each email (None for someone not in Asana), one lookup per person."""
    return {email: asana.user_by_email(email) for email in dict.fromkeys(emails)}


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


def deliverable_tasks(asana: AsanaProjects, project_gid: str, section: str = "Deliverables") -> list[Task]:
    """The tasks in the plan's deliverables section (all tasks when the project has no such section)."""
    sections = {s.name: s.gid for s in [asana.find_or_create_section(project_gid, section)]}
    tasks = list(asana.list_tasks(project_gid))
    mine = [t for t in tasks if sections[section] in t.section_gids]
    return mine or tasks
