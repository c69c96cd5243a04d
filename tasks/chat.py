"""Slack side effects: the client channel, its members and posts, and reminders to staff."""

from __future__ import annotations

from integrations.errors import Conflict
from integrations.slack import Channel, Message, SlackChat, channel_name

from .base import step


@step()
def create_client_channel(slack: SlackChat, client_name: str, client_id: str, known_id: str | None,
                          taken: set[str] = frozenset()) -> Channel:
    """The client's channel: the one recorded for this client (``known_id``) on a re-run, else the one
    named from the client (valid for any name), created or adopted. A channel of that name that is
    recorded for another client (``taken``: channel ids on other companies), or archived, is not
    adopted: the client id then makes the name unique. Adopting an unrecorded one is what lets a run
    that crashed between creating the channel and recording it finish without a second channel."""
    if known_id:
        return slack.channel_info(known_id)
    try:
        channel = slack.ensure_channel(channel_name(client_name))
        if channel.created or channel.id not in taken:
            return channel
    except Conflict:
        pass
    return slack.ensure_channel(channel_name(client_name, suffix=client_id.lower()))


@step()
def invite_team(slack: SlackChat, channel_id: str, emails: list[str]) -> list[str]:
    """Invite everyone who has a Slack account (looked up by email); returns who was not found."""
    ids, missing = [], []
    for email in emails:
        uid = slack.user_id_by_email(email)
        (ids if uid else missing).append(uid or email)
    if ids:
        slack.invite(channel_id, ids)
    return missing


@step()
def describe_channel(slack: SlackChat, channel_id: str, topic: str, purpose: str) -> Channel:
    slack.set_topic(channel_id, topic)
    return slack.set_purpose(channel_id, purpose)


@step()
def post(slack: SlackChat, channel_id: str, text: str, key: str) -> Message:
    """A message, posted once per ``key``."""
    return slack.post(channel_id, text, dedupe_key=key)


@step()
def remind_on_slack(slack: SlackChat, email: str, text: str, key: str) -> Message | None:
    """A direct message to a team member; None when they have no Slack account."""
    uid = slack.user_id_by_email(email)
    return slack.post(uid, text, dedupe_key=key) if uid else None
