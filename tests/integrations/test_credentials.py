"""Every vendor module, at DEBUG and through errors and retries, keeps its credentials to itself."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from google.oauth2.credentials import Credentials
from vendor_sandbox import SandboxConfig, SandboxServer
from vendor_sandbox.core.faults import FaultConfig

from integrations import asana, dropbox_sign, google, hubspot, retry, slack, zoom
from integrations.errors import IntegrationError

VENDORS = ("hubspot", "asana", "google", "slack", "zoom", "dropbox_sign")


@pytest.fixture
def private():
    """A sandbox of its own (this test injects faults and revokes tokens), rate limits off."""
    with SandboxServer(SandboxConfig(rate_limits="off")) as server:
        yield server


def test_no_client_logs_or_raises_its_credentials(private, caplog, monkeypatch):
    """Every integration, at DEBUG and through errors and retries, keeps its credentials to itself."""
    monkeypatch.setattr(retry, "backoff", lambda attempt: 0.0)
    secret = "s3cr3t-" + uuid.uuid4().hex
    urls = private.urls
    caplog.set_level(logging.DEBUG)
    hs = hubspot.connect(secret + "-hubspot", base_url=urls["hubspot"])
    asn = asana.connect(secret + "-asana", base_url=urls["asana"], sleep=lambda s: None)
    g = google.connect(Credentials(token=secret + "-google"), root_url=google.root_from_sandbox_urls(urls))
    sl = slack.connect(secret + "-slack", base_url=urls["slack"])
    zm = zoom.connect("acct", "client-id", secret + "-zoom", base_url=urls["zoom"], oauth_url=urls["zoom-oauth"])
    ds = dropbox_sign.connect(secret + "-dropbox-sign", base_url=urls["dropbox_sign"])
    ds.request_count()
    hs.create("contacts", {"email": "quiet@client.example"})
    asn.me()
    g.drive.find_or_create_folder("Quiet", None, {"quiet": "1"})
    sl.ensure_channel("quiet-channel")
    zm.create_meeting("me", "Quiet", datetime.now(UTC) + timedelta(days=1), 30)
    httpx.post(private.root + "/_sandbox/zoom/tokens/revoke").raise_for_status()  # forces a token refresh
    list(zm.list_meetings("me"))

    raised: list[str] = []
    calls = [lambda: hs.get("contacts", "99999999999"), lambda: asn.get_task("9999999999999999"),
             lambda: g.drive.get("no-such-file"), lambda: sl.channel_info("C000NOPE"),
             lambda: zm.get_meeting(1), lambda: ds.get("0" * 40)]
    for fn in calls:
        with pytest.raises(IntegrationError) as err:
            fn()
        raised.append(repr(err.value) + str(err.value.__cause__ or ""))
    private.configure(faults={v: FaultConfig(server_error=1.0).model_dump()
                              for v in VENDORS})
    for fn in calls:
        with pytest.raises(IntegrationError) as err:
            fn()
        raised.append(repr(err.value) + str(err.value.__cause__ or ""))
    private.configure(faults={v: FaultConfig().model_dump() for v in VENDORS})

    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # the SDKs' debug logging was on
    assert "access token rejected" in caplog.text  # the Zoom refresh path ran
    assert secret not in caplog.text
    assert all(secret not in r for r in raised)


def test_dropbox_prefers_a_refresh_token_and_names_every_credential_when_none_is_set():
    from pydantic import SecretStr

    from services.credentials import MissingCredentials, dropbox_credential

    class S:
        dropbox_refresh_token = SecretStr("r")
        dropbox_app_key = SecretStr("k")
        dropbox_app_secret = None
        dropbox_access_token = SecretStr("a")

    blocks = {"onboard-dropbox-app-secret": "s"}
    assert dropbox_credential(S(), blocks.get) == {"refresh_token": "r", "app_key": "k", "app_secret": "s"}
    S.dropbox_app_key = None
    assert dropbox_credential(S(), {}.get) == {"access_token": "a"}  # no app key: the refresh token is no use
    S.dropbox_access_token = None
    with pytest.raises(MissingCredentials) as info:
        dropbox_credential(S(), {}.get)
    for name in ("ONBOARD_DROPBOX_REFRESH_TOKEN", "onboard-dropbox-app-key", "ONBOARD_DROPBOX_ACCESS_TOKEN"):
        assert name in str(info.value)
