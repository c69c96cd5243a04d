"""Asana for onboarding: the client's project, its sections and tasks, on the official SDK (asana 5.4).

``connect(token, base_url=None, ...)`` builds the SDK client, pointed at the sandbox when ``base_url``
is given and at app.asana.com otherwise, and returns an ``AsanaProjects``: only the operations the
SOP needs, answering frozen dataclasses (``User``, ``Project``, ``Section``, ``Task``, ``Comment``,
each built by its ``from_api``). What a worker looked up about the account (workspace, teams,
people) is shared by its runs (``Account``).

Budgets: every call first takes a slot of the worker's budget (``budget.asana``: 150 requests / min).

Errors: ``translate`` maps the SDK's ``ApiException`` (by status, with Asana's ``errors[].message``)
and urllib3's transport errors to ``integrations.errors``.

Retries: ``integrations.retry`` alone (the SDK's urllib3 retry is off, see ``connect``): 429s wait
the ``Retry-After`` Asana sends; 5xx are retried only for idempotent calls (reads, PUTs). A
find-or-create is retried as a whole, its calls once each.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import asana
import urllib3
from asana.rest import ApiException
from urllib3.util.retry import Retry

from . import budget, calls, retry
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


# --- results: frozen dataclasses, each built from the SDK's answer (a dict) by its from_api


@dataclass(frozen=True)
class User:
    gid: str
    name: str
    email: str | None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> User:
        return cls(gid=raw["gid"], name=raw.get("name", ""), email=raw.get("email"))


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

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Project:
        return cls(gid=raw["gid"], name=raw.get("name", ""), team_gid=(raw.get("team") or {}).get("gid"),
                   notes=raw.get("notes") or "", start_on=raw.get("start_on"), due_on=raw.get("due_on"),
                   archived=bool(raw.get("archived", False)), permalink_url=raw.get("permalink_url"))


@dataclass(frozen=True)
class Section:
    gid: str
    name: str
    project_gid: str | None

    @classmethod
    def from_api(cls, raw: dict[str, Any], *, project_gid: str | None = None) -> Section:
        """``project_gid`` for a section listed under its project (the listing does not repeat it)."""
        return cls(gid=raw["gid"], name=raw.get("name", ""),
                   project_gid=(raw.get("project") or {}).get("gid") or project_gid)


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

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Task:
        sections = tuple(m["section"]["gid"] for m in raw.get("memberships") or [] if m.get("section"))
        return cls(gid=raw["gid"], name=raw.get("name", ""), completed=bool(raw.get("completed", False)),
                   due_on=raw.get("due_on"), assignee_gid=(raw.get("assignee") or {}).get("gid"),
                   notes=raw.get("notes") or "", section_gids=sections,
                   external_gid=(raw.get("external") or {}).get("gid"), permalink_url=raw.get("permalink_url"))


@dataclass(frozen=True)
class Comment:
    gid: str
    text: str
    author_gid: str | None
    created_at: str | None

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Comment:
        return cls(gid=raw["gid"], text=raw.get("text", ""), author_gid=(raw.get("created_by") or {}).get("gid"),
                   created_at=raw.get("created_at"))


# --- connect

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
    atexit.register(_close_pool, weakref.ref(client))
    return AsanaProjects(client, workspace_gid=workspace_gid, page_size=page_size, poll_interval=poll_interval,
                         sleep=sleep, account=_account(cfg.host, token))


def _close_pool(client_ref: weakref.ref) -> None:
    """Close the SDK's thread pool before the interpreter tears down: its ``ApiClient.__del__`` closing
    it later prints "OSError: Bad file descriptor" at the exit of every command (asana 5.4.0)."""
    client = client_ref()
    pool = client.__dict__.pop("pool", None) if client is not None else None
    if pool is not None:
        pool.close()
        pool.join()


# --- errors


def translate(exc: Exception) -> Exception:
    """``exc`` as the ``integrations.errors`` exception it means (by status, with Asana's message;
    urllib3's transport errors are Transient); any other exception is returned unchanged."""
    if isinstance(exc, urllib3.exceptions.HTTPError):  # timeouts, refused or dropped connections
        return Transient(VENDOR, f"connection failed: {type(exc).__name__}")
    if not isinstance(exc, ApiException):
        return exc
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


# --- the client


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

    def _call(self, fn: Callable[[], T], *, idempotent: bool, attempts: int | None = None) -> T:
        """One SDK call (one HTTP request): a slot of the worker's budget, the call, its errors through
        ``translate``, retried per ``retry`` (``attempts=1`` inside an operation retried as a whole)."""
        return calls.call(fn, idempotent=idempotent, slot=budget.asana, translate=translate, attempts=attempts,
                          sleep=self._sleep)

    def _whole(self, operation: Callable[[], T]) -> T:
        """An operation of several calls (each made with ``attempts=1``) retried as a whole. Each one here
        looks before it creates (or only looks), so it is idempotent: a retry finds what a failed-looking
        create made."""
        return retry.call(operation, idempotent=True, sleep=self._sleep)

    def _each(self, fetch: Callable[[dict[str, Any]], dict[str, Any]], opts: dict[str, Any], *,
              retry_pages: bool) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, page by page (``limit``/``offset`` until ``next_page`` is null).

        ``retry_pages`` retries each page on its own; inside a composite operation the caller retries."""
        opts = {**opts, "limit": self.page_size}
        while True:
            page_opts = dict(opts)  # the SDK adds to the dict it is given
            page = self._call(lambda: fetch(page_opts), idempotent=True, attempts=None if retry_pages else 1)
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

    def workspace(self) -> dict[str, Any]:
        """The workspace itself: ``gid``, ``name``, ``is_organization`` (teams exist only in an Organization)."""
        return self._call(lambda: self._workspaces.get_workspace(
            self.workspace_gid, {"opt_fields": "name,is_organization"}, _request_timeout=TIMEOUT), idempotent=True)

    # -- people and teams ----------------------------------------------------------------------

    def member_emails(self) -> set[str]:
        """The email of every user of the workspace, lower-cased (one listing, paged)."""
        return {(u.get("email") or "").lower() for u in self._each(lambda o: self._users.get_users_for_workspace(
            self.workspace_gid, {**o, "opt_fields": "email"}, full_payload=True, _request_timeout=TIMEOUT), {},
            retry_pages=True)}

    def create_team(self, name: str, description: str = "") -> str:
        """A new team of the Organization (``onboard setup``); its gid. Asana answers 400 in a workspace
        that is not an Organization."""
        body = {"data": {"name": name, "organization": self.workspace_gid, "description": description}}
        team = self._call(lambda: self._teams.create_team(body, {}, _request_timeout=TIMEOUT), idempotent=False)
        self._account.team_gids[name] = team["gid"]
        return team["gid"]

    def me(self) -> User:
        """The user the token belongs to."""
        return User.from_api(self._call(lambda: self._users.get_user("me", {}, _request_timeout=TIMEOUT),
                                        idempotent=True))

    def user_by_email(self, email: str) -> str | None:
        """The gid of the user with ``email``, or None when Asana does not know it (asked once per account
        and worker, see ``Account``)."""
        key, known = email.lower(), self._account.user_gids
        if key not in known:
            try:
                found = self._call(lambda: self._users.get_user(email, {}, _request_timeout=TIMEOUT), idempotent=True)
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
        return next((Project.from_api(p) for p in pages if p.get("name") == name), None)

    def find_project(self, name: str, team_gid: str | None = None) -> Project | None:
        """The unarchived project called ``name`` (in ``team_gid`` when given), or None."""
        return self._whole(lambda: self._find_project(name, team_gid))

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
            return Project.from_api(self._call(lambda: self._projects.create_project(
                body, {}, _request_timeout=TIMEOUT), idempotent=False, attempts=1))

        return self._whole(run)

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
            return self._call(lambda: self._templates.instantiate_project(template, {"body": body},
                                                                          _request_timeout=TIMEOUT),
                              idempotent=False, attempts=1)

        existing_or_job = self._whole(run)
        if isinstance(existing_or_job, Project):
            return existing_or_job
        project_gid = self._wait_for_job(existing_or_job)
        return Project.from_api(self._call(lambda: self._projects.get_project(
            project_gid, {"opt_fields": PROJECT_FIELDS}, _request_timeout=TIMEOUT), idempotent=True))

    def _wait_for_job(self, job: dict[str, Any]) -> str:
        """Polls ``GET /jobs/{gid}`` until it succeeds; returns the new project's gid."""
        deadline = time.monotonic() + JOB_TIMEOUT
        while job.get("status") not in ("succeeded", "failed"):
            if time.monotonic() > deadline:
                raise Transient(VENDOR, f"job {job['gid']} still {job.get('status')} after {JOB_TIMEOUT:.0f}s")
            self._sleep(self.poll_interval)
            job = self._call(lambda: self._jobs.get_job(job["gid"], {}, _request_timeout=TIMEOUT), idempotent=True)
        if job["status"] == "failed" or not job.get("new_project"):
            raise IntegrationError(VENDOR, f"job {job['gid']} failed")
        return job["new_project"]["gid"]

    def update_project(self, gid: str, **fields: Any) -> Project:
        """Changes the given fields (name, notes, start_on, due_on, archived, owner, ...)."""
        unknown = set(fields) - PROJECT_UPDATABLE
        if unknown:
            raise InvalidInput(VENDOR, f"cannot update project fields {sorted(unknown)}")
        body = {"data": _jsonable(fields)}
        return Project.from_api(self._call(lambda: self._projects.update_project(
            body, gid, {"opt_fields": PROJECT_FIELDS}, _request_timeout=TIMEOUT), idempotent=True))

    # -- sections ------------------------------------------------------------------------------

    def sections(self, project_gid: str) -> list[Section]:
        """The project's sections in order (all pages)."""
        pages = self._each(lambda o: self._sections.get_sections_for_project(
            project_gid, o, full_payload=True, _request_timeout=TIMEOUT), {}, retry_pages=True)
        return [Section.from_api(s, project_gid=project_gid) for s in pages]

    def create_section(self, project_gid: str, name: str) -> Section:
        """A new section at the end of the project (a plain create: not retried on 5xx)."""
        body = {"data": {"name": name}}
        return Section.from_api(self._call(lambda: self._sections.create_section_for_project(
            project_gid, {"body": body}, _request_timeout=TIMEOUT), idempotent=False))

    def find_or_create_section(self, project_gid: str, name: str) -> Section:
        """The project's section called ``name``; created at the end when missing."""

        def run() -> Section:
            sections = self._each(lambda o: self._sections.get_sections_for_project(
                project_gid, o, full_payload=True, _request_timeout=TIMEOUT), {}, retry_pages=False)
            found = next((s for s in sections if s.get("name") == name), None)
            if found is not None:
                return Section.from_api(found, project_gid=project_gid)
            body = {"data": {"name": name}}
            return Section.from_api(self._call(lambda: self._sections.create_section_for_project(
                project_gid, {"body": body}, _request_timeout=TIMEOUT), idempotent=False, attempts=1))

        return self._whole(run)

    def add_task_to_section(self, section_gid: str, task_gid: str) -> None:
        """Moves the task into the section (out of the project's other sections), at its top."""
        body = {"data": {"task": task_gid}}
        self._call(lambda: self._sections.add_task_for_section(
            section_gid, {"body": body}, _request_timeout=TIMEOUT), idempotent=True)  # a move: same result twice

    # -- tasks ---------------------------------------------------------------------------------

    def _project_tasks(self, project_gid: str, *, retry_pages: bool) -> Iterator[Task]:
        pages = self._each(lambda o: self._tasks.get_tasks_for_project(
            project_gid, o, full_payload=True, _request_timeout=TIMEOUT),
            {"opt_fields": TASK_FIELDS}, retry_pages=retry_pages)
        return (Task.from_api(t) for t in pages)

    def list_tasks(self, project_gid: str) -> Iterator[Task]:
        """Every task of the project, over all pages (each page retried on its own)."""
        return self._project_tasks(project_gid, retry_pages=True)

    def get_task(self, gid: str) -> Task:
        """One task by gid or ``external:<external gid>``."""
        return Task.from_api(self._call(lambda: self._tasks.get_task(
            gid, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT), idempotent=True))

    def find_or_create_task(self, project_gid: str, name: str, *, section_gid: str | None = None,
                            assignee_gid: str | None = None, due_on: str | date | None = None,
                            notes: str | None = None, external_gid: str | None = None) -> Task:
        """The task with ``external_gid`` (when given) or called ``name`` in the project; else a new one.

        A new task goes into ``section_gid`` (or the project's first section)."""

        def find() -> Task | None:
            if external_gid:
                try:
                    return Task.from_api(self._call(lambda: self._tasks.get_task(
                        f"external:{external_gid}", {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT),
                        idempotent=True, attempts=1))
                except NotFound:
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
            return Task.from_api(self._call(lambda: self._tasks.create_task(
                body, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT), idempotent=False, attempts=1))

        return self._whole(run)

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
                task = Task.from_api(self._call(lambda: self._tasks.create_task(
                    body, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT), idempotent=False, attempts=1))
            except Transient:
                self._in_doubt.add(key)
                raise
            self._in_doubt.discard(key)
            return task

        return self._whole(run)

    def update_task(self, gid: str, **fields: Any) -> Task:
        """Changes due_on, completed, name, notes or assignee (a user gid, or None to unassign)."""
        unknown = set(fields) - TASK_UPDATABLE
        if unknown:
            raise InvalidInput(VENDOR, f"cannot update task fields {sorted(unknown)}")
        body = {"data": _jsonable(fields)}
        return Task.from_api(self._call(lambda: self._tasks.update_task(
            body, gid, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT), idempotent=True))

    def add_followers(self, task_gid: str, user_gids: Iterable[str]) -> Task:
        """Adds followers (who get Asana's notifications); ones already following stay as they are."""
        body = {"data": {"followers": list(user_gids)}}
        return Task.from_api(self._call(lambda: self._tasks.add_followers_for_task(
            body, task_gid, {"opt_fields": TASK_FIELDS}, _request_timeout=TIMEOUT), idempotent=True))

    def add_comment(self, task_gid: str, text: str) -> Comment:
        """Posts a comment on the task (not retried on 5xx: it could post twice)."""
        body = {"data": {"text": text}}
        return Comment.from_api(self._call(lambda: self._stories.create_story_for_task(
            body, task_gid, {}, _request_timeout=TIMEOUT), idempotent=False))


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) for k, v in fields.items()}
