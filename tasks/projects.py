"""Asana side effects: the client's project plan."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from integrations.asana import AsanaProjects, Project, Section, Task

from .base import step


@step()
def create_project(asana: AsanaProjects, name: str, team: str, notes: str, start_on: date, due_on: date) -> Project:
    return asana.find_or_create_project(name, asana.team_gid(team), notes=notes, start_on=start_on, due_on=due_on)


@step()
def create_sections(asana: AsanaProjects, project: Project, names: Iterable[str]) -> dict[str, Section]:
    """The project's sections called ``names``, in order: those a re-run (or a retry) finds, the rest
    created."""
    have = {s.name: s for s in asana.sections(project.gid)}
    return {name: have.get(name) or asana.create_section(project.gid, name) for name in names}


@step()
def task_names(asana: AsanaProjects, project: Project) -> set[str]:
    """Names of the tasks a project already holds (a re-run's, or a retried step's)."""
    return {t.name for t in asana.list_tasks(project.gid)}


@step()
def user_gids(asana: AsanaProjects, emails: Iterable[str]) -> dict[str, str | None]:
    """The Asana user of each email (None for someone not in Asana), one lookup per person."""
    return {email: asana.user_by_email(email) for email in dict.fromkeys(emails)}


@step(done_key=lambda p: f"{p['project_gid']}:{p['name']}")
def create_plan_task(asana: AsanaProjects, project_gid: str, section_gid: str, name: str, assignee_gid: str | None,
                     due_on: date, notes: str) -> Task:
    """One task of the plan, assigned by role (the caller skips tasks the project already holds)."""
    return asana.create_task(project_gid, name, section_gid=section_gid, assignee_gid=assignee_gid, due_on=due_on,
                             notes=notes)


@step()
def archive_project(asana: AsanaProjects, project_gid: str) -> Project:
    """Archive the client's project (kept in Asana, out of every list)."""
    return asana.update_project(project_gid, archived=True)
