"""Asana for onboarding: the client's project, its sections and tasks, on the official SDK (asana 5.x).

Only the operations the SOP needs. Every call goes through ``integrations.retry.call``: 429s wait the
``Retry-After`` Asana sends, 5xx are retried only for idempotent calls (reads, PUTs, find-or-create).
The SDK's own urllib3 retry is switched off (see ``connect``) so there is one retry policy, not two.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import asana
import urllib3
from asana.rest import ApiException
from urllib3.util.retry import Retry

from . import budget, retry
from .errors import Conflict, IntegrationError, InvalidInput, NotFound, RateLimited, Transient

VENDOR = "asana"
TIMEOUT = 30.0  # seconds per HTTP request
JOB_TIMEOUT = 120.0  # how long to wait for a template instantiation job
TASK_FIELDS = ("name,completed,due_on,due_at,assignee,notes,memberships.section.name,"
               "memberships.project.name,external,permalink_url")
PROJECT_FIELDS = "name,team,workspace,notes,start_on,due_on,archived,permalink_url"
PROJECT_UPDATABLE = frozenset({"name", "notes", "html_notes", "start_on", "due_on", "archived", "color",
                               "owner", "privacy_setting", "default_view"})
TASK_UPDATABLE = frozenset({"due_on", "completed", "name", "notes", "assignee"})

T = TypeVar("T")


# -- what callers get back ----------------------------------------------------------------------

@dataclass(frozen=True)
class User:
    gid: str
    name: str
    email: str | None


@dataclass(frozen=True)
class Project:
    gid: str
    name: str
    team_gid: str | None
    notes: str
    start_on: str | None
    due_on: str | None
    archived: bool
    permalink_url: str | None


@dataclass(frozen=True)
class Section:
    gid: str
    name: str
    project_gid: str | None


@dataclass(frozen=True)
class Task:
    gid: str
    name: str
    completed: bool
    due_on: str | None
    assignee_gid: str | None
    notes: str
    section_gids: tuple[str, ...]
    external_gid: str | None
    permalink_url: str | None


@dataclass(frozen=True)
class Comment:
    gid: str
    text: str
    author_gid: str | None
    created_at: str | None


def _user(d: dict[str, Any]) -> User:
    return User(gid=d["gid"], name=d.get("name", ""), email=d.get("email"))


def _project(d: dict[str, Any]) -> Project:
    return Project(gid=d["gid"], name=d.get("name", ""), team_gid=(d.get("team") or {}).get("gid"),
                   notes=d.get("notes") or "", start_on=d.get("start_on"), due_on=d.get("due_on"),
                   archived=bool(d.get("archived", False)), permalink_url=d.get("permalink_url"))


def _section(d: dict[str, Any]) -> Section:
    return Section(gid=d["gid"], name=d.get("name", ""), project_gid=(d.get("project") or {}).get("gid"))


def _task(d: dict[str, Any]) -> Task:
    sections = tuple(m["section"]["gid"] for m in d.get("memberships") or [] if m.get("section"))
    return Task(gid=d["gid"], name=d.get("name", ""), completed=bool(d.get("completed", False)),
                due_on=d.get("due_on"), assignee_gid=(d.get("assignee") or {}).get("gid"),
                notes=d.get("notes") or "", section_gids=sections,
                external_gid=(d.get("external") or {}).get("gid"), permalink_url=d.get("permalink_url"))


def _comment(d: dict[str, Any]) -> Comment:
    return Comment(gid=d["gid"], text=d.get("text", ""), author_gid=(d.get("created_by") or {}).get("gid"),
                   created_at=d.get("created_at"))


# -- errors -------------------------------------------------------------------------------------

def _translate(fn: Callable[[], T]) -> T:
    """Run one SDK call; turn its exceptions into ``integrations.errors``."""
    try:
        return fn()
    except ApiException as exc:
        raise _error(exc) from exc
    except urllib3.exceptions.HTTPError as exc:  # timeouts, refused or dropped connections
        raise Transient(VENDOR, f"connection failed: {type(exc).__name__}") from exc


def _error(exc: ApiException) -> IntegrationError:
    status = exc.status or 0
    message = _message(exc.body) or exc.reason or f"HTTP {status}"
    if status == 404:
        return NotFound(VENDOR, message, status=404)
    if status == 429:
        after = (exc.headers or {}).get("Retry-After")
        return RateLimited(VENDOR, message, retry_after=float(after) if after else None)
    if status == 409:
        return Conflict(VENDOR, message)
    if status == 0 or status >= 500:
        return Transient(VENDOR, message, status=status or None)
    if status in (401, 403):  # a bad or under-scoped token: neither the input nor worth retrying
        return IntegrationError(VENDOR, message, status=status)
    return InvalidInput(VENDOR, message, status=status)


def _message(body: Any) -> str | None:
    """``errors[0].message`` of Asana's ``{"errors": [...]}`` body."""
    try:
        errors = json.loads(body)["errors"]
        return "; ".join(e["message"] for e in errors if e.get("message")) or None
    except (TypeError, ValueError, KeyError):
        return None


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) for k, v in fields.items()}


