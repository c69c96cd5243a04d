"""Gmail side effects: every client and staff email of the SOP."""

from __future__ import annotations

from collections.abc import Iterable

from integrations.google import Gmail, SentMessage
from services.rendering import Rendered
from tasks.base import side_effect


def message_id(key: str, domain: str) -> str:
    """A deterministic Message-ID, so a re-run finds the email already sent and sends nothing."""
    safe = "".join(ch if ch.isalnum() or ch in ".-" else "-" for ch in key)
    return f"<{safe}@{domain or 'onboarding.local'}>"


@side_effect(done_key=lambda p: message_id(p["key"], p["domain"]))
def send_email(gmail: Gmail, to: str | list[str], email: Rendered, key: str, domain: str,
               cc: Iterable[str] = (), sender: str | None = None) -> SentMessage:
    """Send one rendered email; ``key`` names it within the client's run (e.g. ``welcome``)."""
    return gmail.send(to, email.subject, email.body, cc=list(cc), sender=sender, message_id=message_id(key, domain))
