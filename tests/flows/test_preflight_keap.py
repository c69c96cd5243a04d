"""The doctor's Keap lines (flows/preflight.py): the key and its quota, each SOP stage's tag (created by
`onboard setup` or the first run that needs it)."""

from __future__ import annotations

from flows.preflight import keap_checks
from services import Services
from services.clients import sandbox_clients
from services.settings import Settings


def test_keap_checks_on_a_fresh_account_then_after_setup():
    from vendor_sandbox import SandboxConfig, SandboxServer

    with SandboxServer(SandboxConfig(rate_limits="vendor")) as fresh:
        svc = Services(Settings(sandbox_url=fresh.root), sandbox_clients(fresh.root))
        checks = keap_checks(svc)
        key, *tags = checks
        assert key.ok and "calls left today" in key.detail and "of 30,000" in key.detail
        assert len(tags) == 5 and not any(t.ok for t in tags) and all(t.run_creates for t in tags)
        assert "onboard setup" in tags[0].fix

        from app.setup import keap_steps

        (step,) = keap_steps(svc)
        assert step.needed
        step.do()
        assert all(c.ok for c in keap_checks(svc))
        assert not keap_steps(svc)[0].needed


def test_no_keap_lines_when_the_company_uses_none(sandbox):
    svc = Services(Settings(sandbox_url=sandbox.root), sandbox_clients(sandbox.root, email_marketing="none"))
    assert keap_checks(svc) == []
