"""Templates: strict about missing variables, HTML escaped, letterhead and signature shared."""

import pytest
from jinja2 import UndefinedError

from services.rendering import Renderer
from services.settings import Settings
from sop.profile import Role


@pytest.fixture(scope="module")
def renderer():
    s = Settings()
    p = s.profile
    return Renderer(s.templates_dir, company=p.company, approving_manager=p.approving_manager,
                    preparer=p.people(Role.CLIENT_RELATIONS_MANAGER)[0],
                    sender=p.people(Role.CLIENT_RELATIONS_MANAGER)[0])


def test_missing_variable_is_an_error(renderer):
    with pytest.raises(UndefinedError):
        renderer.render("email/welcome.html.j2", client={"first_name": "Ada"})


def test_subject_and_escaping(renderer):
    client = {"first_name": "Ada", "company_name": "<Acme & Sons>"}
    specialist = {"name": "Pieter", "title": "Onboarding Specialist"}
    out = renderer.render("email/welcome.html.j2", client=client, specialist=specialist, services=["marketing"])
    assert out.subject == "Welcome to Brightpath Consulting, Ada"
    assert "&lt;Acme &amp; Sons&gt;" in out.body and "<Acme" not in out.body


def test_documents_carry_letterhead_and_signature_block(renderer):
    s = Settings()
    package = s.rules.package("launch")
    client = {"company_name": "Acme", "contact_person": "Ada Lovelace", "contact_title": "CEO"}
    out = renderer.render("docs/contract.html.j2", client=client, package=package, price=60000, proposal_version=2,
                          currency="ZAR", date="2026-11-25")
    assert "Brightpath Consulting" in out.body and "14 Loop Street" in out.body  # letterhead
    assert "Lindiwe Dlamini" in out.body and "_____" in out.body  # signature block
    assert "ZAR 60,000" in out.body and "Governing law" in out.body
