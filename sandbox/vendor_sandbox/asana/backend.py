"""Asana state: workspaces, teams, users, projects, templates, jobs, sections, tasks and stories.

Objects are stored in an internal shape (references as gids, plus ordering lists) and rendered in
Asana's shape on the way out, so a renamed project shows its new name in every task that names it.
Errors are raised as ``VendorError`` in Asana's shape, built in errors.py (CONTRACTS.md section 2).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime, timedelta
from typing import Any

from vendor_sandbox.core.store import VendorStore
from vendor_sandbox.core.vendor import SandboxContext

from .errors import asana_error, missing, not_recognized, unknown_object

GID_START = 1208000000000001  # Asana gids are 16-digit numbers sent as strings
DEFAULT_SECTION = "Untitled section"  # what Asana puts in every new project

# Fields a client may write; anything else is refused like Asana does ("<field>: Unknown property").
PROJECT_WRITABLE = {
    "name", "notes", "html_notes", "color", "archived", "due_on", "due_date", "start_on", "public",
    "privacy_setting", "default_view", "owner", "icon",
}
TASK_WRITABLE = {
    "name", "notes", "html_notes", "completed", "assignee", "due_on", "due_at", "start_on", "start_at",
    "external", "resource_subtype", "liked", "approval_status", "assignee_status",
}


# -- small helpers ------------------------------------------------------------------------------

def _check_date(field: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise asana_error(400, f"{field}: Invalid date: {value}") from None


def _check_datetime(field: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise asana_error(400, f"{field}: Invalid date-time: {value}") from None
    return str(value)


def encode_offset(index: int) -> str:
    return base64.urlsafe_b64encode(f"asana-offset:{index}".encode()).decode().rstrip("=")


def decode_offset(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, index = raw.partition(":")
        if prefix != "asana-offset":
            raise ValueError(token)
        return int(index)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise asana_error(400, "offset: Your pagination token is invalid or has expired") from None


class AsanaBackend:
    """All Asana state logic; routes only parse requests and wrap results in ``{"data": ...}``."""

    def __init__(self, db: VendorStore, ctx: SandboxContext) -> None:
        self.db = db
        self.ctx = ctx

    # -- ids, time, lookups -------------------------------------------------------------------

    def _gid(self) -> str:
        return str(self.db.next_int("gid", GID_START))

    def _now(self) -> str:
        return _stamp(self.ctx.now())

    def _get(self, kind: str, gid: str) -> dict[str, Any]:
        """An object named in the path: unknown -> 404 ``Unknown object``."""
        obj = self.db.get(kind, str(gid))
        if obj is None:
            raise unknown_object(gid)
        return obj

    def _ref(self, field: str, kind: str, gid: Any) -> dict[str, Any]:
        """An object named in a body or query parameter: unknown -> 400 ``Not a recognized ID``."""
        obj = self.db.get(kind, str(gid)) if isinstance(gid, (str, int)) else None
        if obj is None:
            raise not_recognized(field, gid)
        return obj

    def _compact(self, kind: str, gid: str | None) -> dict[str, Any] | None:
        if gid is None:
            return None
        obj = self.db.get(kind, gid)
        out = {"gid": gid, "resource_type": kind}
        if obj is not None and "name" in obj:
            out["name"] = obj["name"]
        return out

    def me_gid(self) -> str:
        meta = self.db.get("meta", "me")
        return meta["user"] if meta else ""

    # -- seed ----------------------------------------------------------------------------------

    def seed(self, team: list[dict[str, str]]) -> None:
        """One organization, one team, a user per colleague, one project template (idempotent)."""
        ws = next((w for w in self.db.list("workspace") if w["name"] == "Sandbox Org"), None)
        if ws is None:
            domains = sorted({m["email"].split("@")[-1] for m in team}) or ["sandbox.example"]
            ws = self.db.put("workspace", gid := self._gid(), {
                "gid": gid, "name": "Sandbox Org", "is_organization": True, "email_domains": domains,
            })
        for member in team:
            if self.user_by_email(member["email"]) is None:
                gid = self._gid()
                self.db.put("user", gid, {
                    "gid": gid, "name": member["name"], "email": member["email"].lower(),
                    "workspaces": [ws["gid"]],
                })
        if team and self.db.get("meta", "me") is None:
            self.db.put("meta", "me", {"user": self.user_by_email(team[0]["email"])["gid"]})
        if self.ctx.account == "fresh":  # a new Organization has no team [CONTRACTS §6]
            return
        tm = next((t for t in self.db.list("team") if t["name"] == "Client Services"), None)
        if tm is None:
            tm = self.create_team(ws["gid"], "Client Services", "Everyone who onboards clients.")
        if not any(t["name"] == "Client onboarding plan" for t in self.db.list("project_template")):
            self.create_template({
                "name": "Client onboarding plan",
                "description": "Kick-off to go-live for a new client.",
                "team": tm["gid"],
                "sections": [
                    {"name": "Kick-off", "tasks": [
                        {"name": "Schedule kick-off call", "due_offset_days": 2},
                        {"name": "Send welcome pack", "due_offset_days": 3, "notes": "Forms and guides."},
                    ]},
                    {"name": "Set-up", "tasks": [
                        {"name": "Collect client documents", "due_offset_days": 7},
                        {"name": "Configure client workspace", "due_offset_days": 10},
                    ]},
                    {"name": "Go-live", "tasks": [
                        {"name": "Go-live review", "due_offset_days": 21},
                    ]},
                ],
            })

    # -- workspaces, users, teams --------------------------------------------------------------

    def render_workspace(self, ws: dict[str, Any]) -> dict[str, Any]:
        return {"gid": ws["gid"], "resource_type": "workspace", "name": ws["name"],
                "is_organization": ws["is_organization"], "email_domains": ws["email_domains"]}

    def workspaces(self) -> list[dict[str, Any]]:
        return [self.render_workspace(w) for w in self.db.list("workspace")]

    def workspace(self, gid: str) -> dict[str, Any]:
        return self.render_workspace(self._get("workspace", gid))

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        return next((u for u in self.db.list("user") if u["email"] == email.lower()), None)

    def render_user(self, u: dict[str, Any]) -> dict[str, Any]:
        return {"gid": u["gid"], "resource_type": "user", "name": u["name"], "email": u["email"],
                "photo": None, "workspaces": [self._compact("workspace", w) for w in u["workspaces"]]}

    def user(self, ref: str) -> dict[str, Any]:
        """``me``, a gid or an email, as ``GET /users/{user_gid}`` accepts."""
        if ref == "me":
            ref = self.me_gid()
        found = self.user_by_email(ref) if "@" in ref else self.db.get("user", ref)
        if found is None:
            raise unknown_object(ref)
        return self.render_user(found)

    def users(self, workspace: str | None, team: str | None = None) -> list[dict[str, Any]]:
        if workspace:
            self._ref("workspace", "workspace", workspace)
        return [self.render_user(u) for u in self.db.list("user")
                if workspace is None or workspace in u["workspaces"]]

    def create_team(self, workspace: str, name: str, description: str = "") -> dict[str, Any]:
        gid = self._gid()
        return self.db.put("team", gid, {"gid": gid, "name": name, "description": description,
                                         "organization": workspace})

    def render_team(self, t: dict[str, Any]) -> dict[str, Any]:
        return {"gid": t["gid"], "resource_type": "team", "name": t["name"],
                "description": t["description"], "html_description": f"<body>{t['description']}</body>",
                "organization": self._compact("workspace", t["organization"]), "visibility": "public",
                "permalink_url": f"https://app.asana.com/0/{t['gid']}/overview"}

    def teams(self, workspace: str) -> list[dict[str, Any]]:
        self._get("workspace", workspace)
        return [self.render_team(t) for t in self.db.list("team") if t["organization"] == workspace]

    def team(self, gid: str) -> dict[str, Any]:
        return self.render_team(self._get("team", gid))

    def add_team(self, data: dict[str, Any]) -> dict[str, Any]:
        """A new team; only an Organization has teams [doc: developers.asana.com/reference/createteam]."""
        if not data.get("name"):
            raise missing("name")
        if not data.get("organization"):
            raise missing("organization")
        ws = self._get("workspace", str(data["organization"]))
        if not ws.get("is_organization"):
            raise asana_error(400, "organization: Teams can only be created in an organization")
        return self.render_team(self.create_team(ws["gid"], str(data["name"]), str(data.get("description", ""))))

    # -- projects ------------------------------------------------------------------------------

    def render_project(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "gid": p["gid"], "resource_type": "project", "name": p["name"], "archived": p["archived"],
            "color": p["color"], "icon": p.get("icon", "list"), "created_at": p["created_at"],
            "modified_at": p["modified_at"], "current_status": None, "current_status_update": None,
            "custom_fields": [], "custom_field_settings": [], "default_view": p["default_view"],
            "due_date": p["due_on"], "due_on": p["due_on"], "start_on": p["start_on"],
            "notes": p["notes"], "html_notes": p["html_notes"], "public": p["public"],
            "privacy_setting": p["privacy_setting"], "completed": False, "completed_at": None,
            "completed_by": None, "members": [self._compact("user", u) for u in p["members"]],
            "followers": [self._compact("user", u) for u in p["followers"]],
            "owner": self._compact("user", p["owner"]), "team": self._compact("team", p["team"]),
            "workspace": self._compact("workspace", p["workspace"]),
            "created_from_template": self._compact("project_template", p.get("created_from_template")),
            "permalink_url": f"https://app.asana.com/1/{p['workspace']}/project/{p['gid']}",
        }

    def create_project(self, data: dict[str, Any], *, team: str | None = None,
                       workspace: str | None = None, template: str | None = None) -> dict[str, Any]:
        """``POST /projects`` (and the team/workspace variants). Returns the stored project."""
        team = team or data.get("team")
        workspace = workspace or data.get("workspace")
        if not data.get("name"):
            raise missing("name")
        if team is not None:
            tm = self._ref("team", "team", team)
            if workspace is not None and workspace != tm["organization"]:
                raise asana_error(400, "team: The team must belong to the workspace")
            workspace = tm["organization"]
        elif workspace is None:
            raise missing("workspace")
        ws = self._ref("workspace", "workspace", workspace)
        if ws["is_organization"] and team is None:
            raise missing("team")  # projects in an organization must be shared with a team
        self._check_unknown(data, PROJECT_WRITABLE | {"team", "workspace", "followers", "members"})
        now = self._now()
        gid = self._gid()
        notes = data.get("notes", "")
        project = {
            "gid": gid, "name": str(data["name"]), "notes": notes,
            "html_notes": data.get("html_notes", f"<body>{notes}</body>"),
            "archived": bool(data.get("archived", False)), "color": data.get("color", "light-green"),
            "default_view": data.get("default_view", "list"),
            "due_on": _check_date("due_on", data.get("due_on", data.get("due_date"))),
            "start_on": _check_date("start_on", data.get("start_on")),
            "public": bool(data.get("public", True)),
            "privacy_setting": data.get("privacy_setting", "public_to_workspace"),
            "owner": self.me_gid() or None, "team": team, "workspace": ws["gid"],
            "members": [self.me_gid()], "followers": [self.me_gid()],
            "created_at": now, "modified_at": now, "sections": [], "created_from_template": template,
        }
        self.db.put("project", gid, project)
        if template is None:
            self.create_section(gid, {"name": DEFAULT_SECTION})
        return self.db.get("project", gid)

    def project(self, gid: str) -> dict[str, Any]:
        return self.render_project(self._get("project", gid))

    def update_project(self, gid: str, data: dict[str, Any]) -> dict[str, Any]:
        p = self._get("project", gid)
        self._check_unknown(data, PROJECT_WRITABLE)
        for field in ("due_on", "due_date", "start_on"):
            if field in data:
                p["due_on" if field == "due_date" else field] = _check_date(field, data[field])
        if "owner" in data:
            p["owner"] = None if data["owner"] is None else self._ref("owner", "user", data["owner"])["gid"]
        for field in ("name", "notes", "html_notes", "color", "archived", "public", "privacy_setting",
                      "default_view", "icon"):
            if field in data:
                p[field] = data[field]
        if "notes" in data and "html_notes" not in data:
            p["html_notes"] = f"<body>{data['notes']}</body>"
        p["modified_at"] = self._now()
        self.db.put("project", gid, p)
        return self.render_project(p)

    def projects(self, workspace: str | None, team: str | None, archived: bool | None) -> list[dict[str, Any]]:
        if workspace is not None:
            self._ref("workspace", "workspace", workspace)
        if team is not None:
            self._ref("team", "team", team)
        return [self.render_project(p) for p in self.db.list("project")
                if (workspace is None or p["workspace"] == workspace)
                and (team is None or p["team"] == team)
                and (archived is None or p["archived"] == archived)]

    # -- project templates and jobs ------------------------------------------------------------

    def create_template(self, data: dict[str, Any]) -> dict[str, Any]:
        """A template (a people route: the API cannot create one except by saving a project)."""
        if not data.get("name"):
            raise missing("name")
        tm = self._ref("team", "team", data.get("team") or self.db.list("team")[0]["gid"])
        gid = self._gid()
        return self.db.put("project_template", gid, {
            "gid": gid, "name": data["name"], "description": data.get("description", ""),
            "team": tm["gid"], "owner": self.me_gid() or None, "color": data.get("color", "light-blue"),
            "sections": [
                {"name": s["name"], "tasks": [
                    {"name": t["name"], "notes": t.get("notes", ""),
                     "due_offset_days": t.get("due_offset_days")} for t in s.get("tasks", [])
                ]} for s in data.get("sections", [])
            ],
        })

    def render_template(self, t: dict[str, Any]) -> dict[str, Any]:
        return {
            "gid": t["gid"], "resource_type": "project_template", "name": t["name"],
            "description": t["description"], "html_description": f"<body>{t['description']}</body>",
            "public": True, "owner": self._compact("user", t["owner"]),
            "team": self._compact("team", t["team"]), "color": t["color"],
            "requested_dates": [{"gid": "1", "name": "Start Date",
                                 "description": "Choose a start date for your project."}],
            "requested_roles": [],
        }

    def templates(self, workspace: str | None, team: str | None) -> list[dict[str, Any]]:
        if workspace is None and team is None:
            raise missing("workspace")
        if team is not None:
            self._ref("team", "team", team)
        if workspace is not None:
            self._ref("workspace", "workspace", workspace)
        return [self.render_template(t) for t in self.db.list("project_template")
                if (team is None or t["team"] == team)
                and (workspace is None or self._get("team", t["team"])["organization"] == workspace)]

    def template(self, gid: str) -> dict[str, Any]:
        return self.render_template(self._get("project_template", gid))

    def instantiate(self, template_gid: str, data: dict[str, Any]) -> dict[str, Any]:
        """Creates the project with the template's sections and tasks; returns the job (shown in progress).

        Task due dates are the start date (requested date ``1``) plus each task's offset."""
        tpl = self._get("project_template", template_gid)
        if not data.get("name"):
            raise missing("name")
        dates = {str(d.get("gid")): d.get("value") for d in data.get("requested_dates") or []}
        if data.get("is_strict") and not dates.get("1"):
            raise asana_error(422, "requested_dates: Missing a value for the date variable Start Date")
        start = date.fromisoformat(_check_date("requested_dates", dates.get("1")) or self.ctx.now().date().isoformat())
        offsets = [t["due_offset_days"] for s in tpl["sections"] for t in s["tasks"]
                   if t.get("due_offset_days") is not None]
        project = self.create_project(
            {"name": data["name"], "privacy_setting": data.get("privacy_setting", "public_to_workspace"),
             "start_on": start.isoformat(),
             "due_on": (start + timedelta(days=max(offsets, default=0))).isoformat()},
            team=data.get("team") or tpl["team"], template=tpl["gid"],
        )
        for s in tpl["sections"]:
            section = self.create_section(project["gid"], {"name": s["name"]})
            for t in s["tasks"]:
                due = start + timedelta(days=t["due_offset_days"]) if t.get("due_offset_days") is not None else None
                self.create_task({"name": t["name"], "notes": t["notes"],
                                  "due_on": due.isoformat() if due else None,
                                  "memberships": [{"project": project["gid"], "section": section["gid"]}]})
        gid = self._gid()
        job = self.db.put("job", gid, {"gid": gid, "resource_subtype": "instantiate_project",
                                       "status": "succeeded", "new_project": project["gid"]})
        # the work is done at once, but the answer says in_progress, so clients must poll GET /jobs
        return {**self.render_job(job), "status": "in_progress"}

    def render_job(self, job: dict[str, Any]) -> dict[str, Any]:
        return {"gid": job["gid"], "resource_type": "job", "resource_subtype": job["resource_subtype"],
                "status": job["status"], "new_project": self._compact("project", job["new_project"]),
                "new_task": None}

    def job(self, gid: str) -> dict[str, Any]:
        return self.render_job(self._get("job", gid))

    # -- sections ------------------------------------------------------------------------------

    def render_section(self, s: dict[str, Any]) -> dict[str, Any]:
        project = self._compact("project", s["project"])
        return {"gid": s["gid"], "resource_type": "section", "name": s["name"],
                "created_at": s["created_at"], "project": project, "projects": [project]}

    def create_section(self, project_gid: str, data: dict[str, Any]) -> dict[str, Any]:
        p = self._get("project", project_gid)
        if not data.get("name"):
            raise missing("name")
        before, after = data.get("insert_before"), data.get("insert_after")
        if before and after:
            raise asana_error(400, "insert_before: You may only provide one of insert_before or insert_after")
        gid = self._gid()
        section = self.db.put("section", gid, {"gid": gid, "name": str(data["name"]), "project": project_gid,
                                               "created_at": self._now(), "tasks": []})
        order = p["sections"]
        anchor = before or after
        if anchor is not None:
            if anchor not in order:
                raise not_recognized("insert_before" if before else "insert_after", anchor)
            order.insert(order.index(anchor) + (0 if before else 1), gid)
        else:
            order.append(gid)
        self.db.put("project", project_gid, p)
        return self.render_section(section)

    def section(self, gid: str) -> dict[str, Any]:
        return self.render_section(self._get("section", gid))

    def sections(self, project_gid: str) -> list[dict[str, Any]]:
        p = self._get("project", project_gid)
        return [self.render_section(self._get("section", s)) for s in p["sections"]]

    def add_task_to_section(self, section_gid: str, data: dict[str, Any]) -> None:
        """Moves the task into the section (and so into its project), at the top by default."""
        section = self._get("section", section_gid)
        if not data.get("task"):
            raise missing("task")
        task = self._task_ref("task", data["task"])
        before, after = data.get("insert_before"), data.get("insert_after")
        if before and after:
            raise asana_error(400, "insert_before: You may only provide one of insert_before or insert_after")
        self._place(task, section["project"], section_gid, position=before or after,
                    after=bool(after), top=not (before or after))
        task["modified_at"] = self._now()
        self.db.put("task", task["gid"], task)

    def _place(self, task: dict[str, Any], project_gid: str, section_gid: str | None, *,
               position: str | None = None, after: bool = False, top: bool = False) -> None:
        """Puts ``task`` in one section of ``project_gid`` (its first one when ``section_gid`` is None)."""
        p = self._get("project", project_gid)
        if section_gid is None:
            if not p["sections"]:
                self.create_section(project_gid, {"name": DEFAULT_SECTION})
                p = self._get("project", project_gid)
            section_gid = p["sections"][0]
        for sid in p["sections"]:  # out of the project's other sections first
            s = self._get("section", sid)
            if task["gid"] in s["tasks"]:
                s["tasks"].remove(task["gid"])
                self.db.put("section", sid, s)
        s = self._get("section", section_gid)
        if position is not None:
            anchor = self._task_ref("insert_after" if after else "insert_before", position)["gid"]
            if anchor not in s["tasks"]:
                raise asana_error(400, f"{'insert_after' if after else 'insert_before'}: "
                                       "The task is not in this section")
            s["tasks"].insert(s["tasks"].index(anchor) + (1 if after else 0), task["gid"])
        elif top:
            s["tasks"].insert(0, task["gid"])
        else:
            s["tasks"].append(task["gid"])
        self.db.put("section", section_gid, s)
        task["memberships"] = [m for m in task["memberships"] if m["project"] != project_gid]
        task["memberships"].append({"project": project_gid, "section": section_gid})

    # -- tasks ---------------------------------------------------------------------------------

    def _task_gid(self, ref: str) -> str | None:
        """A task gid or ``external:<external gid>`` (accepted wherever a task gid is)."""
        ref = str(ref)
        if ref.startswith("external:"):
            ext = ref.removeprefix("external:")
            found = next((t for t in self.db.list("task") if (t.get("external") or {}).get("gid") == ext), None)
            return found["gid"] if found else None
        return ref if self.db.get("task", ref) is not None else None

    def _task(self, ref: str) -> dict[str, Any]:
        gid = self._task_gid(ref)
        if gid is None:
            raise unknown_object(ref)
        return self._get("task", gid)

    def _task_ref(self, field: str, ref: Any) -> dict[str, Any]:
        gid = self._task_gid(ref) if isinstance(ref, (str, int)) else None
        if gid is None:
            raise not_recognized(field, ref)
        return self._get("task", gid)

    def render_task(self, t: dict[str, Any], opt_fields: set[str] | None = None) -> dict[str, Any]:
        memberships = [{"project": self._compact("project", m["project"]),
                        "section": self._compact("section", m["section"])} for m in t["memberships"]]
        out = {
            "gid": t["gid"], "resource_type": "task", "resource_subtype": t["resource_subtype"],
            "name": t["name"], "notes": t["notes"], "html_notes": t["html_notes"],
            "completed": t["completed"], "completed_at": t["completed_at"],
            "completed_by": self._compact("user", t["completed_by"]),
            "assignee": self._compact("user", t["assignee"]), "assignee_status": "upcoming",
            "assignee_section": None, "created_at": t["created_at"], "modified_at": t["modified_at"],
            "created_by": self._compact("user", t["created_by"]),
            "due_on": t["due_on"], "due_at": t["due_at"], "start_on": t["start_on"], "start_at": t["start_at"],
            "followers": [self._compact("user", u) for u in t["followers"]],
            "memberships": memberships, "projects": [m["project"] for m in memberships],
            "parent": self._compact("task", t["parent"]), "workspace": self._compact("workspace", t["workspace"]),
            "tags": [], "custom_fields": [], "dependencies": [], "dependents": [],
            "hearted": False, "hearts": [], "num_hearts": 0, "liked": False, "likes": [], "num_likes": 0,
            "num_subtasks": sum(1 for s in self.db.list("task") if s["parent"] == t["gid"]),
            "actual_time_minutes": None, "is_rendered_as_separator": False,
            "permalink_url": f"https://app.asana.com/1/{t['workspace']}/task/{t['gid']}",
        }
        # `external` is only returned when set or asked for [spec TaskBase.external]
        if t.get("external") is not None or (opt_fields and "external" in opt_fields):
            out["external"] = t.get("external")
        return out

    def create_task(self, data: dict[str, Any]) -> dict[str, Any]:
        """``POST /tasks``: needs a workspace unless projects, memberships or a parent name one."""
        self._check_unknown(data, TASK_WRITABLE | {"workspace", "projects", "memberships", "parent",
                                                   "followers", "tags", "custom_fields"})
        if data.get("due_on") is not None and data.get("due_at") is not None:
            raise asana_error(400, "due_on: You may only provide one of due_on or due_at")
        placements: list[tuple[str, str | None]] = []
        for m in data.get("memberships") or []:
            proj = self._ref("memberships.project", "project", m.get("project"))
            sec = None
            if m.get("section") is not None:
                sec = self._ref("memberships.section", "section", m["section"])
                if sec["project"] != proj["gid"]:
                    raise asana_error(400, "memberships.section: The section is not in the project")
                sec = sec["gid"]
            placements.append((proj["gid"], sec))
        for pg in data.get("projects") or []:
            proj = self._ref("projects", "project", pg)
            if proj["gid"] not in [p for p, _ in placements]:
                placements.append((proj["gid"], None))
        parent = self._task_ref("parent", data["parent"]) if data.get("parent") else None
        if placements:
            workspace = self._get("project", placements[0][0])["workspace"]
        elif parent:
            workspace = parent["workspace"]
        elif data.get("workspace"):
            workspace = self._ref("workspace", "workspace", data["workspace"])["gid"]
        else:
            raise missing("workspace")
        now = self._now()
        gid = self._gid()
        notes = data.get("notes") or ""
        me = self.me_gid() or None
        task = {
            "gid": gid, "resource_subtype": data.get("resource_subtype", "default_task"),
            "name": str(data.get("name") or ""), "notes": notes,
            "html_notes": data.get("html_notes") or f"<body>{notes}</body>",
            "completed": bool(data.get("completed", False)), "completed_at": None, "completed_by": None,
            "assignee": self._user_ref("assignee", data.get("assignee")),
            "due_on": _check_date("due_on", data.get("due_on")),
            "due_at": _check_datetime("due_at", data.get("due_at")),
            "start_on": _check_date("start_on", data.get("start_on")),
            "start_at": _check_datetime("start_at", data.get("start_at")),
            "followers": [], "memberships": [], "parent": parent["gid"] if parent else None,
            "workspace": workspace, "external": self._external(data.get("external"), None),
            "created_at": now, "modified_at": now, "created_by": me,
        }
        followers = [me] if me else []
        if task["assignee"]:
            followers.append(task["assignee"])
        for f in data.get("followers") or []:
            followers.append(self._user_ref("followers", f))
        task["followers"] = list(dict.fromkeys(followers))
        if task["completed"]:
            task["completed_at"], task["completed_by"] = now, me
        for project_gid, section_gid in placements:
            self._place(task, project_gid, section_gid)
        self.db.put("task", gid, task)
        return task

    def _external(self, value: Any, current_gid: str | None) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise asana_error(400, "external: Must be an object")
        ext_gid = value.get("gid")
        if ext_gid is not None:
            owner = self._task_gid(f"external:{ext_gid}")
            if owner is not None and owner != current_gid:
                raise asana_error(400, f"external.gid: The external gid {ext_gid} is already in use")
        if value.get("data") is not None and not isinstance(value["data"], str):
            raise asana_error(400, "external.data: Must be a string")
        return {k: value[k] for k in ("gid", "data") if value.get(k) is not None}

    def _user_ref(self, field: str, ref: Any) -> str | None:
        if ref is None:
            return None
        if ref == "me":
            return self.me_gid()
        found = self.user_by_email(ref) if isinstance(ref, str) and "@" in ref else None
        return found["gid"] if found else self._ref(field, "user", ref)["gid"]

    def task(self, ref: str, opt_fields: set[str] | None = None) -> dict[str, Any]:
        return self.render_task(self._task(ref), opt_fields)

    def update_task(self, ref: str, data: dict[str, Any]) -> dict[str, Any]:
        t = self._task(ref)
        self._check_unknown(data, TASK_WRITABLE)
        if data.get("due_on") is not None and data.get("due_at") is not None:
            raise asana_error(400, "due_on: You may only provide one of due_on or due_at")
        if "due_on" in data:  # due_on and due_at are alternatives: setting one clears the other
            t["due_on"], t["due_at"] = _check_date("due_on", data["due_on"]), None
        if "due_at" in data:
            t["due_at"] = _check_datetime("due_at", data["due_at"])
            t["due_on"] = t["due_at"][:10] if t["due_at"] else None
        for field, check in (("start_on", _check_date), ("start_at", _check_datetime)):
            if field in data:
                t[field] = check(field, data[field])
        if "assignee" in data:
            t["assignee"] = self._user_ref("assignee", data["assignee"])
            if t["assignee"] and t["assignee"] not in t["followers"]:
                t["followers"].append(t["assignee"])
        if "external" in data:
            t["external"] = self._external(data["external"], t["gid"])
        if "completed" in data and bool(data["completed"]) != t["completed"]:
            self._set_completed(t, bool(data["completed"]), self.me_gid() or None)
        for field in ("name", "notes", "html_notes", "resource_subtype"):
            if field in data:
                t[field] = data[field] if data[field] is not None else ""
        if "notes" in data and "html_notes" not in data:
            t["html_notes"] = f"<body>{t['notes']}</body>"
        t["modified_at"] = self._now()
        self.db.put("task", t["gid"], t)
        return self.render_task(t)

    def _set_completed(self, t: dict[str, Any], completed: bool, by: str | None) -> None:
        t["completed"] = completed
        t["completed_at"] = self._now() if completed else None
        t["completed_by"] = by if completed else None

    def complete_task(self, ref: str, by: str | None) -> dict[str, Any]:
        """A colleague ticks the task off in Asana (a people route); adds Asana's system story."""
        t = self._task(ref)
        user = self._user_ref("by", by) if by else (t["assignee"] or self.me_gid())
        self._set_completed(t, True, user)
        t["modified_at"] = self._now()
        self.db.put("task", t["gid"], t)
        self._story(t, user, "marked this task complete", "marked_complete", "system")
        return self.render_task(t)

    def add_followers(self, ref: str, data: dict[str, Any]) -> dict[str, Any]:
        t = self._task(ref)
        followers = data.get("followers")
        if not followers:
            raise missing("followers")
        if isinstance(followers, str):
            followers = [f.strip() for f in followers.split(",") if f.strip()]
        for f in followers:
            gid = self._user_ref("followers", f)
            if gid not in t["followers"]:
                t["followers"].append(gid)
        self.db.put("task", t["gid"], t)
        return self.render_task(t)

    def tasks(self, *, project: str | None = None, section: str | None = None, assignee: str | None = None,
              workspace: str | None = None, completed_since: str | None = None) -> list[dict[str, Any]]:
        """The tasks of a project (section order), a section, or an assignee in a workspace."""
        if project is not None:
            p = self._ref("project", "project", project)
            gids = [g for sid in p["sections"] for g in self._get("section", sid)["tasks"]]
        elif section is not None:
            gids = list(self._ref("section", "section", section)["tasks"])
        elif assignee is not None and workspace is not None:
            user = self._user_ref("assignee", assignee)
            self._ref("workspace", "workspace", workspace)
            gids = [t["gid"] for t in self.db.list("task")
                    if t["assignee"] == user and t["workspace"] == workspace]
        else:
            raise asana_error(400, "Must specify exactly one of project, tag, section, user task list, "
                                   "or assignee + workspace")
        tasks = [self._get("task", g) for g in gids]
        if completed_since is not None:
            since = self.ctx.now().isoformat() if completed_since == "now" else completed_since
            _check_datetime("completed_since", since)
            tasks = [t for t in tasks if not t["completed"] or (t["completed_at"] or "") >= _norm(since)]
        return tasks

    # -- stories -------------------------------------------------------------------------------

    def _story(self, t: dict[str, Any], by: str | None, text: str, subtype: str, type_: str) -> dict[str, Any]:
        gid = self._gid()
        return self.db.put("story", gid, {"gid": gid, "task": t["gid"], "created_by": by, "text": text,
                                          "resource_subtype": subtype, "type": type_,
                                          "created_at": self._now()})

    def render_story(self, s: dict[str, Any]) -> dict[str, Any]:
        return {"gid": s["gid"], "resource_type": "story", "resource_subtype": s["resource_subtype"],
                "type": s["type"], "text": s["text"], "html_text": f"<body>{s['text']}</body>",
                "created_at": s["created_at"], "created_by": self._compact("user", s["created_by"]),
                "is_pinned": False, "is_edited": False, "hearted": False, "hearts": [], "num_hearts": 0,
                "liked": False, "likes": [], "num_likes": 0, "previews": [], "source": "api",
                "target": self._compact("task", s["task"])}

    def add_comment(self, ref: str, data: dict[str, Any], by: str | None = None) -> dict[str, Any]:
        t = self._task(ref)
        text = data.get("text") or data.get("html_text")
        if not text:
            raise missing("text")
        author = self._user_ref("by", by) if by else (self.me_gid() or None)
        return self.render_story(self._story(t, author, str(text), "comment_added", "comment"))

    def stories(self, ref: str) -> list[dict[str, Any]]:
        t = self._task(ref)
        return [self.render_story(s) for s in self.db.list("story") if s["task"] == t["gid"]]

    # -- misc ----------------------------------------------------------------------------------

    @staticmethod
    def _check_unknown(data: dict[str, Any], allowed: set[str]) -> None:
        for field in data:
            if field not in allowed and field not in ("gid", "resource_type"):
                raise asana_error(400, f"{field}: Unknown property")


def _stamp(dt: datetime) -> str:
    """Asana's timestamp form, e.g. ``2012-02-22T02:06:58.147Z`` (UTC, milliseconds)."""
    dt = dt.astimezone(UTC) if dt.tzinfo else dt
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _norm(ts: str) -> str:
    """An ISO time in the form stored timestamps use, so they compare as strings."""
    return _stamp(datetime.fromisoformat(ts.replace("Z", "+00:00")))
