"""Keap side effects: the lead or client as a Keap contact, and an SOP stage's tag on it (the company's
Keap campaigns start from the tags: nurture, onboarding drip, win-back)."""

from __future__ import annotations

from integrations.keap import Contact, KeapMarketing, split_name
from tasks.base import side_effect


@side_effect()
def add_contact(keap: KeapMarketing, email: str, name: str, opt_in_reason: str) -> Contact:
    """The contact with ``email`` (found, or made with ``opt_in_reason`` as its opt-in): never a second
    one, and an existing contact's opt-in is left as the client set it."""
    given, family = split_name(name)
    return keap.find_or_create_contact(email, given, family, opt_in_reason=opt_in_reason)


@side_effect()
def tag_contact(keap: KeapMarketing, contact_id: int, tag_name: str) -> bool:
    """The tag called ``tag_name`` (made once per account) on the contact; True when applied now, False
    when the contact already had it (applied once: a campaign it starts does not start twice)."""
    tag = keap.ensure_tag(tag_name, "Applied by the client-onboarding SOP runs")
    return keap.apply_tag(tag.id, contact_id)