# -- the client ---------------------------------------------------------------------------------

ACCOUNT_TTL = 600.0  # seconds a worker trusts what it looked up about the account (people, teams)


@dataclass
class Account:
    """What does not change between runs on one account: its workspace, team and user gids. Shared
    by the runs of a worker (``connect``), for ``ACCOUNT_TTL`` seconds."""

    workspace_gid: str | None = None
    team_gids: dict[str, str] = field(default_factory=dict)
    user_gids: dict[str, str | None] = field(default_factory=dict)
    expires: float = field(default_factory=lambda: time.monotonic() + ACCOUNT_TTL)


_ACCOUNTS: dict[str, Account] = {}


def _account(host: str, token: str) -> Account:
    key = f"{host}|{hashlib.sha256(token.encode()).hexdigest()[:16]}"  # never the token itself
    known = _ACCOUNTS.get(key)
    if known is None or known.expires < time.monotonic():
        known = _ACCOUNTS[key] = Account()
    return known


def connect(token: str, base_url: str | None = None, workspace_gid: str | None = None, *,
            page_size: int = 100, poll_interval: float = 0.5,
            sleep: Callable[[float], None] = time.sleep) -> AsanaProjects:
    """An ``AsanaProjects`` on a new SDK client: the sandbox at ``base_url`` or live Asana when None.

    Without ``workspace_gid`` the first workspace the token sees is used (looked up on first need)."""
    cfg = asana.Configuration()
    if base_url:
        cfg.host = base_url.rstrip("/")
    cfg.access_token = token
    # The SDK's urllib3 Retry(total=5, status_forcelist=[429, 5xx]) re-sends GETs itself and ends in
    # MaxRetryError. Off: no retries and no status raising, so every 429/5xx reaches retry.call once.
    cfg.retry_strategy = Retry(total=0, redirect=0, status_forcelist=(), raise_on_status=False)
    client = asana.ApiClient(cfg)
    # every HTTP request (one operation may page or poll) first takes a slot of the worker's budget
    request = client.rest_client.request

    def budgeted(*args: Any, **kwargs: Any) -> Any:
        with budget.slot("asana", budget.ASANA):
            return request(*args, **kwargs)

    client.rest_client.request = budgeted
    return AsanaProjects(client, workspace_gid=workspace_gid, page_size=page_size, poll_interval=poll_interval,
                         sleep=sleep, account=_account(cfg.host, token))


