"""Where each official SDK points for an offline sandbox served at ``root`` (``onboard sandbox``).

Dependency-free on purpose: production code learns the sandbox's URLs here and never imports the
sandbox package. The sandbox serves each vendor under its own prefix; a test checks that these URLs
and the sandbox's own agree.
"""

from __future__ import annotations


def sdk_urls(root: str) -> dict[str, str]:
    """Base URL each SDK takes for a sandbox at ``root`` (no trailing slash)."""
    google = f"{root}/google/"  # Gmail and Forms method paths already start with gmail/v1, v1/forms
    return {
        "hubspot": f"{root}/hubspot",
        "asana": f"{root}/asana/api/1.0",
        "drive": f"{google}drive/v3/",
        "forms": google,
        "gmail": google,
        "calendar": f"{google}calendar/v3/",
        "slack": f"{root}/slack/api/",
        "zoom": f"{root}/zoom/v2",
        "zoom-oauth": f"{root}/zoom/oauth/token",
        "keap": f"{root}/keap/crm/rest/v1",
        "dropbox_sign": f"{root}/dropbox_sign/v3",
        "dropbox": f"{root}/dropbox",  # api.dropboxapi.com → …/dropbox/api, content.dropboxapi.com → …/dropbox/content
    }

