"""The e-signature switch (``esign`` in config/onboarding.yaml): validated, and named when unusable."""

from __future__ import annotations

import pytest
import yaml

from services.credentials import MissingCredentials, dropbox_sign_api_key
from services.settings import REPO, Settings
from sop.rules import RulesError, load_rules


def rules_file(tmp_path, **changes):
    rules = yaml.safe_load((REPO / "config" / "onboarding.yaml").read_text())
    path = tmp_path / "onboarding.yaml"
    path.write_text(yaml.safe_dump({**rules, **changes}))
    return path


def test_the_default_is_staff_confirmation_with_sales_asked_on_a_decline():
    rules = load_rules(REPO / "config" / "onboarding.yaml")
    assert (rules.esign, rules.on_signature_declined) == ("staff_confirmation", "ask_sales")


def test_an_unknown_choice_names_the_field_and_the_choices(tmp_path):
    with pytest.raises(RulesError, match=r"esign.*'dropbox_sign' or 'staff_confirmation'"):
        load_rules(rules_file(tmp_path, esign="docusign"))
    with pytest.raises(RulesError, match=r"on_signature_declined.*'ask_sales' or 'lost'"):
        load_rules(rules_file(tmp_path, esign="dropbox_sign", on_signature_declined="ignore"))


def test_dropbox_sign_live_without_its_key_names_where_it_is_looked_for(tmp_path):
    settings = Settings(mode="live", rules_path=rules_file(tmp_path, esign="dropbox_sign"))
    with pytest.raises(MissingCredentials, match="ONBOARD_DROPBOX_SIGN_API_KEY.*onboard-dropbox-sign-api-key"):
        dropbox_sign_api_key(settings, load_block=lambda name: None)
    assert dropbox_sign_api_key(settings, load_block=lambda name: "from-a-block").get_secret_value() == "from-a-block"
