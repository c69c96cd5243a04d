"""Every vendor client, built in one place: against the sandbox or live, by the settings' mode."""

from __future__ import annotations

from dataclasses import dataclass

from . import asana, google, hubspot, slack, zoom

SANDBOX_TOKEN = "sandbox-token"  # the sandbox accepts any bearer token; this one says where it came from


@dataclass(frozen=True)
class Clients:
    hubspot: hubspot.HubSpotCRM
    asana: asana.AsanaProjects
    drive: google.Drive
    forms: google.Forms
    gmail: google.Gmail
    calendar: google.Calendar
    slack: slack.SlackChat
    zoom: zoom.ZoomMeetings


def sandbox_clients(urls: dict[str, str]) -> Clients:
    """Clients for a sandbox whose SDK base URLs are ``urls`` (``SandboxServer.urls``)."""
    g = google.connect(google.sandbox_credentials(), root_url=google.root_from_sandbox_urls(urls))
    return Clients(
        hubspot=hubspot.connect(SANDBOX_TOKEN, base_url=urls["hubspot"]),
        asana=asana.connect(SANDBOX_TOKEN, base_url=urls["asana"]),
        drive=g.drive,
        forms=g.forms,
        gmail=g.gmail,
        calendar=g.calendar,
        slack=slack.connect(SANDBOX_TOKEN, base_url=urls["slack"]),
        zoom=zoom.connect(
            "sandbox-account", "sandbox-client", SANDBOX_TOKEN,
            base_url=urls["zoom"], oauth_url=urls["zoom-oauth"],
        ),
    )
