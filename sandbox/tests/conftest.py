"""The sandbox's own tests: one sandbox for the session, rate limits off (tests that need them turn them on).

They use nothing of the client-onboarding project: only ``vendor_sandbox``, the vendors' official SDKs and httpx.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asana
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build_from_document
from hubspot import HubSpot
from slack_sdk import WebClient
from vendor_sandbox import SandboxConfig, SandboxServer
from zoomus import ZoomClient

TOKEN = "sandbox-token"  # any bearer token is accepted; tests look for it where it must not appear


@dataclass
class Sdks:
    """The official SDK clients pointed at one sandbox, built as the vendors document them."""

    hubspot: HubSpot
    asana: asana.ApiClient
    drive: Any  # googleapiclient Resources
    forms: Any
    gmail: Any
    calendar: Any
    slack: WebClient
    zoom: ZoomClient  # fetches its server-to-server token when built


def official_sdks(root: str, token: str = TOKEN) -> Sdks:
    """Clients for the sandbox at ``root``; ``token`` is every vendor's credential (Zoom's client secret)."""
    cfg = asana.Configuration()
    cfg.host = f"{root}/asana/api/1.0"
    cfg.access_token = token
    cfg.retry_strategy = False  # tests see each answer (the SDK's default retries 5xx five times with backoff)
    creds = Credentials(token=token)

    def google(api: str, version: str) -> Any:
        # the SDK derives upload URLs from the discovery document's rootUrl, so the bundled one gets the sandbox's
        path = resources.files("googleapiclient") / "discovery_cache" / "documents" / f"{api}.{version}.json"
        doc = json.loads(path.read_text())
        doc["rootUrl"] = doc["mtlsRootUrl"] = f"{root}/google/"
        return build_from_document(doc, credentials=creds)

    return Sdks(
        hubspot=HubSpot(access_token=token, host=f"{root}/hubspot"),
        asana=asana.ApiClient(cfg),
        drive=google("drive", "v3"),
        forms=google("forms", "v1"),
        gmail=google("gmail", "v1"),
        calendar=google("calendar", "v3"),
        slack=WebClient(token=token, base_url=f"{root}/slack/api/"),
        zoom=ZoomClient("sandbox-client", token, "sandbox-account",
                        base_uri=f"{root}/zoom/v2", oauth_uri=f"{root}/zoom/oauth/token"),
    )


@pytest.fixture(scope="session")
def sandbox():
    with SandboxServer(SandboxConfig(rate_limits="off")) as server:
        yield server


@pytest.fixture(scope="session")
def sdks() -> Callable[..., Sdks]:
    """``sdks(root)`` or ``sdks(root, token)``: fresh official SDK clients for a sandbox."""
    return official_sdks
