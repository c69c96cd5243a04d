"""Slack for the onboarding SOP, on the official slack-sdk ``WebClient`` (slack-sdk 3.47).

``connect(token, base_url=None)`` builds the ``WebClient``, pointed at the sandbox when ``base_url``
is given and at slack.com/api otherwise, and returns a ``SlackChat``: the operations the SOP needs
(people, channels, messages), answering frozen dataclasses (``Channel``, ``Message``, each built by
its ``from_api``). ``channel_name`` and ``escape`` make client names safe as channel names and text.

Budgets: every call first takes the slots of the worker's budget for its Web API method's tier and,
for ``chat.postMessage``, for its channel (``budget.slack``: about 1 post / s per channel).

Errors: ``translate`` maps the SDK's ``SlackApiError`` (HTTP 429, or Slack's ``"ok": false`` error
code) and transport errors to ``integrations.errors``.

Retries: the SDK's own retry handlers are off (``retry_handlers=[]``): ``integrations.retry`` alone
waits out 429s using Slack's ``Retry-After`` and retries 5xx/connection errors only for idempotent
calls. (The SDK's default ConnectionErrorRetryHandler would otherwise re-send a plain
chat.postMessage after a dropped connection.) Find-or-create operations are retried as a whole.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from . import budget, calls, retry
from .errors import Conflict, IntegrationError, InvalidInput, MissingScope, NotFound, RateLimited, Transient

VENDOR = "slack"
# The bot token scopes the SOP needs (docs/live-setup.md): public channels made, read and written,
# DMs opened, colleagues found by email
SCOPES = ("channels:manage", "channels:read", "channels:history", "chat:write", "im:write", "users:read",
          "users:read.email")
T = TypeVar("T")

DEDUPE_EVENT = "onboarding_post"  # message metadata event_type carrying our dedupe key

# Slack "ok": false codes that mean the same to a flow
_NOT_FOUND = {"channel_not_found", "users_not_found", "user_not_found", "thread_not_found", "is_archived"}
_TRANSIENT = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
_INVALID = {
    "no_text", "too_long", "msg_too_long", "no_user", "cant_invite_self", "cant_invite", "already_in_channel",
    "already_archived", "cant_archive_general", "invalid_arguments", "invalid_cursor", "invalid_limit",
    "missing_argument", "restricted_action", "not_in_channel", "method_not_supported_for_channel_type",
}


# --- results: frozen dataclasses, each built from the API's answer (a dict) by its from_api


@dataclass(frozen=True)
class Channel:
    """A Slack conversation (public/private channel or DM)."""

    id: str
    name: str
    is_private: bool
    is_archived: bool
    topic: str = ""
    purpose: str = ""
    # True when ensure_channel made it, False when it adopted an existing one; not part of equality
    created: bool = field(default=False, compare=False)

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Channel:
        return cls(
            id=raw["id"],
            name=raw.get("name", ""),
            is_private=bool(raw.get("is_private") or raw.get("is_im")),
            is_archived=bool(raw.get("is_archived")),
            topic=(raw.get("topic") or {}).get("value", ""),
            purpose=(raw.get("purpose") or {}).get("value", ""),
        )


@dataclass(frozen=True)
class Message:
    """One message as read from or written to a conversation."""

    channel: str
    ts: str
    text: str
    user: str | None = None
    bot_id: str | None = None
    thread_ts: str | None = None
    reply_count: int = 0
    subtype: str | None = None
    dedupe_key: str | None = None

    @classmethod
    def from_api(cls, raw: dict[str, Any], *, channel: str) -> Message:
        """``raw`` as read from (or posted to) ``channel``, which Slack does not repeat in each message."""
        metadata = raw.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        dedupe = payload.get("dedupe_key") if metadata.get("event_type") == DEDUPE_EVENT else None
        return cls(
            channel=channel,
            ts=raw["ts"],
            text=raw.get("text", ""),
            user=raw.get("user"),
            bot_id=raw.get("bot_id"),
            thread_ts=raw.get("thread_ts"),
            reply_count=int(raw.get("reply_count", 0)),
            subtype=raw.get("subtype"),
            dedupe_key=dedupe,
        )


# --- connect


def connect(token: str, base_url: str | None = None, *, timeout: int = 30) -> SlackChat:
    """A ``SlackChat`` for ``token``: the sandbox at ``base_url`` or live Slack when None."""
    client = WebClient(
        token=token,
        base_url=base_url or WebClient.BASE_URL,
        timeout=timeout,
        retry_handlers=[],  # retries live in integrations.retry (see module docstring)
    )
    return SlackChat(client)


# --- errors


def translate(exc: Exception) -> Exception:
    """``exc`` as the ``integrations.errors`` exception it means (by HTTP status and Slack's error code;
    connection errors and timeouts are Transient); any other exception is returned unchanged."""
    if isinstance(exc, (URLError, TimeoutError, ConnectionError)):
        return Transient(VENDOR, f"connection failed: {type(exc).__name__}")
    if not isinstance(exc, SlackApiError):
        return exc
    response = exc.response
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or f"http_{status}")
    if status == 429 or code in ("ratelimited", "rate_limited"):
        after = response.headers.get("Retry-After") or response.headers.get("retry-after")
        return RateLimited(VENDOR, code, retry_after=float(after) if after else None, status=status)
    if status >= 500 or code in _TRANSIENT:
        return Transient(VENDOR, code, status=status)
    if code == "name_taken":
        return Conflict(VENDOR, code, status=status)
    if code == "missing_scope":  # {"needed": "users:read.email", "provided": "chat:write,…"}
        needed = str(data.get("needed") or "")
        return MissingScope(VENDOR, f"missing_scope: the bot token needs {needed} (it has {data.get('provided', '')})",
                            needed=tuple(n for n in needed.split(",") if n), status=status)
    if code in _NOT_FOUND:
        return NotFound(VENDOR, code, status=status)
    if code.startswith("invalid_") or code in _INVALID:
        return InvalidInput(VENDOR, code, status=status)
    return IntegrationError(VENDOR, code, status=status)


# --- the client


class SlackChat:
    """The Slack operations the SOP needs: people, channels and messages."""

    def __init__(self, client: WebClient, *, page_size: int = 200) -> None:
        self._client = client
        self._page_size = page_size  # items per conversations.list / history page
        self._bot_user_id: str | None = None

    def _call(self, fn: Callable[[], T], *, idempotent: bool, method: str, channel: str | None = None,
              attempts: int | None = None) -> T:
        """One Web API call of ``method``: the slots of the worker's budget (the method's tier; for a post
        its ``channel``'s too), the call, its errors through ``translate``, retried per ``retry``
        (``attempts=1`` inside an operation retried as a whole)."""
        return calls.call(fn, idempotent=idempotent, slot=lambda: budget.slack(method, channel), translate=translate,
                          attempts=attempts)

    # ------------------------------------------------------------------ people

    def scopes(self) -> set[str]:
        """The bot token's scopes, from the ``x-oauth-scopes`` header Slack adds to every answer."""
        response = self._call(lambda: self._client.auth_test(), idempotent=True, method="auth.test")
        header = {k.lower(): v for k, v in response.headers.items()}.get("x-oauth-scopes", "")
        return {s.strip() for s in header.split(",") if s.strip()}

    def bot_user_id(self) -> str:
        """The bot's own user id (``auth.test``), cached after the first call."""
        if self._bot_user_id is None:
            self._bot_user_id = self._call(lambda: self._client.auth_test(), idempotent=True,
                                           method="auth.test")["user_id"]
        return self._bot_user_id

    def user_id_by_email(self, email: str) -> str | None:
        """The workspace member with this email, or None when nobody has it."""
        try:
            data = self._call(lambda: self._client.users_lookupByEmail(email=email), idempotent=True,
                              method="users.lookupByEmail")
        except NotFound:
            return None
        return data["user"]["id"]

    # ------------------------------------------------------------------ channels

    def ensure_channel(self, name: str, is_private: bool = False) -> Channel:
        """The channel called ``name``, created if missing (find-or-create, safe to re-run).

        Raises Conflict when the name belongs to an archived channel or to one the bot cannot see,
        and InvalidInput when ``name`` breaks Slack's naming rules (see ``channel_name``)."""
        try:
            # idempotent: a retry after a 5xx that did create ends in name_taken → adopted below
            data = self._call(lambda: self._client.conversations_create(name=name, is_private=is_private),
                              idempotent=True, method="conversations.create")
            return replace(Channel.from_api(data["channel"]), created=True)
        except Conflict:
            existing = self._find_channel(name)
        if existing is None:
            raise Conflict(VENDOR, f"channel name taken by a channel the bot cannot see: {name}")
        if existing.is_archived:
            raise Conflict(VENDOR, f"channel #{name} exists but is archived", existing_id=existing.id)
        return existing

    def _find_channel(self, name: str) -> Channel | None:
        cursor = None
        while True:
            data = self._call(
                lambda: self._client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=False,
                    limit=self._page_size,
                    cursor=cursor,
                ),
                idempotent=True,
                method="conversations.list",
            )
            for ch in data["channels"]:
                if ch["name"] == name:
                    return Channel.from_api(ch)
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def channel_info(self, channel_id: str) -> Channel:
        """The channel's current state; NotFound when it does not exist."""
        data = self._call(lambda: self._client.conversations_info(channel=channel_id), idempotent=True,
                          method="conversations.info")
        return Channel.from_api(data["channel"])

    def invite(self, channel_id: str, user_ids: Iterable[str]) -> None:
        """Add people to the channel; people already in it are fine (idempotent)."""
        pending = list(dict.fromkeys(u for u in user_ids if u))
        while pending:
            users = pending
            already = self._call(lambda: self._invite_once(channel_id, users), idempotent=True,
                                 method="conversations.invite")
            if already is None:  # Slack named no user: settle it one person at a time
                for user in users:
                    self.invite(channel_id, [user])
                return
            if not already & set(users):  # everyone left was invited
                return
            pending = [u for u in users if u not in already]

    def _invite_once(self, channel_id: str, users: list[str]) -> set[str] | None:
        """Invite ``users``; returns who was already in (empty when all were invited).

        Without ``force`` one bad id fails the whole call, so already-members are dropped and the
        rest re-invited by ``invite``; ``errors[]`` names them per user."""
        try:
            self._client.conversations_invite(channel=channel_id, users=users)
            return set()
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            if exc.response.status_code != 200 or data.get("error") != "already_in_channel":
                raise
            named = {e.get("user") for e in data.get("errors") or [] if e.get("error") == "already_in_channel"}
            if named:
                return named
            return set(users) if len(users) == 1 else None

    def set_topic(self, channel_id: str, topic: str) -> Channel:
        """Set the channel topic (≤250 chars); skipped when it already says that."""
        return self._set_text(channel_id, "topic", topic)

    def set_purpose(self, channel_id: str, purpose: str) -> Channel:
        """Set the channel purpose (≤250 chars); skipped when it already says that."""
        return self._set_text(channel_id, "purpose", purpose)

    def _set_text(self, channel_id: str, field: str, value: str) -> Channel:
        current = self.channel_info(channel_id)
        if getattr(current, field) == value:
            return current
        if field == "topic":
            sdk_method, method = self._client.conversations_setTopic, "conversations.setTopic"
        else:
            sdk_method, method = self._client.conversations_setPurpose, "conversations.setPurpose"
        data = self._call(lambda: sdk_method(channel=channel_id, **{field: value}), idempotent=True, method=method)
        return Channel.from_api(data["channel"])

    def archive(self, channel_id: str) -> None:
        """Archive the channel; an already archived one is fine."""
        try:
            self._call(lambda: self._client.conversations_archive(channel=channel_id), idempotent=True,
                       method="conversations.archive")
        except InvalidInput as exc:
            if exc.detail != "already_archived":
                raise

    # ------------------------------------------------------------------ messages

    def post(
        self,
        channel_or_user: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        *,
        dedupe_key: str | None = None,
        thread_ts: str | None = None,
    ) -> Message:
        """Post ``text`` (the notification/fallback text) and optional Block Kit ``blocks``.

        ``channel_or_user`` is a channel id or a user id (→ the bot's DM with them). With
        ``dedupe_key`` the message carries it as metadata and a re-run returns the earlier message
        instead of posting twice (and the call becomes safe to retry after a 5xx).

        ``text`` is mrkdwn without control sequences: ``&``, ``<`` and ``>`` are escaped as Slack asks,
        so a client named ``<!channel>`` is printed, not a mention of everyone."""
        kwargs: dict[str, Any] = {"text": escape(text)}
        if blocks is not None:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        if dedupe_key is None:
            data = self._call(lambda: self._client.chat_postMessage(channel=channel_or_user, **kwargs),
                              idempotent=False, method="chat.postMessage", channel=channel_or_user)
            return Message.from_api(data["message"], channel=data["channel"])

        def find_or_post() -> Message:
            channel = self._conversation_id(channel_or_user)
            for msg in self._history_raw(channel, None, replies=bool(thread_ts), thread_ts=thread_ts):
                if msg.dedupe_key == dedupe_key:
                    return msg
            metadata = {"event_type": DEDUPE_EVENT, "event_payload": {"dedupe_key": dedupe_key}}
            data = self._call(lambda: self._client.chat_postMessage(channel=channel, metadata=metadata, **kwargs),
                              idempotent=False, method="chat.postMessage", channel=channel, attempts=1)
            return Message.from_api(data["message"], channel=data["channel"])

        return retry.call(find_or_post, idempotent=True)

    def _conversation_id(self, channel_or_user: str) -> str:
        """A user id becomes the bot's DM channel with them (``conversations.open``)."""
        if channel_or_user[:1] in ("U", "W"):
            data = self._call(lambda: self._client.conversations_open(users=[channel_or_user]), idempotent=True,
                              method="conversations.open", attempts=1)
            return data["channel"]["id"]
        return channel_or_user

    def history(self, channel_id: str, oldest: str | None = None) -> list[Message]:
        """Top-level messages newer than ``oldest`` (a ts), oldest first; threads show reply_count."""
        return list(reversed(retry.call(lambda: self._history_raw(channel_id, oldest), idempotent=True)))

    def _history_raw(
        self, channel_id: str, oldest: str | None, *, replies: bool = False, thread_ts: str | None = None
    ) -> list[Message]:
        """Every page of conversations.history (newest first), or of one thread's replies."""
        out: list[Message] = []
        cursor = None
        while True:
            args: dict[str, Any] = {"channel": channel_id, "limit": self._page_size, "include_all_metadata": True}
            if oldest:
                args["oldest"] = oldest
            if cursor:
                args["cursor"] = cursor
            if replies:
                data = self._call(lambda: self._client.conversations_replies(ts=thread_ts, **args), idempotent=True,
                                  method="conversations.replies", attempts=1)
            else:
                data = self._call(lambda: self._client.conversations_history(**args), idempotent=True,
                                  method="conversations.history", attempts=1)
            out += [Message.from_api(m, channel=channel_id) for m in data["messages"]]
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return out


# --- naming: client names as channel names and message text

_TRANSLIT = str.maketrans({
    "ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d",
    "ł": "l", "Ł": "l", "þ": "th", "Þ": "th", "ð": "d", "ı": "i", "&": " and ", "@": " at ", "+": " plus ",
})


def escape(text: str) -> str:
    """Slack's three escapes for message text (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def channel_name(client_name: str, suffix: str = "") -> str:
    """A valid Slack channel name for ``client_name`` (+ ``-suffix``): lowercase ASCII letters,
    digits and single hyphens, at most 80 characters, never empty.

    Accents are transliterated ("Café Müller" → "cafe-muller"); scripts with no ASCII form fall back
    to ``client-<hash>`` so two different names still get different channels."""
    tail = _slug(suffix)[:79]
    base = _slug(client_name)
    if not base:
        base = "client-" + hashlib.sha1(client_name.encode()).hexdigest()[:8]
    room = 80 - (len(tail) + 1 if tail else 0)
    base = base[:room].rstrip("-") or base[:room]
    return f"{base}-{tail}" if tail else base
