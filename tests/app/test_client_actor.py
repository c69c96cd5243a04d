"""The simulated client answers a form only once it is published (a real client cannot open it before),
and a form it cannot answer never stops it."""

from __future__ import annotations

import httpx

from app.people import INTAKE_ANSWERS, ClientActor
from app.sandbox import sandbox_server
from services.clients import sandbox_clients


def test_the_client_waits_for_the_form_to_be_published():
    title = "Client intake form — Waiting Co"
    with sandbox_server(rate_limits="off") as sandbox, httpx.Client(base_url=sandbox.root, timeout=30) as http:
        forms = sandbox_clients(sandbox.root).forms
        service = forms._resource("forms")
        made = service.create(body={"info": {"title": title}}).execute()
        service.batchUpdate(formId=made["formId"], body={"requests": [{"createItem": {"item": {
            "title": next(iter(INTAKE_ANSWERS)), "questionItem": {"question": {"textQuestion": {}}}},
            "location": {"index": 0}}}]}).execute()
        actor = ClientActor(sandbox.root, "md@waiting.example", INTAKE_ANSWERS, company="Waiting Co")
        assert actor.act_once(http) == []  # unpublished: nothing to answer yet, and no error
        service.setPublishSettings(formId=made["formId"], body={"publishSettings": {"publishState": {
            "isPublished": True, "isAcceptingResponses": True}}}).execute()
        assert actor.act_once(http) == [f"[client] filled in the form '{title}'"]
        assert len(forms.responses(made["formId"])) == 1
