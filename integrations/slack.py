"""Slack for the onboarding SOP, on the official slack-sdk ``WebClient``.

Retries: the SDK's own retry handlers are switched off (``retry_handlers=[]``) and every call goes
through ``integrations.retry.call``, which waits out 429s using Slack's ``Retry-After`` and retries
5xx/connection errors only for idempotent calls. (The SDK's default ConnectionErrorRetryHandler
would otherwise re-send a plain chat.postMessage after a dropped connection.)
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

from . import budget, retry
from .errors import Conflict, IntegrationError, InvalidInput, NotFound, RateLimited, Transient

VENDOR = "slack"
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


def connect(token: str, base_url: str | None = None, *, timeout: int = 30) -> SlackChat:
    """A ``SlackChat`` for ``token``: the sandbox at ``base_url`` or live Slack when None."""
    client = WebClient(
        token=token,
        base_url=base_url or WebClient.BASE_URL,
        timeout=timeout,
        retry_handlers=[],  # retries live in integrations.retry (see module docstring)
    )
    api_call = client.api_call  # every method of the WebClient sends through it

    def budgeted(api_method: str, **kwargs: Any) -> Any:
        args = kwargs.get("json") or kwargs.get("data") or kwargs.get("params") or {}
        with budget.slack(api_method, args.get("channel")):  # the method's tier; a post's channel too
            return api_call(api_method, **kwargs)

    client.api_call = budgeted  # type: ignore[method-assign]
    return SlackChat(client)


class SlackChat:
    """The Slack operations the SOP needs: people, channels and messages."""

    def __init__(self, client: WebClient, *, page_size: int = 200) -> None:
        self._client = client
        self._page_size = page_size  # items per conversations.list / history page
        self._bot_user_id: str | None = None

    # ------------------------------------------------------------------ people

    def bot_user_id(self) -> str:
        """The bot's own user id (``auth.test``), cached after the first call."""
        if self._bot_user_id is None:
            self._bot_user_id = _call(lambda: self._client.auth_test(), idempotent=True)["user_id"]
        return self._bot_user_id

    def user_id_by_email(self, email: str) -> str | None:
        """The workspace member with this email, or None when nobody has it."""
        try:
            data = _call(lambda: self._client.users_lookupByEmail(email=email), idempotent=True)
        except NotFound:
            return None
        return data["user"]["id"]

    # ------------------------------------------------------------------ channels

    def ensure_channel(self, name: str, is_private: bool = False) -> Channel:
        """The channel called ``name``, created if missing (find-or-create, safe to re-run).

        Raises Conflict when the name belongs to an archived channel or to one the bot cannot see,
        and InvalidInput when ``name`` breaks Slack's naming rules (see ``channel_name``)."""

        def create() -> Channel:
            data = _raw(lambda: self._client.conversations_create(name=name, is_private=is_private))
            return replace(_channel(data["channel"]), created=True)

        try:
            # idempotent: a retry after a 5xx that did create ends in name_taken → adopted below
            return retry.call(create, idempotent=True)
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
            data = _call(
                lambda: self._client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=False,
                    limit=self._page_size,
                    cursor=cursor,
                ),
                idempotent=True,
            )
            for ch in data["channels"]:
                if ch["name"] == name:
                    return _channel(ch)
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def channel_info(self, channel_id: str) -> Channel:
        """The channel's current state; NotFound when it does not exist."""
        data = _call(lambda: self._client.conversations_info(channel=channel_id), idempotent=True)
        return _channel(data["channel"])

    def invite(self, channel_id: str, user_ids: Iterable[str]) -> None:
        """Add people to the channel; people already in it are fine (idempotent)."""
        pending = list(dict.fromkeys(u for u in user_ids if u))
        while pending:
            users = pending
            already = _call(lambda: self._invite_once(channel_id, users), idempotent=True)
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
        method = self._client.conversations_setTopic if field == "topic" else self._client.conversations_setPurpose
        data = _call(lambda: method(channel=channel_id, **{field: value}), idempotent=True)
        return _channel(data["channel"])

    def archive(self, channel_id: str) -> None:
        """Archive the channel; an already archived one is fine."""
        try:
            _call(lambda: self._client.conversations_archive(channel=channel_id), idempotent=True)
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
            data = _call(lambda: self._client.chat_postMessage(channel=channel_or_user, **kwargs), idempotent=False)
            return _message(data["channel"], data["message"])

        def find_or_post() -> Message:
            channel = self._conversation_id(channel_or_user)
            for msg in self._history_raw(channel, None, replies=bool(thread_ts), thread_ts=thread_ts):
                if msg.dedupe_key == dedupe_key:
                    return msg
            metadata = {"event_type": DEDUPE_EVENT, "event_payload": {"dedupe_key": dedupe_key}}
            data = _raw(lambda: self._client.chat_postMessage(channel=channel, metadata=metadata, **kwargs))
            return _message(data["channel"], data["message"])

        return retry.call(find_or_post, idempotent=True)

    def _conversation_id(self, channel_or_user: str) -> str:
        """A user id becomes the bot's DM channel with them (``conversations.open``)."""
        if channel_or_user[:1] in ("U", "W"):
            data = _raw(lambda: self._client.conversations_open(users=[channel_or_user]))
            return data["channel"]["id"]
        return channel_or_user

    def history(self, channel_id: str, oldest: str | None = None) -> list[Message]:
        """Top-level messages newer than ``oldest`` (a ts), oldest first; threads show reply_count."""
        return list(reversed(_call(lambda: self._history_raw(channel_id, oldest), idempotent=True)))

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
                data = _raw(lambda: self._client.conversations_replies(ts=thread_ts, **args))
            else:
                data = _raw(lambda: self._client.conversations_history(**args))
            out += [_message(channel_id, m) for m in data["messages"]]
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return out


