"""Every vendor client, built in one place: against the sandbox or live, by the settings' mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from integrations import asana, budget, dropbox, dropbox_sign, google, hubspot, keap, slack, zoom
from integrations.sandbox_urls import sdk_urls
from services.credentials import dropbox_credential, dropbox_sign_api_key, keap_credential, live_credentials

if TYPE_CHECKING:
    from services.settings import Settings

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
    keap: keap.KeapMarketing | None = None  # only when config/company.yaml chooses Keap for email marketing
    esign: dropbox_sign.DropboxSign | None = None  # with esign: dropbox_sign (always against the sandbox)
    dropbox: dropbox.DropboxStorage | None = None  # only when config/company.yaml chooses storage: dropbox

    @property
    def documents(self) -> google.Drive | dropbox.DropboxStorage:
        """The document storage of config/company.yaml (``storage``): Dropbox when chosen, else Drive."""
        return self.dropbox if self.dropbox is not None else self.drive


def sandbox_clients(root: str, *, email_marketing: str = "keap", storage: str = "google_drive") -> Clients:
    """Clients for the sandbox served at ``root`` (``http://127.0.0.1:8765``); Keap's unless
    ``email_marketing`` is "none"; Dropbox's when ``storage`` is "dropbox"."""
    urls = sdk_urls(root.rstrip("/"))
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
        keap=keap.connect(SANDBOX_TOKEN, base_url=urls["keap"]) if email_marketing == "keap" else None,
        esign=dropbox_sign.connect(SANDBOX_TOKEN, base_url=urls["dropbox_sign"], test_mode=True),
        dropbox=dropbox.connect(SANDBOX_TOKEN, base_url=urls["dropbox"]) if storage == "dropbox" else None,
    )


def build_clients(settings: Settings) -> Clients:
    """The clients the settings ask for: the sandbox at ``settings.sandbox_url`` or live vendors."""
    if settings.mode == "sandbox":
        # the sandbox's limits are off or time-scaled: budgets only when the scale is given
        budget.configure(enabled=settings.rate_budget_scale is not None, window_scale=settings.rate_budget_scale or 1.0,
                         share=settings.rate_budget_share)

        if settings.sandbox_url is None:
            raise ValueError("sandbox mode needs ONBOARD_SANDBOX_URL (or start one with `onboard sandbox`)")
        return sandbox_clients(str(settings.sandbox_url), email_marketing=settings.profile.email_marketing.system,
                               storage=settings.profile.storage)
    return live_clients(settings)


def live_clients(settings: Settings) -> Clients:
    """Clients for the real vendors, from credentials in the environment or Prefect Secret blocks.

    With ``settings.live_base_url`` every call goes to that vendor-compatible endpoint instead (the
    sandbox or a staging proxy), with the same credentials and token exchanges: a rehearsal of live mode."""
    creds = live_credentials(settings)
    budget.configure(enabled=True, window_scale=settings.rate_budget_scale or 1.0, share=settings.rate_budget_share)
    urls: dict[str, str | None] = dict.fromkeys(("hubspot", "asana", "slack", "zoom", "zoom-oauth", "keap",
                                                "dropbox_sign", "dropbox"))
    root_url = None
    if settings.live_base_url is not None:
        urls = sdk_urls(str(settings.live_base_url).rstrip("/"))
        root_url = google.root_from_sandbox_urls(urls)
    g = google.connect(
        google.service_account_credentials(
            creds.google_service_account_json.get_secret_value(), subject=settings.google_delegated_user
        ),
        root_url=root_url,
    )
    return Clients(
        hubspot=hubspot.connect(creds.hubspot_token.get_secret_value(), base_url=urls["hubspot"]),
        asana=asana.connect(creds.asana_token.get_secret_value(), base_url=urls["asana"],
                            workspace_gid=settings.asana_workspace_gid),
        drive=g.drive,
        forms=g.forms,
        gmail=g.gmail,
        calendar=g.calendar,
        slack=slack.connect(creds.slack_bot_token.get_secret_value(), base_url=urls["slack"]),
        zoom=zoom.connect(
            creds.zoom_account_id.get_secret_value(),
            creds.zoom_client_id.get_secret_value(),
            creds.zoom_client_secret.get_secret_value(),
            base_url=urls["zoom"], oauth_url=urls["zoom-oauth"],
        ),
        keap=live_keap(settings, urls["keap"]),
        esign=dropbox_sign.connect(dropbox_sign_api_key(settings).get_secret_value(), base_url=urls["dropbox_sign"],
                                   test_mode=settings.dropbox_sign_test_mode)
        if settings.rules.esign == "dropbox_sign" else None,
        dropbox=dropbox.connect(base_url=urls["dropbox"], **dropbox_credential(settings))
        if settings.profile.storage == "dropbox" else None,
    )


def live_keap(settings: Settings, base_url: str | None) -> keap.KeapMarketing | None:
    """Keap with the live credential, when config/company.yaml chooses it."""
    if settings.profile.email_marketing.system != "keap":
        return None
    kind, secret = keap_credential(settings)
    return keap.connect(base_url=base_url, **{kind: secret.get_secret_value()})
