"""The administrator's steps that no vendor API offers, played in the sandbox through its admin
endpoints: what turns `onboard sandbox --account fresh` into an account `onboard doctor` passes once
`onboard setup` has run. In a real account these are the "fix:" lines of the doctor, done in each
vendor's admin console (docs/live-setup.md):
- every scope an app was not granted added to it (the app installed again);
- each meeting host's Google calendar shared with the delegated user ("Make changes to events");
- everyone who sends the SOP's mail a verified send-as alias of the mailbox (optional: without it mail
  goes from the mailbox with their address as Reply-To);
- a Zoom licence for everyone who hosts the SOP's meetings (a Basic user's meetings end after 40 minutes).

    ONBOARD_SANDBOX_URL=http://127.0.0.1:8765 uv run python -m app.sandbox_admin
"""

from __future__ import annotations

import httpx

from flows.preflight import meeting_hosts
from services.settings import Settings


def grant_scopes(root: str) -> dict[str, list[str]]:
    """Add every withheld scope to its vendor's app; {vendor: the scopes added}."""
    withheld = httpx.get(f"{root}/_sandbox/admin/scopes", timeout=30).raise_for_status().json()["withheld"]
    for vendor, scopes in withheld.items():
        httpx.post(f"{root}/_sandbox/admin/scopes", json={"vendor": vendor, "grant": scopes},
                   timeout=30).raise_for_status()
    return withheld


def share_calendars(root: str, settings: Settings) -> list[str]:
    """Each meeting host shares their calendar with the delegated user; the hosts."""
    hosts = list(meeting_hosts(settings.profile, settings.rules))
    for email in hosts:
        httpx.post(f"{root}/_sandbox/google/admin/calendars/{email}/share", timeout=30).raise_for_status()
    return hosts


def add_send_as(root: str, settings: Settings) -> list[str]:
    """Everyone who sends the SOP's mail (the company address, the meeting hosts) a send-as alias."""
    senders = sorted({str(settings.profile.company.email), *meeting_hosts(settings.profile, settings.rules)})
    for email in senders:
        httpx.post(f"{root}/_sandbox/google/admin/send-as/{email}", timeout=30).raise_for_status()
    return senders


def license_hosts(root: str, settings: Settings) -> list[str]:
    """Give every meeting host a Zoom licence (type 2); the hosts licensed."""
    hosts = list(meeting_hosts(settings.profile, settings.rules))
    for email in hosts:
        httpx.post(f"{root}/_sandbox/zoom/admin/users/{email}/license", json={"type": 2}, timeout=30).raise_for_status()
    return hosts


def play_administrator(root: str, settings: Settings) -> list[str]:
    """Every step above; one line per step done."""
    lines = [f"✔ {vendor:<8}scopes added: {', '.join(scopes)}" for vendor, scopes in grant_scopes(root).items()]
    lines += [f"✔ google  calendar of {email} shared with the delegated user" for email in share_calendars(root, settings)]
    lines += [f"✔ google  {email} a send-as alias of the mailbox" for email in add_send_as(root, settings)]
    lines += [f"✔ zoom    {email}: licensed" for email in license_hosts(root, settings)]
    return lines


def main() -> int:
    settings = Settings()
    if settings.sandbox_url is None:
        raise SystemExit("set ONBOARD_SANDBOX_URL to the sandbox to play the administrator in")
    for line in play_administrator(str(settings.sandbox_url).rstrip("/"), settings):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
