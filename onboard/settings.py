"""One typed settings model (env prefix ONBOARD_) and the live credentials it needs."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, EmailStr, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .profile import CompanyProfile, load_profile

REPO = Path(__file__).resolve().parents[1]

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


class MissingCredentials(RuntimeError):
    """Live mode without a credential; the message names each one and where it is looked for."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONBOARD_", extra="ignore")

    mode: Literal["sandbox", "live"] = "sandbox"
    profile_path: Path = REPO / "config" / "company.yaml"
    rules_path: Path = REPO / "config" / "onboarding.yaml"
    engagement_path: Path = REPO / "config" / "engagement.yaml"
    templates_dir: Path = REPO / "templates"
    # Seconds in one "hour" of the approval waits in config/onboarding.yaml; tests and demos shrink it.
    wait_hour_seconds: float = Field(3600.0, gt=0)
    poll_seconds: float = Field(30.0, gt=0, description="how often a wait checks for an answer")
    sandbox_url: AnyHttpUrl | None = None  # an already running sandbox (else the caller starts one)
    # Per-vendor call budgets (integrations/budget.py): on in live mode; against the sandbox only with a
    # scale (its --time-scale). The share is this worker's part when several workers use one account.
    rate_budget_scale: float | None = Field(None, gt=0)
    rate_budget_share: float = Field(1.0, gt=0, le=1)
    # Clients the daily sweep follows up at once (each on its own thread and vendor clients).
    sweep_workers: int = Field(4, ge=1, le=32)

    # Non-secret live settings.
    hubspot_portal_id: str = "0"  # for links to records in HubSpot's UI
    # Live credentials against a vendor-compatible endpoint (the sandbox, a staging proxy): a rehearsal.
    live_base_url: AnyHttpUrl | None = None
    asana_workspace_gid: str | None = None
    google_delegated_user: EmailStr | None = None  # the mailbox/calendar the service account acts as

    # Secrets: environment variables first, then the Prefect Secret block named in CREDENTIALS.
    hubspot_token: SecretStr | None = None
    asana_token: SecretStr | None = None
    google_service_account_json: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    zoom_account_id: SecretStr | None = None
    zoom_client_id: SecretStr | None = None
    zoom_client_secret: SecretStr | None = None

    @cached_property
    def profile(self) -> CompanyProfile:
        return load_profile(self.profile_path)

    @cached_property
    def rules(self):
        from .rules import load_rules

        return load_rules(self.rules_path)

    @cached_property
    def engagement(self):
        from .timeline import load_engagement_rules

        return load_engagement_rules(self.engagement_path)


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
    from prefect.blocks.system import Secret

    try:
        return Secret.load(name).get()
    except ValueError:  # Prefect raises ValueError for an unknown block document
        return None


def live_credentials(settings: Settings, load_block=load_secret_block) -> LiveCredentials:
    """Every live credential, or one error naming all that are missing. Values are never printed."""
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


def load_settings() -> Settings:
    """Settings from the environment, with the profile and (in live mode) credentials checked now."""
    settings = Settings()
    settings.profile  # noqa: B018 — validate the profile and rules at start-up, not at first use
    settings.rules  # noqa: B018
    settings.engagement  # noqa: B018
    if settings.mode == "live":
        live_credentials(settings)
    return settings
