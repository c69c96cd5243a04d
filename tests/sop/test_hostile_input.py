"""Hostile input: every bad value gets a field-level error at the edge (NewClient), and every odd but
acceptable value comes out safe — escaped in HTML, printed literally (never run as a template),
a valid Slack channel name, escaped Slack text, a valid pause key."""

from __future__ import annotations

import re

import pytest
from jinja2.sandbox import SecurityError
from markupsafe import escape
from pydantic import ValidationError

from integrations.slack import channel_name
from integrations.slack import escape as slack_escape
from services.rendering import Renderer
from services.settings import Settings
from sop.client import NewClient
from sop.profile import Role

VALID = {
    "company_name": "Acme Retail (Pty) Ltd", "contact_person": "Thandi Nkosi", "contact_title": "CEO",
    "phone": "+27 82 555 0100", "email": "thandi@acme.example", "website": "https://www.acme.example",
    "source_of_lead": "referral", "budget": 120000, "industry": "retail",
    "requested_services": ["marketing"], "timeline_weeks": 12,
}
LONG = "x" * 10_000

# (field, value): each must be refused with an error on exactly that field
BAD = [
    *[("email", v) for v in (
        "", "plainaddress", "@no-local.example", "a@b", "a@@b.example", "a b@c.example", "a@b..example",
        "<script>@x.example", "a@-b.example", "x" * 300 + "@b.example", "a@b.example\nBcc: x@y.example",
        "a@b,example", "thandi@acme.example>", "mailto:a@b.example", LONG)],
    *[("phone", v) for v in (
        "", "abc", "123", "+27 82 555 0100; DROP TABLE clients", "<script>alert(1)</script>", "1" * 25,
        "☎ 082 555 0100", "+27\n82 555 0100", "٠٨٢٥٥٥٠١٠٠", "{{ 7*7 }}", "+27 82 555 0100 ext. 5", LONG)],
    *[("budget", v) for v in (-1, -10**9, 10**12, 1.5, "abc", float("nan"), float("inf"), "1e400", None, [])],
    *[("timeline_weeks", v) for v in (0, -3, 1000, "soon", 2.5)],
    *[("company_name", v) for v in ("", "   ", "!!!", "12345", "🙂🙂", "\u202e\u202c", LONG, "-- //",
                                    "\u202eevil\u202c Traders", "Tab\tNew\nLine Ltd", "Null\x00Byte Ltd", "Bell\x07 Co")],
    *[("contact_person", v) for v in ("", "😀", "42", LONG, "\t\n")],
    *[("contact_title", v) for v in ("", LONG, "CEO\r\nBcc: x@y.example")],
    *[("notes", v) for v in (LONG, "escape \x1b[31m red", "nul \x00")],
    *[("website", v) for v in ("javascript:alert(1)", "not a url", "http://", "", "<script>", "//evil", LONG)],
    *[("requested_services", v) for v in ([], ["hacking"], "marketing;drop", [None])],
    *[("industry", v) for v in ("<script>", "", "{{7*7}}", None)],
    *[("source_of_lead", v) for v in ("{{7*7}}", "", "referral; rm -rf /")],
    *[("preferred_communication", v) for v in ("carrier pigeon", "")],
    *[("start_date", v) for v in ("tomorrow", "2026-02-30", "<script>")],
]

# Odd but acceptable text: right-to-left, emoji, scripts with no ASCII form, markup and template syntax
ODD = [
    "<script>alert('x')</script> Holdings", "{{ 7*7 }} Consulting", "{% raw %}Acme{% endraw %}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }} Ltd", "{#- comment -#} Corp", "${jndi:ldap://evil} Inc",
    "مؤسسة الأعمال", "שלום בע\"מ", "🚀 Rocket Labs 🚀", "Zoë & Ünal <Partners>",
    "&amp; Already Escaped", "O'Brien \"Quotes\" & Co", "漢字株式会社", "Ⅻ Roman ℌ Ltd", "Ελληνική Εταιρεία",
    "Café Müller", "<!channel> Everyone", "<@U123> Mention Co", "a" + "b" * 190,
    "Zero\u200bWidth Co", "<img src=x onerror=alert(1)>Img", "javascript:alert(1) Agency",
]
SLACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


def client_with(**changes) -> dict:
    return {**VALID, **changes}


@pytest.mark.parametrize(("field", "value"), BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)])
def test_bad_value_gets_an_error_on_its_field(field, value):
    with pytest.raises(ValidationError) as info:
        NewClient.model_validate(client_with(**{field: value}))
    assert {e["loc"][0] for e in info.value.errors()} == {field}, info.value.errors()


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError) as info:
        NewClient.model_validate(client_with(is_admin=True))
    assert info.value.errors()[0]["loc"] == ("is_admin",)


def test_the_corpus_is_large_enough():
    assert len(BAD) + len(ODD) >= 100


@pytest.fixture(scope="module")
def renderer():
    s = Settings()
    p = s.profile
    crm = p.people(Role.CLIENT_RELATIONS_MANAGER)[0]
    return Renderer(s.templates_dir, company=p.company, approving_manager=p.approving_manager, preparer=crm,
                    sender=crm)


def _accepted(text: str) -> NewClient:
    return NewClient.model_validate(client_with(company_name=text, contact_person=f"Ada {text}"[:120],
                                                contact_title=text[:120], notes=text))


@pytest.mark.parametrize("text", ODD)
def test_odd_text_is_accepted_and_comes_out_safe(text, renderer):
    client = _accepted(text)
    specialist = {"name": "Pieter", "title": "Onboarding Specialist"}
    mail = renderer.render("email/welcome.html.j2", client=client, specialist=specialist, services=["marketing"])
    # HTML: the value appears escaped, never as markup; template syntax is printed, not evaluated
    assert str(escape(client.company_name)) in mail.body
    assert "<script" not in mail.body and "<img" not in mail.body
    if "{{ 7*7 }}" in text:
        assert "49" not in mail.body
    assert "\n" not in mail.subject and "\r" not in mail.subject
    settings = Settings()
    doc = renderer.render("docs/proposal.html.j2", client=client, package=settings.rules.package("launch"),
                          scope=text, price=60000, version=1, changes=[text], currency="ZAR", start_date=None,
                          date="2026-11-25")
    assert str(escape(text)) in doc.body and "<script" not in doc.body
    # Slack: a valid, non-empty channel name; message text with no control sequence left
    name = channel_name(client.company_name, suffix="ACME-0001")
    assert SLACK_NAME.match(name) and name.endswith("-acme-0001")
    assert "<" not in slack_escape(f"Welcome {client.company_name}") and ">" not in slack_escape(client.company_name)


def test_names_with_no_ascii_form_get_distinct_channels():
    names = [t for t in ODD if not re.search(r"[A-Za-z0-9]", t)]
    channels = {channel_name(n) for n in names}
    assert len(channels) == len(names) and all(SLACK_NAME.match(c) for c in channels)


def test_templates_render_in_a_sandbox(renderer):
    """A template edited to reach Python internals is stopped."""
    template = renderer.env.from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(SecurityError):
        template.render()