# ---------------------------------------------------------------------- naming

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


# ---------------------------------------------------------------------- calls and errors


def _call(fn: Callable[[], T], *, idempotent: bool) -> T:
    """``fn`` with Slack errors mapped and retried per integrations.retry."""
    return retry.call(lambda: _raw(fn), idempotent=idempotent)


def _raw(fn: Callable[[], T]) -> T:
    """``fn`` once, with SDK and network errors turned into integrations.errors."""
    try:
        return fn()
    except SlackApiError as exc:
        raise _mapped(exc) from exc
    except (URLError, TimeoutError, ConnectionError) as exc:
        raise Transient(VENDOR, f"connection failed: {type(exc).__name__}") from exc


def _mapped(exc: SlackApiError) -> IntegrationError:
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
    if code in _NOT_FOUND:
        return NotFound(VENDOR, code, status=status)
    if code.startswith("invalid_") or code in _INVALID:
        return InvalidInput(VENDOR, code, status=status)
    return IntegrationError(VENDOR, code, status=status)


def _channel(obj: dict[str, Any]) -> Channel:
    return Channel(
        id=obj["id"],
        name=obj.get("name", ""),
        is_private=bool(obj.get("is_private") or obj.get("is_im")),
        is_archived=bool(obj.get("is_archived")),
        topic=(obj.get("topic") or {}).get("value", ""),
        purpose=(obj.get("purpose") or {}).get("value", ""),
    )


def _message(channel: str, obj: dict[str, Any]) -> Message:
    payload = ((obj.get("metadata") or {}).get("event_payload")) or {}
    dedupe = payload.get("dedupe_key") if (obj.get("metadata") or {}).get("event_type") == DEDUPE_EVENT else None
    return Message(
        channel=channel,
        ts=obj["ts"],
        text=obj.get("text", ""),
        user=obj.get("user"),
        bot_id=obj.get("bot_id"),
        thread_ts=obj.get("thread_ts"),
        reply_count=int(obj.get("reply_count", 0)),
        subtype=obj.get("subtype"),
        dedupe_key=dedupe,
    )
