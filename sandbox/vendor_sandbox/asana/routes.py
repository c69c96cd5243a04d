"""Asana REST 1.0 emulation: thin routes over ``AsanaBackend`` (CONTRACTS.md section 2).

Every answer is ``{"data": ...}``; lists page with ``limit``/``offset`` and add ``next_page`` only when
``limit`` was sent. Lists give compact records unless ``opt_fields`` asks for more, as Asana does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from vendor_sandbox.core.limits import Rule, Verdict
from vendor_sandbox.core.vendor import SandboxVendor, atomic, html_table

from . import errors
from .backend import AsanaBackend, decode_offset, encode_offset

API = "/api/1.0"


class AsanaVendor(SandboxVendor):
    """Asana: workspaces, teams, users, projects, templates, jobs, sections, tasks and stories."""

    name = "asana"
    prefix = "/asana"

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.backend = AsanaBackend(self.db, ctx)
        self._phrases = 0

    # -- machinery -----------------------------------------------------------------------------

    @classmethod
    def sdk_urls(cls, root: str) -> dict[str, str]:
        return {"asana": root + cls.prefix + API}

    def rate_rule(self, request: Request) -> tuple[str, Rule] | None:
        # 150 requests a minute per token (free plan), minute windows evaluated continuously [doc rate-limits]
        token = request.headers.get("authorization", "")
        key = hashlib.sha256(token.encode()).hexdigest()[:16] if token else "anonymous"
        return f"token:{key}", Rule(150, 60.0, "asana-per-token")

    def rate_limited(self, verdict: Verdict) -> Response:
        return errors.rate_limited(verdict.retry_after_header).response()

    def server_error(self, status: int) -> Response:
        error = errors.server_error(status, self._phrases)
        if status == 500:  # each 500 gets the next phrase
            self._phrases += 1
        return error.response()

    def seed(self, team: list[dict[str, str]]) -> None:
        self.backend.seed(team)

    # -- the API -------------------------------------------------------------------------------

    def router(self) -> APIRouter:
        b = atomic(self.backend, self.db)
        r = APIRouter(prefix=API, dependencies=[Depends(_authorized)])

        @r.get("/workspaces")
        def get_workspaces(request: Request):
            return _list(request, b.workspaces())

        @r.get("/workspaces/{gid}")
        def get_workspace(gid: str):
            return _ok(b.workspace(gid))

        @r.get("/users")
        def get_users(request: Request):
            q = request.query_params
            return _list(request, b.users(q.get("workspace"), q.get("team")))

        @r.get("/workspaces/{gid}/users")
        def get_workspace_users(request: Request, gid: str):
            b.workspace(gid)
            return _list(request, b.users(gid))

        @r.get("/users/{ref}")
        def get_user(ref: str):
            return _ok(b.user(ref))

        @r.get("/workspaces/{gid}/teams")
        def get_teams(request: Request, gid: str):
            return _list(request, b.teams(gid))

        @r.get("/teams/{gid}")
        def get_team(gid: str):
            return _ok(b.team(gid))

        @r.post("/teams")
        async def create_team(request: Request):
            """createTeam: ``name`` and ``organization`` (the token's Organization) [spec:asana_oas.yaml TeamRequest]."""
            return _ok(b.add_team(await _data(request)), 201)

        @r.get("/projects")
        def get_projects(request: Request):
            q = request.query_params
            return _list(request, b.projects(q.get("workspace"), q.get("team"), _bool(q.get("archived"))))

        @r.get("/teams/{gid}/projects")
        def get_team_projects(request: Request, gid: str):
            b.team(gid)
            return _list(request, b.projects(None, gid, _bool(request.query_params.get("archived"))))

        @r.get("/workspaces/{gid}/projects")
        def get_workspace_projects(request: Request, gid: str):
            b.workspace(gid)
            return _list(request, b.projects(gid, None, _bool(request.query_params.get("archived"))))

        @r.post("/projects")
        async def create_project(request: Request):
            return _ok(b.render_project(b.create_project(await _data(request))), 201)

        @r.post("/teams/{gid}/projects")
        async def create_team_project(request: Request, gid: str):
            data = await _data(request)
            b.team(gid)
            return _ok(b.render_project(b.create_project(data, team=gid)), 201)

        @r.post("/workspaces/{gid}/projects")
        async def create_workspace_project(request: Request, gid: str):
            data = await _data(request)
            b.workspace(gid)
            return _ok(b.render_project(b.create_project(data, workspace=gid)), 201)

        @r.get("/projects/{gid}")
        def get_project(gid: str):
            return _ok(b.project(gid))

        @r.put("/projects/{gid}")
        async def update_project(request: Request, gid: str):
            return _ok(b.update_project(gid, await _data(request)))

        @r.get("/project_templates")
        def get_templates(request: Request):
            q = request.query_params
            return _list(request, b.templates(q.get("workspace"), q.get("team")))

        @r.get("/teams/{gid}/project_templates")
        def get_team_templates(request: Request, gid: str):
            b.team(gid)
            return _list(request, b.templates(None, gid))

        @r.get("/project_templates/{gid}")
        def get_template(gid: str):
            return _ok(b.template(gid))

        @r.post("/project_templates/{gid}/instantiateProject")
        async def instantiate(request: Request, gid: str):
            return _ok(b.instantiate(gid, await _data(request)), 201)

        @r.get("/jobs/{gid}")
        def get_job(gid: str):
            return _ok(b.job(gid))

        @r.get("/projects/{gid}/sections")
        def get_sections(request: Request, gid: str):
            return _list(request, b.sections(gid))

        @r.post("/projects/{gid}/sections")
        async def create_section(request: Request, gid: str):
            return _ok(b.create_section(gid, await _data(request)), 201)

        @r.get("/sections/{gid}")
        def get_section(gid: str):
            return _ok(b.section(gid))

        @r.post("/sections/{gid}/addTask")
        async def add_task(request: Request, gid: str):
            b.add_task_to_section(gid, await _data(request))
            return _ok({})

        @r.post("/tasks")
        async def create_task(request: Request):
            task = b.create_task(await _data(request))
            return _ok(b.render_task(task, _opt_fields(request)), 201)

        @r.get("/tasks")
        def get_tasks(request: Request):
            q = request.query_params
            tasks = b.tasks(project=q.get("project"), section=q.get("section"), assignee=q.get("assignee"),
                            workspace=q.get("workspace"), completed_since=q.get("completed_since"))
            return _task_list(request, b, tasks)

        @r.get("/projects/{gid}/tasks")
        def get_project_tasks(request: Request, gid: str):
            b.project(gid)
            tasks = b.tasks(project=gid, completed_since=request.query_params.get("completed_since"))
            return _task_list(request, b, tasks)

        @r.get("/sections/{gid}/tasks")
        def get_section_tasks(request: Request, gid: str):
            b.section(gid)
            tasks = b.tasks(section=gid, completed_since=request.query_params.get("completed_since"))
            return _task_list(request, b, tasks)

        @r.get("/tasks/{ref}")
        def get_task(request: Request, ref: str):
            return _ok(b.task(ref, _opt_fields(request)))

        @r.put("/tasks/{ref}")
        async def update_task(request: Request, ref: str):
            return _ok(b.update_task(ref, await _data(request)))

        @r.post("/tasks/{ref}/addFollowers")
        async def add_followers(request: Request, ref: str):
            return _ok(b.add_followers(ref, await _data(request)))

        @r.post("/tasks/{ref}/stories")
        async def create_story(request: Request, ref: str):
            return _ok(b.add_comment(ref, await _data(request)), 201)

        @r.get("/tasks/{ref}/stories")
        def get_stories(request: Request, ref: str):
            return _list(request, b.stories(ref))

        return r

    def people_router(self) -> APIRouter:
        """Act as a colleague in Asana: tick a task off, comment, or set up a project template."""
        b = atomic(self.backend, self.db)
        r = APIRouter()

        @r.post("/tasks/{ref}/complete")
        async def complete(request: Request, ref: str):
            """Body (optional): ``{"by": email or user gid}``; default the assignee."""
            body = await _json(request) or {}
            return _ok(b.complete_task(ref, body.get("by")))

        @r.post("/tasks/{ref}/comments")
        async def comment(request: Request, ref: str):
            """Body: ``{"text": "...", "by": email or user gid}``."""
            body = await _json(request) or {}
            return _ok(b.add_comment(ref, {"text": body.get("text")}, by=body.get("by")), 201)

        @r.post("/project_templates")
        async def create_template(request: Request):
            """Body: ``{"name", "team"?, "description"?, "sections": [{"name", "tasks": [{"name",
            "notes"?, "due_offset_days"?}]}]}``; due offsets count from the requested start date."""
            body = await _json(request) or {}
            return _ok(b.render_template(b.create_template(body)), 201)

        return r

    # -- inspection ----------------------------------------------------------------------------

    def html(self) -> str:
        b = self.backend
        users = {u["gid"]: u["name"] for u in self.db.list("user")}
        projects = {p["gid"]: p["name"] for p in self.db.list("project")}
        sections = {s["gid"]: s["name"] for s in self.db.list("section")}
        parts = [
            html_table("workspaces", b.workspaces(), ["gid", "name", "is_organization"]),
            html_table("teams", self.db.list("team"), ["gid", "name", "description"]),
            html_table("users", self.db.list("user"), ["gid", "name", "email"]),
            html_table("project templates", [
                {"gid": t["gid"], "name": t["name"],
                 "sections": "\n".join(f"{s['name']}: " + ", ".join(x["name"] for x in s["tasks"])
                                       for s in t["sections"])}
                for t in self.db.list("project_template")], ["gid", "name", "sections"]),
            html_table("projects", [
                {**p, "sections": ", ".join(sections.get(s, s) for s in p["sections"]),
                 "owner": users.get(p["owner"], "")} for p in self.db.list("project")],
                ["gid", "name", "start_on", "due_on", "archived", "owner", "sections", "notes"]),
            html_table("tasks", [
                {**t, "where": "; ".join(f"{projects.get(m['project'])} / {sections.get(m['section'])}"
                                         for m in t["memberships"]),
                 "assignee": users.get(t["assignee"], ""),
                 "followers": ", ".join(users.get(f, f) for f in t["followers"]),
                 "external": (t.get("external") or {}).get("gid", "")} for t in self.db.list("task")],
                ["gid", "name", "where", "assignee", "due_on", "completed", "followers", "external", "notes"]),
            html_table("stories", [{**s, "by": users.get(s["created_by"], "")} for s in self.db.list("story")],
                       ["gid", "task", "by", "type", "text", "created_at"]),
            html_table("jobs", self.db.list("job"), ["gid", "resource_subtype", "status", "new_project"]),
        ]
        return "".join(parts)


# -- request and response helpers ---------------------------------------------------------------

def _authorized(request: Request) -> None:
    """Any bearer token is accepted; none at all is Asana's 401."""
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.not_authorized()


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise errors.asana_error(400, "Could not parse request data, invalid JSON") from None


async def _data(request: Request) -> dict[str, Any]:
    """The ``data`` object of a write request's ``{"data": {...}}`` envelope."""
    body = await _json(request)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise errors.asana_error(400, "data: Missing input")
    return data


def _ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"data": data}, status_code=status)


