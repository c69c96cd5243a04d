"""Settings, the company profile and live credentials fail at start-up with specific messages."""

import shutil

import pytest
import yaml
from pydantic import SecretStr

from services.credentials import CREDENTIALS, MissingCredentials, live_credentials
from services.settings import REPO, Settings
from sop.profile import ProfileError, Role, load_profile

PROFILE = REPO / "config" / "company.yaml"


def test_shipped_profile_is_valid():
    profile = load_profile(PROFILE)
    assert profile.people(Role.ONBOARDING_SPECIALIST)
    assert profile.tz.key == "Africa/Johannesburg"


def _write(tmp_path, mutate):
    data = yaml.safe_load(PROFILE.read_text())
    mutate(data)
    path = tmp_path / "company.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(timezone="Mars/Olympus"), "timezone: Value error, unknown IANA timezone"),
        (lambda d: d["company"].update(email="not-an-email"), "company.email"),
        (lambda d: d["team"].pop("finance"), "missing: finance"),
        (lambda d: d["team"]["sales"][0].update(email="x"), "team.sales.0.email"),
        (lambda d: d["company"].update(fax="1"), "company.fax: Extra inputs are not permitted"),
    ],
)
def test_bad_profile_names_field_and_file(tmp_path, mutate, expected):
    path = _write(tmp_path, mutate)
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_missing_profile_file(tmp_path):
    with pytest.raises(ProfileError, match="not found"):
        load_profile(tmp_path / "nope.yaml")


def test_settings_from_environment(monkeypatch, tmp_path):
    shutil.copy(PROFILE, tmp_path / "p.yaml")
    monkeypatch.setenv("ONBOARD_MODE", "live")
    monkeypatch.setenv("ONBOARD_PROFILE_PATH", str(tmp_path / "p.yaml"))
    monkeypatch.setenv("ONBOARD_SLACK_BOT_TOKEN", "xoxb-test")
    s = Settings()
    assert s.mode == "live" and s.profile.company.name
    assert s.slack_bot_token.get_secret_value() == "xoxb-test"
    assert "xoxb-test" not in repr(s) and "xoxb-test" not in str(s.model_dump())


def test_bad_mode_is_rejected(monkeypatch):
    monkeypatch.setenv("ONBOARD_MODE", "production")
    with pytest.raises(ValueError, match="mode"):
        Settings()


def test_live_mode_names_every_missing_credential(monkeypatch):
    for field in CREDENTIALS:
        monkeypatch.delenv(f"ONBOARD_{field.upper()}", raising=False)
    monkeypatch.setenv("ONBOARD_HUBSPOT_TOKEN", "pat-secret")
    blocks = {"onboard-asana-token": "asana-from-block"}
    with pytest.raises(MissingCredentials) as err:
        live_credentials(Settings(mode="live"), load_block=blocks.get)
    msg = str(err.value)
    assert "slack_bot_token" in msg and "onboard-slack-bot-token" in msg
    assert "hubspot_token" not in msg and "asana_token" not in msg  # env and block both count
    assert "pat-secret" not in msg


def test_live_credentials_complete(monkeypatch):
    values = {field: f"value-{field}" for field in CREDENTIALS}
    creds = live_credentials(Settings(mode="live", **{k: SecretStr(v) for k, v in values.items()}),
                             load_block=lambda name: None)
    assert creds.zoom_client_secret.get_secret_value() == "value-zoom_client_secret"
