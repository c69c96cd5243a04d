"""Slack side effects: the client channel, its members and posts, and reminders to staff."""

from __future__ import annotations

from integrations.slack import Channel, Message, SlackChat, channel_name
from tasks.base import in_parallel, side_effect


@side_effect()
def client_channel(slack: SlackChat, client_name: str, suffix: str = "") -> Channel:
    """The channel named from the client (valid for any name; ``suffix`` makes it unique), created or,
    when the name is taken, adopted (``created`` False). Conflict when the name is archived."""
    return slack.ensure_channel(channel_name(client_name, suffix=suffix))


@side_effect()
def invite_team(slack: SlackChat, channel_id: str, emails: list[str]) -> list[str]:
    """Invite everyone who has a Slack account (looked up by email, all at once); returns who was not found."""
    ids, missing = [], []
    found = in_parallel([lambda e=e: slack.user_id_by_email(e) for e in emails])
    for email, uid in zip(emails, found, strict=True):
        (ids if uid else missing).append(uid or email)
    if ids:
        slack.invite(channel_id, ids)
    return missing


@side_effect()
def describe_channel(slack: SlackChat, channel_id: str, topic: str, purpose: str) -> Channel:
    slack.set_topic(channel_id, topic)
    return slack.set_purpose(channel_id, purpose)


@side_effect(done_key=lambda p: p["key"])
def post(slack: SlackChat, channel_id: str, text: str, key: str) -> Message:
    """A message, posted once per ``key``."""
    return slack.post(channel_id, text, dedupe_key=key)


@side_effect()
def remind_on_slack(slack: SlackChat, email: str, text: str, key: str) -> Message | None:
    """A direct message to a team member; None when they have no Slack account."""
    uid = slack.user_id_by_email(email)
    return slack.post(uid, text, dedupe_key=key) if uid else None


@side_effect()
def archive_channel(slack: SlackChat, channel_id: str) -> None:
    """Archive the client's channel (an already archived one is fine)."""
    slack.archive(channel_id)


# --- reads: plain functions, not task runs (they change nothing: nothing to remember or retry as a step)


def channel_by_id(slack: SlackChat, channel_id: str) -> Channel:
    """The channel recorded for this client (a re-run)."""
    return slack.channel_info(channel_id)
