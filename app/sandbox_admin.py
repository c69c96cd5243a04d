"""The administrator's steps that no vendor API offers, played in the sandbox through its admin
endpoints: what turns `onboard sandbox --account fresh` into an account `onboard doctor` passes once
`onboard setup` has run. Today: a Zoom licence for everyone who hosts the SOP's meetings (a Basic
user's meetings end after 40 minutes). In a real account these are the "fix:" lines of the doctor,
done in each vendor's admin console (docs/live-setup.md).

    ONBOARD_SANDBOX_URL=http://127.0.0.1:8765 uv run python -m app.sandbox_admin
"""

from __future__ import annotations

import httpx

from flows.preflight import meeting_hosts
from services.settings import Settings


def license_hosts(root: str, settings: Settings) -> list[str]:
    """Give every meeting host a Zoom licence (type 2); the hosts licensed."""
    hosts = list(meeting_hosts(settings.profile, settings.rules))
    for email in hosts:
        httpx.post(f"{root}/_sandbox/zoom/admin/users/{email}/license", json={"type": 2}, timeout=30).raise_for_status()
    return hosts


def main() -> int:
    settings = Settings()
    if settings.sandbox_url is None:
        raise SystemExit("set ONBOARD_SANDBOX_URL to the sandbox to play the administrator in")
    for email in license_hosts(str(settings.sandbox_url).rstrip("/"), settings):
        print(f"✔ zoom    {email}: licensed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
