"""The sandbox's shared machinery: inspection, reset, runtime config, the printed URLs."""

import httpx

from integrations.sandbox.server import VENDOR_LINES


def test_state_reset_and_config(sandbox):
    assert set(sandbox.state()) == {"hubspot", "asana", "google", "slack", "zoom"}
    cfg = sandbox.configure(rate_limits="vendor", time_scale=0.5)
    assert cfg["rate_limits"] == "vendor" and cfg["time_scale"] == 0.5
    sandbox.configure(rate_limits="off", time_scale=1.0)
    page = httpx.get(sandbox.root + "/")
    assert page.status_code == 200 and "<h2>hubspot</h2>" in page.text


def test_every_vendor_line_has_a_url(sandbox):
    urls = sandbox.urls
    assert list(urls) == list(VENDOR_LINES)
    assert all(u.startswith(sandbox.root) for u in urls.values())