class AsanaProjects:
    """The client's onboarding project in Asana: project, sections, tasks, followers, comments."""

    def __init__(self, api_client: asana.ApiClient, *, workspace_gid: str | None = None,
                 page_size: int = 100, poll_interval: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep, account: Account | None = None) -> None:
        self._client = api_client
        self._account = account or Account()
        if workspace_gid:
            self._account.workspace_gid = workspace_gid
        self.page_size = page_size
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._users = asana.UsersApi(api_client)
        self._workspaces = asana.WorkspacesApi(api_client)
        self._teams = asana.TeamsApi(api_client)
        self._projects = asana.ProjectsApi(api_client)
        self._templates = asana.ProjectTemplatesApi(api_client)
        self._jobs = asana.JobsApi(api_client)
        self._sections = asana.SectionsApi(api_client)
        self._tasks = asana.TasksApi(api_client)
        self._stories = asana.StoriesApi(api_client)
        self._in_doubt: set[tuple[str, str]] = set()  # (project, task name) creates whose answer was lost

    # -- plumbing ------------------------------------------------------------------------------

    def _do(self, fn: Callable[[], T], *, idempotent: bool) -> T:
        """One operation with the shared retry policy (``fn`` may make several SDK calls)."""
        return retry.call(lambda: _translate(fn), idempotent=idempotent, sleep=self._sleep)

    def _each(self, fetch: Callable[[dict[str, Any]], dict[str, Any]], opts: dict[str, Any], *,
              retry_pages: bool) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, page by page (``limit``/``offset`` until ``next_page`` is null).

        ``retry_pages`` retries each page on its own; inside a composite operation the caller retries."""
        opts = {**opts, "limit": self.page_size}
        while True:
            page_opts = dict(opts)  # the SDK adds to the dict it is given
            page = (self._do(lambda: fetch(page_opts), idempotent=True) if retry_pages
                    else _translate(lambda: fetch(page_opts)))
            yield from page.get("data") or []
            next_page = page.get("next_page")
            if not next_page:
                return
            opts["offset"] = next_page["offset"]

    @property
    def workspace_gid(self) -> str:
        """The workspace everything lives in (the token's first one unless given to ``connect``)."""
        if self._account.workspace_gid is None:
            first = next(self._each(lambda o: self._workspaces.get_workspaces(
                o, full_payload=True, _request_timeout=TIMEOUT), {}, retry_pages=True), None)
            if first is None:
                raise NotFound(VENDOR, "the token sees no workspace")
            self._account.workspace_gid = first["gid"]
        return self._account.workspace_gid

    # -- people and teams ----------------------------------------------------------------------

    def me(self) -> User:
        """The user the token belongs to."""
        return _user(self._do(lambda: self._users.get_user("me", {}, _request_timeout=TIMEOUT), idempotent=True))

    def user_by_email(self, email: str) -> str | None:
        """The gid of the user with ``email``, or None when Asana does not know it (asked once per account
        and worker, see ``Account``)."""
        key, known = email.lower(), self._account.user_gids
        if key not in known:
            try:
                found = self._do(lambda: self._users.get_user(email, {}, _request_timeout=TIMEOUT), idempotent=True)
                known[key] = found["gid"]
            except NotFound:
                known[key] = None
        return known[key]

    def team_gid(self, name: str) -> str:
        """The gid of the team called ``name`` in the workspace; NotFound when there is none."""
        known = self._account.team_gids
        if name not in known:
            teams = self._each(lambda o: self._teams.get_teams_for_workspace(
                self.workspace_gid, o, full_payload=True, _request_timeout=TIMEOUT), {}, retry_pages=True)
            found = next((t["gid"] for t in teams if t.get("name") == name), None)
            if found is None:
                raise NotFound(VENDOR, f"no team named {name!r}")
            known[name] = found
        return known[name]

    # -- projects ------------------------------------------------------------------------------

    def _find_project(self, name: str, team_gid: str | None) -> Project | None:
        opts = {"archived": "false", "opt_fields": PROJECT_FIELDS}
        if team_gid:
            opts["team"] = team_gid
        else:
            opts["workspace"] = self.workspace_gid
        pages = self._each(lambda o: self._projects.get_projects(o, full_payload=True, _request_timeout=TIMEOUT),
                           opts, retry_pages=False)
        return next((_project(p) for p in pages if p.get("name") == name), None)

    def find_project(self, name: str, team_gid: str | None = None) -> Project | None:
        """The unarchived project called ``name`` (in ``team_gid`` when given), or None."""
        return self._do(lambda: self._find_project(name, team_gid), idempotent=True)

    def find_or_create_project(self, name: str, team_gid: str, notes: str = "",
                               start_on: str | date | None = None, due_on: str | date | None = None) -> Project:
        """The team's project called ``name``; created with ``notes`` and dates when missing."""

        def run() -> Project:
            found = self._find_project(name, team_gid)
            if found is not None:
                return found
            data = _jsonable({"name": name, "team": team_gid, "notes": notes,
                              "start_on": start_on, "due_on": due_on})
            body = {"data": {k: v for k, v in data.items() if v is not None}}
            return _project(self._projects.create_project(body, {}, _request_timeout=TIMEOUT))

        return self._do(run, idempotent=True)  # a retry finds what a failed-looking create made

    def _template_gid(self, name_or_gid: str, team_gid: str) -> str:
        if name_or_gid.isdigit():
            return name_or_gid
        for opts in ({"team": team_gid}, {"workspace": self.workspace_gid}):
            templates = self._each(lambda o: self._templates.get_project_templates(
                o, full_payload=True, _request_timeout=TIMEOUT), opts, retry_pages=False)
            found = next((t["gid"] for t in templates if t.get("name") == name_or_gid), None)
            if found:
                return found
        raise NotFound(VENDOR, f"no project template named {name_or_gid!r}")

    def instantiate_template(self, template_name_or_gid: str, name: str, team_gid: str,
                             start_date: str | date) -> Project:
        """A project ``name`` made from a template, task due dates counted from ``start_date``.

        Waits for Asana's job to finish. A project of that name already in the team is returned
        instead, so a re-run does not make a second one."""

        def run() -> Project:
            found = self._find_project(name, team_gid)
            if found is not None:
                return found
            template = self._template_gid(template_name_or_gid, team_gid)
            body = {"data": {"name": name, "team": team_gid, "is_strict": False,
                             # date variable "1" is the project start date [spec DateVariableRequest]
                             "requested_dates": [{"gid": "1", "value": _iso(start_date)}]}}
            return self._templates.instantiate_project(template, {"body": body}, _request_timeout=TIMEOUT)

        existing_or_job = self._do(run, idempotent=True)  # a retry finds what a failed-looking call made
        if isinstance(existing_or_job, Project):
            return existing_or_job
        project_gid = self._wait_for_job(existing_or_job)
        return _project(self._do(lambda: self._projects.get_project(
            project_gid, {"opt_fields": PROJECT_FIELDS}, _request_timeout=TIMEOUT), idempotent=True))

    def _wait_for_job(self, job: dict[str, Any]) -> str:
        """Polls ``GET /jobs/{gid}`` until it succeeds; returns the new project's gid."""
        deadline = time.monotonic() + JOB_TIMEOUT
        while job.get("status") not in ("succeeded", "failed"):
            if time.monotonic() > deadline:
                raise Transient(VENDOR, f"job {job['gid']} still {job.get('status')} after {JOB_TIMEOUT:.0f}s")
            self._sleep(self.poll_interval)
            job = self._do(lambda: self._jobs.get_job(job["gid"], {}, _request_timeout=TIMEOUT), idempotent=True)
        if job["status"] == "failed" or not job.get("new_project"):
            raise IntegrationError(VENDOR, f"job {job['gid']} failed")
        return job["new_project"]["gid"]

    def update_project(self, gid: str, **fields: Any) -> Project:
        """Changes the given fields (name, notes, start_on, due_on, archived, owner, ...)."""
        unknown = set(fields) - PROJECT_UPDATABLE
        if unknown:
            raise InvalidInput(VENDOR, f"cannot update project fields {sorted(unknown)}")
        body = {"data": _jsonable(fields)}
        return _project(self._do(lambda: self._projects.update_project(
            body, gid, {"opt_fields": PROJECT_FIELDS}, _request_timeout=TIMEOUT), idempotent=True))

    # -- sections ------------------------------------------------------------------------------

    def sections(self, project_gid: str) -> list[Section]:
        """The project's sections in order (all pages)."""
        pages = self._each(lambda o: self._sections.get_sections_for_project(
            project_gid, o, full_payload=True, _request_timeout=TIMEOUT), {}, retry_pages=True)
        return [Section(gid=s["gid"], name=s["name"], project_gid=project_gid) for s in pages]

    def create_section(self, project_gid: str, name: str) -> Section:
        """A new section at the end of the project (a plain create: not retried on 5xx)."""
        body = {"data": {"name": name}}
        return _section(self._do(lambda: self._sections.create_section_for_project(
            project_gid, {"body": body}, _request_timeout=TIMEOUT), idempotent=False))

    def find_or_create_section(self, project_gid: str, name: str) -> Section:
        """The project's section called ``name``; created at the end when missing."""

        def run() -> Section:
            sections = self._each(lambda o: self._sections.get_sections_for_project(
                project_gid, o, full_payload=True, _request_timeout=TIMEOUT), {}, retry_pages=False)
            found = next((s for s in sections if s.get("name") == name), None)
            if found is not None:
                return Section(gid=found["gid"], name=found["name"], project_gid=project_gid)
            body = {"data": {"name": name}}
            return _section(self._sections.create_section_for_project(
                project_gid, {"body": body}, _request_timeout=TIMEOUT))

        return self._do(run, idempotent=True)

    def add_task_to_section(self, section_gid: str, task_gid: str) -> None:
        """Moves the task into the section (out of the project's other sections), at its top."""
        body = {"data": {"task": task_gid}}
        self._do(lambda: self._sections.add_task_for_section(
            section_gid, {"body": body}, _request_timeout=TIMEOUT), idempotent=True)  # a move: same result twice

    # -- tasks ---------------------------------------------------------------------------------

    def _project_tasks(self, project_gid: str, *, retry_pages: bool) -> Iterator[Task]:
        pages = self._each(lambda o: self._tasks.get_tasks_for_project(
            project_gid, o, full_payload=True, _request_timeout=TIMEOUT),
            {"opt_fields": TASK_FIELDS}, retry_pages=retry_pages)
        return (_task(t) for t in pages)

    def list_tasks(self, project_gid: str) -> Iterator[Task]:
        """Every task of the project, over all pages (each page retried on its own)."""
        return self._project_tasks(project_gid, retry_pages=True)

    def get_task(self, gid: str) -> Task:
        """One task by gid or ``external:<external gid>``."""
        return _task(self._do(lambda: self._tasks.get_task(
            gid, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT), idempotent=True))

    def find_or_create_task(self, project_gid: str, name: str, *, section_gid: str | None = None,
                            assignee_gid: str | None = None, due_on: str | date | None = None,
                            notes: str | None = None, external_gid: str | None = None) -> Task:
        """The task with ``external_gid`` (when given) or called ``name`` in the project; else a new one.

        A new task goes into ``section_gid`` (or the project's first section)."""

        def find() -> Task | None:
            if external_gid:
                try:
                    return _task(self._tasks.get_task(f"external:{external_gid}", {"opt_fields": TASK_FIELDS},
                                                      _request_timeout=TIMEOUT))
                except ApiException as exc:
                    if exc.status != 404:
                        raise
                    return None
            return next((t for t in self._project_tasks(project_gid, retry_pages=False) if t.name == name), None)

        def run() -> Task:
            found = find()
            if found is not None:
                return found
            membership = {"project": project_gid, **({"section": section_gid} if section_gid else {})}
            data = _jsonable({"name": name, "memberships": [membership], "assignee": assignee_gid,
                              "due_on": due_on, "notes": notes,
                              "external": {"gid": external_gid} if external_gid else None})
            body = {"data": {k: v for k, v in data.items() if v is not None}}
            return _task(self._tasks.create_task(body, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT))

        return self._do(run, idempotent=True)

    def create_task(self, project_gid: str, name: str, *, section_gid: str | None = None,
                    assignee_gid: str | None = None, due_on: str | date | None = None,
                    notes: str | None = None) -> Task:
        """A new task in the project (in ``section_gid``), for a caller that knows it is not there yet.

        A create whose answer is lost (5xx, timeout) may have happened: every later try of the same
        task, this call's retries and the caller's, looks for it by name before creating again."""
        key = (project_gid, name)

        def run() -> Task:
            if key in self._in_doubt:
                found = next((t for t in self._project_tasks(project_gid, retry_pages=False) if t.name == name), None)
                if found is not None:
                    return found
            membership = {"project": project_gid, **({"section": section_gid} if section_gid else {})}
            data = _jsonable({"name": name, "memberships": [membership], "assignee": assignee_gid,
                              "due_on": due_on, "notes": notes})
            body = {"data": {k: v for k, v in data.items() if v is not None}}
            try:
                task = _task(_translate(lambda: self._tasks.create_task(
                    body, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT)))
            except Transient:
                self._in_doubt.add(key)
                raise
            self._in_doubt.discard(key)
            return task

        return self._do(run, idempotent=True)

    def update_task(self, gid: str, **fields: Any) -> Task:
        """Changes due_on, completed, name, notes or assignee (a user gid, or None to unassign)."""
        unknown = set(fields) - TASK_UPDATABLE
        if unknown:
            raise InvalidInput(VENDOR, f"cannot update task fields {sorted(unknown)}")
        body = {"data": _jsonable(fields)}
        return _task(self._do(lambda: self._tasks.update_task(
            body, gid, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT), idempotent=True))

    def add_followers(self, task_gid: str, user_gids: Iterable[str]) -> Task:
        """Adds followers (who get Asana's notifications); ones already following stay as they are."""
        body = {"data": {"followers": list(user_gids)}}
        return _task(self._do(lambda: self._tasks.add_followers_for_task(
            body, task_gid, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT), idempotent=True))

    def add_comment(self, task_gid: str, text: str) -> Comment:
        """Posts a comment on the task (not retried on 5xx: it could post twice)."""
        body = {"data": {"text": text}}
        return _comment(self._do(lambda: self._stories.create_story_for_task(
            body, task_gid, {}, _request_timeout=TIMEOUT), idempotent=False))
