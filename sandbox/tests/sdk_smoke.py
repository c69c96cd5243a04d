"""Drive every vendor of a running sandbox with nothing but the official SDKs.

    uv run onboard sandbox --port 8765 &
    uv run python sandbox/tests/sdk_smoke.py http://127.0.0.1:8765

Prints what each vendor answered and exits non-zero if anything is off. Uses no project code:
it is what a newcomer would write against the URLs `onboard sandbox` prints.
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from importlib import resources

import asana
import httpx
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build, build_from_document
from googleapiclient.http import MediaInMemoryUpload
from hubspot import HubSpot
from hubspot.crm.contacts import SimplePublicObjectInputForCreate
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from zoomus import ZoomClient

TOKEN = "sandbox-token"


def main(root: str) -> int:
    root = root.rstrip("/")
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    seen: dict[str, str] = {}

    # HubSpot: create a contact, then the same email again -> 409 with the existing id.
    hs = HubSpot(access_token=TOKEN, host=f"{root}/hubspot")
    email = f"ada.{stamp}@example.com"
    contact = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": email, "firstname": "Ada"})
    )
    try:
        hs.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"email": email}))
        raise SystemExit("HubSpot accepted a duplicate contact")
    except ContactsApiException as exc:
        assert exc.status == 409, exc.status
        assert f"Existing ID: {contact.id}" in json.loads(exc.body)["message"]
    seen["hubspot contact"] = contact.id

    # Asana: a project in the first team, with two tasks.
    cfg = asana.Configuration()
    cfg.host = f"{root}/asana/api/1.0"
    cfg.access_token = TOKEN
    api = asana.ApiClient(cfg)
    workspace = next(iter(asana.WorkspacesApi(api).get_workspaces({})))["gid"]
    team = next(iter(asana.TeamsApi(api).get_teams_for_workspace(workspace, {})))["gid"]
    project = asana.ProjectsApi(api).create_project(
        {"data": {"name": f"Smoke {stamp}", "team": team, "workspace": workspace}}, {}
    )
    for name in ("Kick-off", "Plan"):
        asana.TasksApi(api).create_task({"data": {"name": name, "projects": [project["gid"]]}}, {})
    tasks = list(asana.TasksApi(api).get_tasks_for_project(project["gid"], {}))
    assert len(tasks) == 2, tasks
    seen["asana project"] = project["gid"]

    # Google: the SDK derives upload and batch URLs from the discovery document's rootUrl, so the
    # bundled document is given the sandbox as rootUrl (api_endpoint alone would keep https uploads).
    creds = Credentials(token=TOKEN)

    def google(api_name: str, version: str):
        path = resources.files("googleapiclient") / "discovery_cache" / "documents" / f"{api_name}.{version}.json"
        doc = json.loads(path.read_text())
        doc["rootUrl"] = doc["mtlsRootUrl"] = f"{root}/google/"
        return build_from_document(doc, credentials=creds)

    drive = google("drive", "v3")
    folder = drive.files().create(
        body={"name": f"Smoke {stamp}", "mimeType": "application/vnd.google-apps.folder"}
    ).execute()
    doc = drive.files().create(
        body={"name": "Hello", "parents": [folder["id"]], "mimeType": "application/vnd.google-apps.document"},
        media_body=MediaInMemoryUpload(b"<h1>Hello from the sandbox</h1>", mimetype="text/html"),
    ).execute()
    text = drive.files().export(fileId=doc["id"], mimeType="text/plain").execute()
    assert b"Hello from the sandbox" in text, text
    seen["drive doc"] = doc["id"]

    # Forms and Calendar need no upload: plain api_endpoint works.
    forms = build("forms", "v1", credentials=creds, client_options={"api_endpoint": f"{root}/google/"},
                  static_discovery=True)
    form = forms.forms().create(body={"info": {"title": "Intake"}}).execute()
    forms.forms().batchUpdate(formId=form["formId"], body={"requests": [{"createItem": {
        "item": {"title": "Your goals?", "questionItem": {"question": {"textQuestion": {"paragraph": True}}}},
        "location": {"index": 0}}}]}).execute()
    assert len(forms.forms().get(formId=form["formId"]).execute()["items"]) == 1
    seen["form"] = form["formId"]

    gmail = google("gmail", "v1")
    msg = EmailMessage()
    msg["To"], msg["Subject"] = email, f"Smoke {stamp}"
    msg.set_content("Hello")
    sent = gmail.users().messages().send(
        userId="me", body={"raw": base64.urlsafe_b64encode(msg.as_bytes()).decode()}
    ).execute()
    seen["gmail message"] = sent["id"]

    calendar = build("calendar", "v3", credentials=creds,
                     client_options={"api_endpoint": f"{root}/google/calendar/v3/"}, static_discovery=True)
    start = datetime.now(UTC) + timedelta(days=1)
    event = calendar.events().insert(calendarId="primary", sendUpdates="all", body={
        "summary": "Smoke call", "attendees": [{"email": email}],
        "start": {"dateTime": start.isoformat()}, "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
    }).execute()
    seen["calendar event"] = event["id"]

    # Slack: a name with a capital and a space is refused, a valid one is created.
    slack = WebClient(token=TOKEN, base_url=f"{root}/slack/api/")
    try:
        slack.conversations_create(name="Acme Corp")
        raise SystemExit("Slack accepted 'Acme Corp'")
    except SlackApiError as exc:
        assert exc.response["error"] == "invalid_name_specials", exc.response["error"]
    channel = slack.conversations_create(name=f"acme-corp-{stamp}")["channel"]
    seen["slack channel"] = channel["id"]

    # Zoom: server-to-server token, then a meeting.
    zoom = ZoomClient("client-id", "client-secret", "account-id",
                      base_uri=f"{root}/zoom/v2", oauth_uri=f"{root}/zoom/oauth/token")
    r = zoom.meeting.create(user_id="me", topic="Smoke call", type=2, start_time=start, duration=30)
    assert r.status_code == 201, r.text
    seen["zoom meeting"] = str(r.json()["id"])

    # Each of them is in the sandbox's state.
    state = httpx.get(f"{root}/_sandbox/state").text
    for what, ident in seen.items():
        found = ident in state
        print(f"{what:16} {ident:40} {'in /_sandbox/state' if found else 'MISSING from state'}")
        if not found:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8765"))
