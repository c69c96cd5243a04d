"""Email marketing along the SOP (config/company.yaml chooses Keap): a new lead becomes a Keap contact
tagged ``lead`` (and its source), a declined one the referral/nurture tag, and a client who unsubscribed
gets no campaign tag, the run saying so."""

from __future__ import annotations

import logging

import httpx

from flows import email_marketing
from flows.onboarding.initial_contact import initial_contact
from sop.outcomes import Outcome
from sop.profile import MarketingStage
from tests.flows.conftest import lead_for, new_client
from tests.flows.onboarding.test_decline import FLOOR


def tags_of(svc, email: str) -> set[str]:
    keap = svc.clients.keap
    contact = keap.find_contact(email)
    return {t.name for t in keap.contact_tags(contact.id)} if contact else set()


def test_a_new_lead_is_a_keap_contact_tagged_lead_once(svc):
    config = svc.profile.email_marketing
    assert config.system == "keap"  # the sample company uses Keap, so the demo shows it
    client = new_client(source_of_lead="referral")

    lead_for(client, svc)
    lead_for(client, svc)  # a re-run: no second contact, no second application

    contact = svc.clients.keap.find_contact(str(client.email))
    assert contact.created is False and (contact.given_name, contact.family_name) == ("Zanele", "Mthembu")
    assert contact.email_status == "SingleOptIn"  # opted in with config's opt_in_reason
    assert tags_of(svc, str(client.email)) == {config.tag(MarketingStage.LEAD), "Lead source: referral"}


def test_a_declined_lead_gets_the_referral_tag(svc):
    client = new_client(budget=int(FLOOR) - 1000)  # declined at entry, before any wait

    outcome, _ = initial_contact(client)

    assert outcome is Outcome.DECLINED
    config = svc.profile.email_marketing
    assert tags_of(svc, str(client.email)) >= {config.tag(MarketingStage.LEAD),
                                                config.tag(MarketingStage.DECLINED_WITH_REFERRAL)}
    assert config.tag(MarketingStage.QUALIFIED) not in tags_of(svc, str(client.email))


def test_an_unsubscribed_client_gets_no_campaign_tag_and_the_run_says_so(svc, flow_sandbox, caplog):
    client = new_client()
    lead_for(client, svc)
    httpx.post(f"{flow_sandbox.root}/_sandbox/keap/admin/unsubscribe/{client.email}").raise_for_status()

    with caplog.at_level(logging.INFO, logger="flows.journal"):
        email_marketing.at_stage(svc, MarketingStage.QUALIFIED, "B1.3", str(client.email), client.contact_person)

    assert svc.profile.email_marketing.tag(MarketingStage.QUALIFIED) not in tags_of(svc, str(client.email))
    (line,) = [r.getMessage() for r in caplog.records if "Keap: not tagged" in r.getMessage()]
    assert "(skipped)" in line and "Manual" in line and "no campaign email" in line
