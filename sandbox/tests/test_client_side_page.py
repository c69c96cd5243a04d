"""The client's side in a browser: the sandbox page lists the unanswered forms and invitations; a form
opens as a page that refuses a missing answer (keeping what was typed) and records a complete one; an
invitation is answered with a button."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from googleapiclient.errors import HttpError


def _intake_form(c, tag: str) -> str:
    form = c.forms.forms().create(body={"info": {"title": f"Intake {tag}"}}).execute()
    c.forms.forms().batchUpdate(formId=form["formId"], body={"requests": [
        {"createItem": {"item": {"title": "Your goals?", "questionItem": {"question": {
            "required": True, "textQuestion": {"paragraph": True}}}}, "location": {"index": 0}}},
        {"createItem": {"item": {"title": "How do you prefer to talk?", "questionItem": {"question": {
            "required": True, "choiceQuestion": {"type": "RADIO", "options": [{"value": "Email"}, {"value": "Slack"}]}}}},
            "location": {"index": 1}}},
        {"updateSettings": {"settings": {"emailCollectionType": "RESPONDER_INPUT"}, "updateMask": "emailCollectionType"}},
    ]}).execute()
    return form["formId"]


def _publish(c, form_id: str) -> dict:
    return c.forms.forms().setPublishSettings(formId=form_id, body={
        "publishSettings": {"publishState": {"isPublished": True, "isAcceptingResponses": True}}}).execute()


def test_a_form_made_through_the_api_takes_no_answer_until_published(sandbox, sdks):
    """Forms created through the API after 30 June 2026 are unpublished until forms.setPublishSettings."""
    tag = uuid.uuid4().hex[:8]
    c = sdks(sandbox.root)
    form_id = _intake_form(c, tag)
    assert c.forms.forms().get(formId=form_id).execute()["publishSettings"]["publishState"] == {
        "isPublished": False, "isAcceptingResponses": False}
    web = httpx.Client(base_url=sandbox.root)
    link = f'href="/_sandbox/google/forms/{form_id}/respond"'
    assert link not in web.get("/").text  # not on the client's list
    refused = web.post(f"/_sandbox/google/forms/{form_id}/responses", json={"answers": {"Your goals?": "x"}})
    assert refused.status_code == 400 and "not published" in refused.text

    with pytest.raises(HttpError) as bad:  # both fields of publishState are required
        c.forms.forms().setPublishSettings(formId=form_id, body={
            "publishSettings": {"publishState": {"isPublished": True}}}).execute()
    assert bad.value.resp.status == 400 and json.loads(bad.value.content)["error"]["status"] == "INVALID_ARGUMENT"
    # unpublished forces "not accepting responses"
    assert c.forms.forms().setPublishSettings(formId=form_id, body={"publishSettings": {"publishState": {
        "isPublished": False, "isAcceptingResponses": True}}}).execute()["publishSettings"]["publishState"][
        "isAcceptingResponses"] is False
    assert _publish(c, form_id) == {"formId": form_id, "publishSettings": {"publishState": {
        "isPublished": True, "isAcceptingResponses": True}}}
    assert link in web.get("/").text


def test_a_client_fills_in_a_form_from_the_sandbox_page(sandbox, sdks):
    tag = uuid.uuid4().hex[:8]
    c = sdks(sandbox.root)
    form_id = _intake_form(c, tag)
    _publish(c, form_id)
    web = httpx.Client(base_url=sandbox.root, follow_redirects=False)

    page = web.get("/").text
    link = f"/_sandbox/google/forms/{form_id}/respond"
    assert f'href="{link}"' in page and f"Intake {tag}" in page

    blank = web.get(link)
    assert blank.status_code == 200 and "Your goals?" in blank.text and 'value="Slack"' in blank.text
    questions = re.findall(r'name="([0-9a-f]{8})"', blank.text)
    goals, talk = questions[0], questions[-1]

    # the choice left out: refused with the vendor's reason, the typed answer still there
    refused = web.post(link, data={goals: f"Grow {tag}", "respondentEmail": f"ada-{tag}@client.example"})
    assert refused.status_code == 400
    assert "Required question(s) unanswered: How do you prefer to talk?" in refused.text
    assert f"Grow {tag}" in refused.text
    assert c.forms.forms().responses().list(formId=form_id).execute().get("responses", []) == []

    done = web.post(link, data={goals: f"Grow {tag}", talk: "Slack", "respondentEmail": f"ada-{tag}@client.example"})
    assert done.status_code == 200 and "Your response has been recorded" in done.text
    (response,) = c.forms.forms().responses().list(formId=form_id).execute()["responses"]
    assert response["respondentEmail"] == f"ada-{tag}@client.example"
    assert {a["textAnswers"]["answers"][0]["value"] for a in response["answers"].values()} == {f"Grow {tag}", "Slack"}
    assert f'href="{link}"' not in web.get("/").text  # answered: no longer on the client's list


def test_a_client_answers_an_invitation_from_the_sandbox_page(sandbox, sdks):
    tag = uuid.uuid4().hex[:8]
    c = sdks(sandbox.root)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    event = c.calendar.events().insert(calendarId="primary", sendUpdates="all", body={
        "summary": f"Discovery {tag}", "start": {"dateTime": start.isoformat()},
        "end": {"dateTime": (start + timedelta(minutes=45)).isoformat()},
        "attendees": [{"email": f"ada-{tag}@client.example"}]}).execute()
    web = httpx.Client(base_url=sandbox.root, follow_redirects=False)

    page = web.get("/").text
    action = re.search(rf'action="([^"]*/events/{event["id"]}/answer)"', page)
    assert action and f"Discovery {tag}" in page
    answered = web.post(action.group(1), data={"email": f"ada-{tag}@client.example", "responseStatus": "accepted"})
    assert answered.status_code == 303 and answered.headers["location"] == "/"
    guest = c.calendar.events().get(calendarId="primary", eventId=event["id"]).execute()["attendees"][0]
    assert guest["responseStatus"] == "accepted"
    assert f'/events/{event["id"]}/answer' not in web.get("/").text
