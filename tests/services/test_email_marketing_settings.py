"""The email-marketing choice of config/company.yaml: validated at start-up naming the file and field;
Keap's client built only when chosen; its live credential required only then."""

import pytest
import yaml
from pydantic import SecretStr

from services.clients import sandbox_clients
from services.credentials import MissingCredentials, keap_credential
from services.settings import REPO, Settings
from sop.profile import MarketingStage, ProfileError, load_profile

PROFILE = REPO / "config" / "company.yaml"


def _write(tmp_path, mutate):
    data = yaml.safe_load(PROFILE.read_text())
    mutate(data)
    path = tmp_path / "company.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["email_marketing"].update(system="mailchimp"),
         "email_marketing.system: Input should be 'keap' or 'none'"),
        (lambda d: d["email_marketing"]["tags"].pop("churned"), "keap needs the tag of every SOP stage; missing: churned"),
        (lambda d: d["email_marketing"]["tags"].update(winback="x"), "email_marketing.tags.winback"),
        (lambda d: d["email_marketing"].update(lead_source_tag="Source: {origin}"), "the only placeholder is {source}"),
    ],
)
def test_a_bad_choice_names_the_file_and_the_field(tmp_path, mutate, expected):
    path = _write(tmp_path, mutate)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_none_needs_no_tags_and_is_the_default(tmp_path):
    assert load_profile(_write(tmp_path, lambda d: d.pop("email_marketing"))).email_marketing.system == "none"
    profile = load_profile(_write(tmp_path, lambda d: d.update(email_marketing={"system": "none"})))
    assert profile.email_marketing.tags == {}


def test_the_sample_company_tags_every_stage():
    config = load_profile(PROFILE).email_marketing
    assert config.system == "keap" and set(config.tags) == set(MarketingStage)


def test_keap_client_only_when_chosen(sandbox):
    assert sandbox_clients(sandbox.root, email_marketing="none").keap is None
    assert sandbox_clients(sandbox.root).keap is not None


def test_keap_credential_key_first_then_oauth_token_then_a_clear_error(monkeypatch):
    for var in ("ONBOARD_KEAP_API_KEY", "ONBOARD_KEAP_ACCESS_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    none = Settings()
    with pytest.raises(MissingCredentials, match="ONBOARD_KEAP_API_KEY.*onboard-keap-api-key"):
        keap_credential(none, load_block=lambda name: None)
    assert keap_credential(none, load_block=lambda n: "tok" if n == "onboard-keap-access-token" else None)[0] == \
        "access_token"
    kind, value = keap_credential(Settings(keap_api_key=SecretStr("KeapAK-1")), load_block=lambda n: None)
    assert (kind, value.get_secret_value()) == ("api_key", "KeapAK-1")
