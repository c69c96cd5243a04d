"""Asana contract: integrations.asana (on the official SDK) against the sandbox's Asana emulation.

Responses are validated against Asana's published OpenAPI (shared/specs/asana/asana_oas.yaml).
The sandbox is shared by the session and never reset, so every test names its own objects.
"""

from __future__ import annotations

import itertools
import json
import time
from datetime import date, timedelta

import httpx
import pytest
import urllib3
from asana.rest import ApiException, RESTResponse

from integrations import asana as asana_int
from integrations.errors import Conflict, IntegrationError, InvalidInput, NotFound, RateLimited, Transient
from tests.integrations.specs import validate_asana

TOKEN = "sandbox-token"
ADMIN = "admin@sandbox.example"  # the sandbox's default team member, so Asana's "me"
_n = itertools.count(1)


def unique(label: str) -> str:
    return f"{label} {time.time_ns()}-{next(_n)}"


@pytest.fixture
def base(sandbox) -> str:
    return sandbox.urls["asana"]


@pytest.fixture
def asana(base) -> asana_int.AsanaProjects:
    return asana_int.connect(TOKEN, base_url=base, poll_interval=0.01)


@pytest.fixture
def raw(base):
    """Plain HTTP to the emulated API, for status codes, headers and whole bodies."""
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
        yield client


@pytest.fixture
def team(asana) -> str:
    return asana.team_gid("Client Services")


# --- connect


def test_a_workers_runs_share_what_they_looked_up_about_the_account(base, sandbox):
    """People, teams and the workspace are asked once per worker (for ACCOUNT_TTL), not once per run."""
    import httpx

    first = asana_int.connect(TOKEN, base_url=base)
    first.team_gid("Client Services"), first.user_by_email(ADMIN)
    httpx.post(f"{sandbox.root}/_sandbox/stats/reset").raise_for_status()
    second = asana_int.connect(TOKEN, base_url=base)  # the next run's client
    assert second.team_gid("Client Services") == first.team_gid("Client Services")
    assert second.user_by_email(ADMIN) == first.user_by_email(ADMIN)
    assert httpx.get(f"{sandbox.root}/_sandbox/calls").json() == []
    other = asana_int.connect("another-token", base_url=base)  # another account (token): its own lookups
    other.user_by_email(ADMIN)
    assert len(httpx.get(f"{sandbox.root}/_sandbox/calls").json()) == 1


# --- operations


def test_me_users_and_workspace(asana, raw):
    me = asana.me()
    assert (me.name, me.email) == ("Sandbox Admin", ADMIN)
    assert me.gid.isdigit() and len(me.gid) == 16  # Asana gids: numeric strings
    assert asana.user_by_email(ADMIN) == me.gid
    assert asana.user_by_email("nobody@nowhere.example") is None

    user = raw.get("/users/me").json()["data"]
    validate_asana(user, "UserResponse")
    assert user["gid"] == me.gid and user["workspaces"][0]["gid"] == asana.workspace_gid
    ws = raw.get(f"/workspaces/{asana.workspace_gid}").json()["data"]
    validate_asana(ws, "WorkspaceResponse")
    assert ws["name"] == "Sandbox Org" and ws["is_organization"] is True
    listed = raw.get("/users", params={"workspace": ws["gid"]}).json()["data"]
    assert me.gid in [u["gid"] for u in listed]


def test_team_lookup(asana, raw, team):
    validate_asana(raw.get(f"/teams/{team}").json()["data"], "TeamResponse")
    with pytest.raises(NotFound):
        asana.team_gid("No such team")


