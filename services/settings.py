"""One typed settings model (env prefix ONBOARD_): mode, config files, waits, budgets, live options."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import AnyHttpUrl, EmailStr, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.credentials import dropbox_credential, dropbox_sign_api_key, keap_credential, live_credentials
from sop.profile import CompanyProfile, load_profile
from sop.rules import OnboardingRules, load_rules
from sop.surveys import Surveys, load_surveys
from sop.timeline import EngagementRules, load_engagement_rules

REPO = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONBOARD_", extra="ignore")

    mode: Literal["sandbox", "live"] = "sandbox"
    profile_path: Path = REPO / "config" / "company.yaml"
    rules_path: Path = REPO / "config" / "onboarding.yaml"
    engagement_path: Path = REPO / "config" / "engagement.yaml"
    surveys_path: Path = REPO / "config" / "surveys.yaml"
    templates_dir: Path = REPO / "templates"
    # Seconds in one "hour" of the approval waits in config/onboarding.yaml; tests and demos shrink it.
    wait_hour_seconds: float = Field(3600.0, gt=0)
    # Seconds in one hour of the time until a meeting ends, for a wait that starts only then (the notes of
    # the discovery call, the kick-off's outcome); None: as wait_hour_seconds. Meetings are booked a day or
    # more ahead, so the demo and tests shrink this further than the waits.
    meeting_hour_seconds: float | None = Field(None, gt=0)
    # How a run waits on a person (flows/people/waits.py): "suspend" releases its process (a deployment's
    # run; the waits sweep reminds and resumes); "pause" keeps it (the demo, tests, direct calls).
    waits: Literal["suspend", "pause"] = "suspend"
    poll_seconds: float = Field(30.0, gt=0, description="how often a wait checks for an answer")
    sandbox_url: AnyHttpUrl | None = None  # an already running sandbox (else the caller starts one)
    # Per-vendor call budgets (integrations/budget.py): on in live mode; against the sandbox only with a
    # scale (its --time-scale). The share is this worker's part when several workers use one account.
    rate_budget_scale: float | None = Field(None, gt=0)
    rate_budget_share: float = Field(1.0, gt=0, le=1)
    # Independent steps of a run at the same time; off only to measure what that saves (bench/critical_path.py).
    parallel_steps: bool = True
    # Clients the daily sweep follows up at once (each on its own thread and vendor clients).
    sweep_workers: int = Field(4, ge=1, le=32)

    # Non-secret live settings.
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
    # Keap, when config/company.yaml chooses it: a Service Account Key, or an OAuth2 access token
    keap_api_key: SecretStr | None = None
    keap_access_token: SecretStr | None = None
    dropbox_sign_api_key: SecretStr | None = None  # only with esign: dropbox_sign (config/onboarding.yaml)
    # Live signature requests as Dropbox Sign's test mode (free, not legally binding): a rehearsal.
    dropbox_sign_test_mode: bool = False
    # Dropbox, only with storage: dropbox (config/company.yaml): a refresh token with the app key and secret, or
    # an access token (short-lived: 4 hours)
    dropbox_refresh_token: SecretStr | None = None
    dropbox_app_key: SecretStr | None = None
    dropbox_app_secret: SecretStr | None = None
    dropbox_access_token: SecretStr | None = None

    @cached_property
    def profile(self) -> CompanyProfile:
        return load_profile(self.profile_path)

    @cached_property
    def rules(self) -> OnboardingRules:
        return load_rules(self.rules_path)

    @cached_property
    def engagement_rules(self) -> EngagementRules:
        return load_engagement_rules(self.engagement_path)

    @cached_property
    def surveys(self) -> Surveys:
        return load_surveys(self.surveys_path)


def load_settings() -> Settings:
    """Settings from the environment, with the profile and (in live mode) credentials checked now."""
    settings = Settings()
    settings.profile  # noqa: B018 — validate the profile and rules at start-up, not at first use
    settings.rules  # noqa: B018
    settings.engagement_rules  # noqa: B018
    settings.surveys  # noqa: B018
    if settings.mode == "live":
        live_credentials(settings)
        if settings.profile.email_marketing.system == "keap":
            keap_credential(settings)
        if settings.rules.esign == "dropbox_sign":
            dropbox_sign_api_key(settings)
        if settings.profile.storage == "dropbox":
            dropbox_credential(settings)
    return settings
