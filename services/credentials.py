"""Live credentials: environment variables first, then Prefect Secret blocks; never printed."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings

# Credential field -> the Prefect Secret block consulted when the environment variable is unset.
CREDENTIALS: dict[str, str] = {
    "hubspot_token": "onboard-hubspot-token",
    "asana_token": "onboard-asana-token",
    "google_service_account_json": "onboard-google-service-account",
    "slack_bot_token": "onboard-slack-bot-token",
    "zoom_account_id": "onboard-zoom-account-id",
    "zoom_client_id": "onboard-zoom-client-id",
    "zoom_client_secret": "onboard-zoom-client-secret",
}


# Keap, only when config/company.yaml chooses it (email_marketing.system: keap): a Service Account Key or
# Personal Access Token, else an OAuth2 access token (refreshed by whoever issues it).
KEAP_CREDENTIALS: dict[str, str] = {
    "keap_api_key": "onboard-keap-api-key",
    "keap_access_token": "onboard-keap-access-token",
}
# Needed only when the rules choose it (``esign: dropbox_sign``): field -> its Prefect Secret block.
DROPBOX_SIGN_CREDENTIAL = ("dropbox_sign_api_key", "onboard-dropbox-sign-api-key")
# Needed only when config/company.yaml chooses Dropbox for documents (``storage: dropbox``): a refresh token with
# the app's key and secret (the SDK renews the 4-hour access token itself), else an access token.
DROPBOX_CREDENTIALS: dict[str, str] = {
    "dropbox_refresh_token": "onboard-dropbox-refresh-token",
    "dropbox_app_key": "onboard-dropbox-app-key",
    "dropbox_app_secret": "onboard-dropbox-app-secret",
    "dropbox_access_token": "onboard-dropbox-access-token",
}


class MissingCredentials(RuntimeError):
    """Live mode without a credential; the message names each one and where it is looked for."""


class LiveCredentials(BaseModel):
    hubspot_token: SecretStr
    asana_token: SecretStr
    google_service_account_json: SecretStr
    slack_bot_token: SecretStr
    zoom_account_id: SecretStr
    zoom_client_id: SecretStr
    zoom_client_secret: SecretStr


def load_secret_block(name: str) -> str | None:
    """The value of a Prefect Secret block, or None when there is no such block."""
    from prefect.blocks.system import Secret  # imported when needed: only live mode reads blocks

    try:
        return Secret.load(name).get()
    except ValueError:  # Prefect raises ValueError for an unknown block document
        return None


def live_credentials(settings: BaseSettings, load_block=load_secret_block) -> LiveCredentials:
    """Every live credential (the settings' fields named in CREDENTIALS, else their Secret blocks), or
    one error naming all that are missing. Values are never printed."""
    found: dict[str, SecretStr] = {}
    missing: list[str] = []
    for field, block in CREDENTIALS.items():
        value: SecretStr | None = getattr(settings, field)
        if value is None or not value.get_secret_value():
            raw = load_block(block)
            value = SecretStr(raw) if raw else None
        if value is None:
            missing.append(f"{field} (env ONBOARD_{field.upper()} or Prefect Secret block '{block}')")
        else:
            found[field] = value
    if missing:
        raise MissingCredentials("live mode needs: " + "; ".join(missing))
    return LiveCredentials(**found)


def keap_credential(settings: BaseSettings, load_block=load_secret_block) -> tuple[str, SecretStr]:
    """("api_key" or "access_token", its value) for Keap: the Service Account Key first, then an OAuth2
    access token, each from the environment or its Secret block; an error naming both when neither is set."""
    for field, block in KEAP_CREDENTIALS.items():
        value: SecretStr | None = getattr(settings, field, None)
        if value is None or not value.get_secret_value():
            raw = load_block(block)
            value = SecretStr(raw) if raw else None
        if value is not None:
            return field.removeprefix("keap_"), value
    raise MissingCredentials(
        "live mode with email_marketing.system: keap (config/company.yaml) needs a Keap credential: "
        "keap_api_key (env ONBOARD_KEAP_API_KEY or Prefect Secret block 'onboard-keap-api-key') or "
        "keap_access_token (env ONBOARD_KEAP_ACCESS_TOKEN or Prefect Secret block 'onboard-keap-access-token')")


def dropbox_sign_api_key(settings: BaseSettings, load_block=load_secret_block) -> SecretStr:
    """The Dropbox Sign API key (``ONBOARD_DROPBOX_SIGN_API_KEY``, else its Secret block), or an error
    naming both: live mode with ``esign: dropbox_sign`` cannot start without it."""
    field, block = DROPBOX_SIGN_CREDENTIAL
    value: SecretStr | None = getattr(settings, field, None)
    if value is None or not value.get_secret_value():
        raw = load_block(block)
        value = SecretStr(raw) if raw else None
    if value is None:
        raise MissingCredentials(f"live mode with esign: dropbox_sign needs {field} (env ONBOARD_{field.upper()} "
                                 f"or Prefect Secret block '{block}')")
    return value



def dropbox_credential(settings: BaseSettings, load_block=load_secret_block) -> dict[str, str]:
    """Keyword arguments of ``integrations.dropbox.connect``: ``refresh_token``, ``app_key``, ``app_secret`` when
    the refresh token and app key are set (environment or Secret blocks), else ``access_token``; an error
    naming them all when neither is. Values are never printed."""
    found: dict[str, str] = {}
    for field, block in DROPBOX_CREDENTIALS.items():
        value: SecretStr | None = getattr(settings, field, None)
        raw = value.get_secret_value() if value is not None else ""
        raw = raw or load_block(block) or ""
        if raw:
            found[field.removeprefix("dropbox_")] = raw
    if found.get("refresh_token") and found.get("app_key"):
        return {k: found[k] for k in ("refresh_token", "app_key", "app_secret") if k in found}
    if found.get("access_token"):
        return {"access_token": found["access_token"]}
    names = "; ".join(f"{f} (env ONBOARD_{f.upper()} or Prefect Secret block '{b}')"
                      for f, b in DROPBOX_CREDENTIALS.items())
    raise MissingCredentials("live mode with storage: dropbox (config/company.yaml) needs a refresh token with the "
                             f"app key and secret, or an access token: {names}")