def test_instantiate_template_waits_for_the_job(asana, raw, team):
    name = unique("Globex onboarding")
    start = date(2030, 5, 6)
    project = asana.instantiate_template("Client onboarding plan", name, team, start)
    assert (project.name, project.team_gid, project.start_on) == (name, team, "2030-05-06")
    sections = [s["name"] for s in raw.get(f"/projects/{project.gid}/sections").json()["data"]]
    assert sections == ["Kick-off", "Set-up", "Go-live"]
    tasks = {t.name: t for t in asana.list_tasks(project.gid)}
    assert tasks["Schedule kick-off call"].due_on == (start + timedelta(days=2)).isoformat()
    assert tasks["Go-live review"].due_on == (start + timedelta(days=21)).isoformat()
    assert len(tasks) == 5
    # a re-run returns the same project instead of a second one
    assert asana.instantiate_template("Client onboarding plan", name, team, start).gid == project.gid
    with pytest.raises(NotFound):
        asana.instantiate_template("No such template", unique("x"), team, start)


def test_instantiate_job_and_a_template_made_by_a_colleague(asana, raw, team, sandbox):
    r = httpx.post(f"{sandbox.root}/_sandbox/asana/project_templates", json={
        "name": unique("Short plan"), "team": team,
        "sections": [{"name": "Only", "tasks": [{"name": "First call", "due_offset_days": 1}]}]})
    assert r.status_code == 201
    template = r.json()["data"]
    validate_asana(template, "ProjectTemplateResponse")
    assert any(t["gid"] == template["gid"] for t in raw.get("/project_templates", params={"team": team}).json()["data"])

    r = raw.post(f"/project_templates/{template['gid']}/instantiateProject", json={"data": {
        "name": unique("From short plan"), "requested_dates": [{"gid": "1", "value": "2030-07-01"}]}})
    assert r.status_code == 201
    job = r.json()["data"]
    validate_asana(job, "JobResponse")
    assert (job["resource_type"], job["status"]) == ("job", "in_progress")
    polled = raw.get(f"/jobs/{job['gid']}").json()["data"]
    validate_asana(polled, "JobResponse")
    assert polled["status"] == "succeeded" and polled["new_project"]["gid"] == job["new_project"]["gid"]

    project = asana.instantiate_template(template["gid"], unique("By gid"), team, "2030-07-01")
    assert [(t.name, t.due_on) for t in asana.list_tasks(project.gid)] == [("First call", "2030-07-02")]