def _bool(value: str | None) -> bool | None:
    return None if value is None else value.lower() == "true"


def _opt_fields(request: Request) -> set[str] | None:
    raw = request.query_params.get("opt_fields")
    if not raw:
        return None
    return {f.strip().split(".")[0] for f in raw.split(",") if f.strip()}


def _shape(obj: dict[str, Any], fields: set[str] | None) -> dict[str, Any]:
    """A list item: compact by default, the fields asked for (top level) with ``opt_fields``."""
    if fields is None:
        keep = {"gid", "resource_type", "name", "resource_subtype"}
        if obj.get("resource_type") == "story":
            keep |= {"created_at", "created_by", "text", "type"}
    else:
        keep = fields | {"gid", "resource_type"}
    return {k: v for k, v in obj.items() if k in keep}


def _task_list(request: Request, b: AsanaBackend, tasks: list[dict[str, Any]]) -> JSONResponse:
    fields = _opt_fields(request)
    return _list(request, [b.render_task(t, fields) for t in tasks])


def _list(request: Request, items: list[dict[str, Any]]) -> JSONResponse:
    """Asana pagination: ``limit`` 1..100 and an opaque ``offset``; ``next_page`` only with ``limit``."""
    q = request.query_params
    fields = _opt_fields(request)
    start = decode_offset(q["offset"]) if q.get("offset") else 0
    if q.get("limit") is None:
        return _ok([_shape(i, fields) for i in items[start:]])
    try:
        limit = int(q["limit"])
    except ValueError:
        limit = 0
    if not 1 <= limit <= 100:
        raise errors.asana_error(400, "limit: Must be between 1 and 100")
    page = [_shape(i, fields) for i in items[start:start + limit]]
    next_page = None
    if start + limit < len(items):
        token = encode_offset(start + limit)
        params = [(k, v) for k, v in q.multi_items() if k != "offset"] + [("offset", token)]
        path = request.url.path.removeprefix(AsanaVendor.prefix + API) + "?" + urlencode(params)
        root = str(request.base_url).rstrip("/")
        next_page = {"offset": token, "path": path, "uri": root + AsanaVendor.prefix + API + path}
    return JSONResponse({"data": page, "next_page": next_page})
