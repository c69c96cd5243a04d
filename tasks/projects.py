"""Asana side effects: the client's project plan."""

from __future__ import annotations

from datetime import date

from integrations.asana import AsanaProjects, Project, Section, Task

from .base import step


@step()
def create_project(asana: AsanaProjects, name: str, team: str, notes: str, start_on: date, due_on: date) -> Project:
    return asana.find_or_create_project(name, asana.team_gid(team), notes=notes, start_on=start_on, due_on=due_on)


@step()
def create_section(asana: AsanaProjects, project_gid: str, name: str) -> Section:
    return asana.find_or_create_section(project_gid, name)


@step()
def create_plan_task(asana: AsanaProjects, project_gid: str, section_gid: str, name: str, assignee_email: str,
                     due_on: date, notes: str) -> Task:
    """One task of the plan, assigned by role; found by name on a re-run."""
    return asana.find_or_create_task(project_gid, name, section_gid=section_gid,
                                     assignee_gid=asana.user_by_email(assignee_email), due_on=due_on, notes=notes)