def test_sections_tasks_followers_and_comments(asana, raw, team):
    project = asana.find_or_create_project(unique("Initech onboarding"), team)
    kickoff = asana.find_or_create_section(project.gid, "Kick-off")
    assert asana.find_or_create_section(project.gid, "Kick-off") == kickoff
    assert kickoff.project_gid == project.gid
    validate_asana(raw.get(f"/sections/{kickoff.gid}").json()["data"], "SectionResponse")
    me = asana.me()

    ext = unique("onboard-task").replace(" ", "-")
    task = asana.find_or_create_task(project.gid, "Kick-off call", section_gid=kickoff.gid, assignee_gid=me.gid,
                                     due_on=date(2030, 1, 10), notes="Agenda attached", external_gid=ext)
    assert (task.name, task.assignee_gid, task.due_on, task.notes) == ("Kick-off call", me.gid, "2030-01-10",
                                                                       "Agenda attached")
    assert (task.section_gids, task.external_gid) == ((kickoff.gid,), ext)
    # found again by its external gid, even under another name
    assert asana.find_or_create_task(project.gid, "Renamed", external_gid=ext).gid == task.gid
    assert asana.get_task(f"external:{ext}").gid == task.gid
    # without an external gid: found by name in the project
    plain = asana.find_or_create_task(project.gid, "Send welcome pack")
    assert asana.find_or_create_task(project.gid, "Send welcome pack").gid == plain.gid
    assert plain.external_gid is None and len(plain.section_gids) == 1  # the project's first section

    body = raw.get(f"/tasks/{task.gid}").json()["data"]
    validate_asana(body, "TaskResponse")
    assert body["external"]["gid"] == ext and body["memberships"][0]["section"]["gid"] == kickoff.gid
    plain_body = raw.get(f"/tasks/{plain.gid}").json()["data"]
    assert "external" not in plain_body  # only when set or asked for
    assert raw.get(f"/tasks/{plain.gid}", params={"opt_fields": "external"}).json()["data"]["external"] is None

    moved = asana.update_task(task.gid, due_on="2030-01-12", completed=True, name="Kick-off call (done)")
    assert (moved.due_on, moved.completed, moved.name) == ("2030-01-12", True, "Kick-off call (done)")
    asana.add_task_to_section(kickoff.gid, plain.gid)
    assert asana.get_task(plain.gid).section_gids == (kickoff.gid,)
    section_tasks = raw.get(f"/sections/{kickoff.gid}/tasks").json()["data"]
    assert [t["gid"] for t in section_tasks] == [plain.gid, task.gid]  # addTask puts it at the top

    other = raw.post("/tasks", json={"data": {"name": "helper", "workspace": asana.workspace_gid}}).json()["data"]
    followed = asana.add_followers(plain.gid, [me.gid])
    assert followed.gid == plain.gid
    r = raw.post(f"/tasks/{plain.gid}/addFollowers", json={"data": {"followers": [me.gid]}})
    assert r.status_code == 200 and [f["gid"] for f in r.json()["data"]["followers"]] == [me.gid]
    validate_asana(r.json()["data"], "TaskResponse")
    assert other["workspace"]["gid"] == asana.workspace_gid

    comment = asana.add_comment(plain.gid, "Welcome pack sent.")
    assert (comment.text, comment.author_gid) == ("Welcome pack sent.", me.gid)
    stories = raw.get(f"/tasks/{plain.gid}/stories", params={"opt_fields": "text,created_by,resource_subtype"})
    story = next(s for s in stories.json()["data"] if s["gid"] == comment.gid)
    validate_asana(story, "StoryResponse")
    assert story["resource_subtype"] == "comment_added"


def test_colleague_completes_a_task(asana, raw, team, sandbox):
    project = asana.find_or_create_project(unique("Ticked"), team)
    task = asana.find_or_create_task(project.gid, "Collect documents")
    open_task = asana.find_or_create_task(project.gid, "Still open")
    r = httpx.post(f"{sandbox.root}/_sandbox/asana/tasks/{task.gid}/complete", json={"by": ADMIN})
    assert r.status_code == 200
    assert asana.get_task(task.gid).completed is True
    remaining = raw.get(f"/projects/{project.gid}/tasks", params={"completed_since": "now"}).json()["data"]
    assert [t["gid"] for t in remaining] == [open_task.gid]
    stories = raw.get(f"/tasks/{task.gid}/stories").json()["data"]
    assert stories[-1]["text"] == "marked this task complete"


# --- idempotency


def test_find_or_create_project_is_idempotent_and_updatable(asana, raw, team):
    name = unique("Acme onboarding")
    project = asana.find_or_create_project(name, team, notes="Client: Acme", start_on="2030-01-06",
                                           due_on=date(2030, 2, 28))
    assert (project.name, project.team_gid, project.notes) == (name, team, "Client: Acme")
    assert (project.start_on, project.due_on, project.archived) == ("2030-01-06", "2030-02-28", False)
    assert asana.find_or_create_project(name, team, notes="other") == project
    assert asana.find_project(name) == project
    assert asana.find_project(unique("missing")) is None

    body = raw.get(f"/projects/{project.gid}").json()["data"]
    validate_asana(body, "ProjectResponse")
    assert body["team"]["gid"] == team and body["workspace"]["gid"] == asana.workspace_gid

    updated = asana.update_project(project.gid, due_on=date(2030, 3, 31), notes="Client: Acme Ltd")
    assert (updated.gid, updated.due_on, updated.notes) == (project.gid, "2030-03-31", "Client: Acme Ltd")
    with pytest.raises(NotFound):
        asana.update_project("1111111111111111", notes="x")
    with pytest.raises(InvalidInput):
        asana.update_project(project.gid, colour="red")


# --- errors


def api_error(status: int, body: dict, headers: dict | None = None) -> ApiException:
    """The SDK's exception for an HTTP answer, built as the SDK builds it."""
    answer = urllib3.HTTPResponse(body=json.dumps(body).encode(), status=status, headers=headers or {})
    return ApiException(http_resp=RESTResponse(answer))


def test_translate_maps_status_and_body_to_our_errors():
    gone = asana_int.translate(api_error(404, {"errors": [{"message": "Unknown object: 1234"}]}))
    assert isinstance(gone, NotFound) and gone.status == 404 and gone.detail == "Unknown object: 1234"
    assert isinstance(asana_int.translate(api_error(409, {"errors": [{"message": "Conflict"}]})), Conflict)
    limited = asana_int.translate(api_error(429, {"errors": [{"message": "You've made too many requests"}]},
                                            {"Retry-After": "30"}))
    assert isinstance(limited, RateLimited) and limited.retry_after == 30.0
    down = asana_int.translate(api_error(503, {"errors": [{"message": "Server Error", "phrase": "6 sad squid"}]}))
    assert isinstance(down, Transient) and down.status == 503
    bad = asana_int.translate(api_error(400, {"errors": [{"message": "workspace: Missing input"}]}))
    assert isinstance(bad, InvalidInput) and bad.detail == "workspace: Missing input"
    refused = asana_int.translate(api_error(401, {"errors": [{"message": "Not Authorized"}]}))
    assert type(refused) is IntegrationError and refused.status == 401  # a bad token is not the input's fault
    assert isinstance(asana_int.translate(urllib3.exceptions.ReadTimeoutError(None, "/users/me", "timed out")),
                      Transient)
    other = KeyError("not the vendor's")
    assert asana_int.translate(other) is other


def test_project_errors_have_asanas_shape(asana, raw, team, base):
    r = raw.post("/projects", json={"data": {"name": unique("no place")}})
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"] == "workspace: Missing input"
    assert "help" in r.json()["errors"][0] and "phrase" not in r.json()["errors"][0]
    # an organization's projects must belong to a team
    r = raw.post("/projects", json={"data": {"name": unique("no team"), "workspace": asana.workspace_gid}})
    assert (r.status_code, r.json()["errors"][0]["message"]) == (400, "team: Missing input")
    r = raw.post("/projects", json={"data": {"name": unique("created"), "team": team}})
    assert r.status_code == 201
    validate_asana(r.json()["data"], "ProjectResponse")
    r = raw.get("/projects/1234")
    assert (r.status_code, r.json()["errors"][0]["message"]) == (404, "Unknown object: 1234")
    r = httpx.get(base + "/users/me")
    assert (r.status_code, r.json()) == (401, {"errors": [{"message": "Not Authorized"}]})


def test_task_errors(asana, raw, team):
    project = asana.find_or_create_project(unique("Errors"), team)
    with pytest.raises(InvalidInput, match="Not a recognized ID"):
        asana.find_or_create_task(project.gid, "bad assignee", assignee_gid="9999999999999999")
    with pytest.raises(NotFound):
        asana.update_task("9999999999999999", completed=True)
    with pytest.raises(NotFound):
        asana.get_task("external:never-set")
    with pytest.raises(InvalidInput):
        asana.update_task("1", colour="red")
    r = raw.post("/tasks", json={"data": {"name": "no place"}})
    assert (r.status_code, r.json()["errors"][0]["message"]) == (400, "workspace: Missing input")
    r = raw.post("/tasks", json={"data": {"name": "both dates", "projects": [project.gid],
                                          "due_on": "2030-01-01", "due_at": "2030-01-01T10:00:00Z"}})
    assert r.status_code == 400 and "due_on" in r.json()["errors"][0]["message"]
    r = raw.post("/sections/1/addTask", json={"data": {"task": "1"}})
    assert (r.status_code, r.json()["errors"][0]["message"]) == (404, "Unknown object: 1")


# --- retries and rate limits


def test_rate_limit_burst_waits_and_succeeds(asana, raw, vendor_limits):
    # 150 requests a minute per token; the window is 12 s here (x0.2)
    statuses = []
    for _ in range(160):
        r = raw.get("/users/me")
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    assert statuses[-1] == 429 and statuses.count(200) == 150
    assert r.json() == {"errors": [{"message": "You've made too many requests and hit a rate limit. "
                                               "Please retry after the given amount of time."}]}
    assert 1 <= int(r.headers["Retry-After"]) <= 12
    started = time.monotonic()
    assert asana.me().email == ADMIN  # waited Retry-After, then went through
    assert time.monotonic() - started >= 0.9


def test_rate_limit_honours_retry_after_without_sdk_retries(base, faults):
    sleeps: list[float] = []
    client = asana_int.connect(TOKEN, base_url=base, sleep=sleeps.append)
    faults("asana", rate_limit=1.0)
    with pytest.raises(RateLimited) as exc:
        client.me()
    assert exc.value.retry_after == 1.0
    assert sleeps == [1.0] * 5  # integrations.retry waited; the SDK's urllib3 did not retry on its own


def test_server_errors_map_to_transient_and_creates_are_not_retried(base, raw, faults):
    sleeps: list[float] = []
    client = asana_int.connect(TOKEN, base_url=base, sleep=sleeps.append)
    me = client.me()
    task = raw.post("/tasks", json={"data": {"name": unique("commented"), "workspace": client.workspace_gid}})
    task_gid = task.json()["data"]["gid"]
    faults("asana", server_error=1.0)
    r = raw.get("/users/me")
    assert r.status_code == 500 and r.json()["errors"][0]["phrase"]
    with pytest.raises(Transient):
        client.me()  # a read: retried
    assert len(sleeps) == 5
    sleeps.clear()
    with pytest.raises(Transient):
        client.add_comment(task_gid, "hello")  # a plain create: not retried
    assert sleeps == []
    faults("asana", unavailable=1.0)
    with pytest.raises(Transient):  # someone this worker has not looked up yet (lookups are kept: Account)
        client.user_by_email(f"new-{time.time_ns()}@{me.email.split('@')[1]}")


# --- pagination


def test_pagination_past_one_page(asana, raw, team, base):
    project = asana.find_or_create_project(unique("Paged"), team)
    names = [f"step {i}" for i in range(5)]
    for n in names:
        asana.find_or_create_task(project.gid, n)
    paged = asana_int.connect(TOKEN, base_url=base, page_size=2)
    assert [t.name for t in paged.list_tasks(project.gid)] == names

    first = raw.get("/tasks", params={"project": project.gid, "limit": 2}).json()
    assert [t["name"] for t in first["data"]] == names[:2]
    assert set(first["data"][0]) == {"gid", "name", "resource_type", "resource_subtype"}  # compact
    nxt = first["next_page"]
    assert set(nxt) == {"offset", "path", "uri"} and nxt["uri"].endswith(nxt["path"])
    assert nxt["path"].startswith("/tasks?")
    second = raw.get(nxt["uri"]).json()
    assert [t["name"] for t in second["data"]] == names[2:4]
    last = raw.get("/tasks", params={"project": project.gid, "limit": 2, "offset": second["next_page"]["offset"]})
    assert last.json()["next_page"] is None and [t["name"] for t in last.json()["data"]] == names[4:]
    assert "next_page" not in raw.get(f"/projects/{project.gid}/tasks").json()  # only when limit is sent
    assert raw.get("/tasks", params={"project": project.gid, "limit": 0}).status_code == 400
    assert raw.get("/tasks", params={"project": project.gid, "offset": "garbage"}).status_code == 400
    assert raw.get("/tasks").status_code == 400
