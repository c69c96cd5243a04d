"""Slack workspace state: users, conversations and messages, with the Web API's validation rules.

Every public method takes the already-parsed method arguments and returns the success body
(``{"ok": True, ...}``); failures raise ``slack_error(code)`` from errors.py (a VendorError: HTTP 200,
``{"ok": false, "error": code}``)
exactly as the Web API does [doc:docs.slack.dev/apis/web-api; CONTRACTS.md §4].
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import threading
from typing import Any

from vendor_sandbox.core.limits import Rule
from vendor_sandbox.core.store import VendorStore
from vendor_sandbox.core.vendor import SandboxContext

from .errors import rate_limited_error, slack_error

TEAM_NAME = "Sandbox Workspace"
TEAM_DOMAIN = "sandbox-workspace"
BOT_NAME = "onboarding-bot"
APP_ID = "A0SANDBOX01"

# chat.postMessage: "1 message per second per channel" [doc:docs.slack.dev/apis/web-api/rate-limits]
POST_PER_CHANNEL = Rule(1, 1.0, "chat.postMessage per channel")

_NAME_OK = re.compile(r"^[a-z0-9_-]+$")
_B36 = string.digits + string.ascii_uppercase


def _b36(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _B36[r] + out
        if n == 0:
            return out


def _truthy(v: Any) -> bool:
    return v is True or str(v).lower() in ("1", "true", "yes")


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop the sandbox's private bookkeeping (keys starting with ``_``)."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


class SlackBackend:
    """One Slack workspace with one installed bot (every token acts as that bot)."""

    def __init__(self, db: VendorStore, ctx: SandboxContext) -> None:
        self.db = db
        self.ctx = ctx
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ ids and time

    def _new_id(self, prefix: str) -> str:
        """Deterministic Slack-looking IDs: prefix + 10 upper-case base-36 characters."""
        n = self.db.next_int(f"id.{prefix}", 1)
        return prefix + "0" + _b36(n * 7919 + ord(prefix) * 104729 + 36**7).rjust(9, "0")[-9:]

    def _next_ts(self) -> str:
        """A unique, increasing message timestamp ``"1700000000.000100"`` from the sandbox clock."""
        with self._lock:
            micros = int(self.ctx.now().timestamp() * 1_000_000)
            meta = self.db.get("meta", "ts") or {"id": "ts", "last": 0}
            micros = max(micros, meta["last"] + 1)
            self.db.put("meta", "ts", {"id": "ts", "last": micros})
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _now(self) -> int:
        return int(self.ctx.now().timestamp())

    # ------------------------------------------------------------------ seed

    def team(self) -> dict[str, Any]:
        team = self.db.get("team", "team")
        if team is None:
            team = {"id": "team", "team_id": self._new_id("T"), "name": TEAM_NAME, "domain": TEAM_DOMAIN}
            self.db.put("team", "team", team)
        return team

    @property
    def team_id(self) -> str:
        return self.team()["team_id"]

    def bot(self) -> dict[str, Any]:
        """The bot user of the installed app (auth.test identity)."""
        meta = self.db.get("meta", "bot")
        if meta is None:
            bot_id, user_id = self._new_id("B"), self._new_id("U")
            self.db.put("user", user_id, self._user_obj(user_id, BOT_NAME, "Onboarding Bot", None, bot_id=bot_id))
            meta = self.db.put("meta", "bot", {"id": "bot", "bot_id": bot_id, "user_id": user_id})
        return meta

    def seed(self, team: list[dict[str, str]]) -> None:
        with self._lock:
            self.team()
            if self.db.get("user", "USLACKBOT") is None:
                slackbot = self._user_obj("USLACKBOT", "slackbot", "Slackbot", None, slackbot=True)
                self.db.put("user", "USLACKBOT", slackbot)
            bot = self.bot()
            humans = []
            for i, member in enumerate(team):
                user = self.find_user_by_email(member["email"]) or self.add_user(
                    member["name"], member["email"], owner=(i == 0)
                )
                humans.append(user["id"])
            if self.find_channel_by_name("general") is None:
                # #general holds every person; the bot is not in it until invited (as in a real install)
                ch = self._create_channel("general", is_private=False, creator=humans[0] if humans else bot["user_id"])
                ch["is_general"] = True
                ch["_members"] = humans
                self._save_channel(ch)

    def _user_obj(
        self,
        user_id: str,
        handle: str,
        real_name: str,
        email: str | None,
        *,
        bot_id: str | None = None,
        slackbot: bool = False,
        owner: bool = False,
    ) -> dict[str, Any]:
        first, _, last = real_name.partition(" ")
        avatar = hashlib.md5((email or handle).encode()).hexdigest()[:12]
        image = f"https://secure.gravatar.com/avatar/{avatar}.jpg?s=%d"
        profile: dict[str, Any] = {
            "title": "",
            "phone": "",
            "skype": "",
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": "" if bot_id else handle,
            "display_name_normalized": "" if bot_id else handle,
            "fields": {},
            "status_text": "",
            "status_emoji": "",
            "status_expiration": 0,
            "avatar_hash": avatar,
            "first_name": first,
            "last_name": last,
            "image_24": image % 24,
            "image_32": image % 32,
            "image_48": image % 48,
            "image_72": image % 72,
            "image_192": image % 192,
            "image_512": image % 512,
            "team": self.team_id,
        }
        if email:
            profile["email"] = email
        if bot_id:
            profile.update({"bot_id": bot_id, "api_app_id": APP_ID, "always_active": True})
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": handle,
            "deleted": False,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": owner,
            "is_owner": owner,
            "is_primary_owner": owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": bool(bot_id) or slackbot,
            "is_app_user": False,
            "updated": self._now(),
        }

    # ------------------------------------------------------------------ users

    def add_user(self, name: str, email: str, *, owner: bool = False) -> dict[str, Any]:
        """Someone joins the workspace (idempotent by email)."""
        with self._lock:
            existing = self.find_user_by_email(email)
            if existing:
                return existing
            handle = re.sub(r"[^a-z0-9._-]", "", email.split("@")[0].lower()) or "user"
            user_id = self._new_id("U")
            user = self._user_obj(user_id, handle, name, email, owner=owner)
            self.db.put("user", user_id, user)
            general = self.find_channel_by_name("general")
            if general is not None and user_id not in general["_members"]:
                general["_members"].append(user_id)
                self._save_channel(general)
            return user

    def find_user_by_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().lower()
        for u in self.db.list("user"):
            if (u["profile"].get("email") or "").lower() == wanted and not u["deleted"]:
                return u
        return None

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        return self.db.get("user", user_id)

    def users_lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "")
        if not email:
            raise slack_error("invalid_arguments")
        user = self.find_user_by_email(email)
        if user is None:
            raise slack_error("users_not_found")
        return {"ok": True, "user": user}

    def users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.get_user(str(args.get("user") or ""))
        if user is None:
            raise slack_error("user_not_found")
        return {"ok": True, "user": user}

    def users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        page, cursor = _paginate(self.db.list("user"), args, default_limit=0, max_limit=1000)
        return {"ok": True, "members": page, "cache_ts": self._now(), "response_metadata": {"next_cursor": cursor}}

    def auth_test(self) -> dict[str, Any]:
        bot = self.bot()
        return {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_NAME,
            "team_id": self.team_id,
            "user_id": bot["user_id"],
            "bot_id": bot["bot_id"],
            "is_enterprise_install": False,
        }

    # ------------------------------------------------------------------ conversations

    def find_channel_by_name(self, name: str) -> dict[str, Any] | None:
        for ch in self.db.list("channel"):
            if ch["name"] == name:
                return ch
        return None

    def _save_channel(self, ch: dict[str, Any]) -> None:
        ch["num_members"] = len(ch["_members"])
        self.db.put("channel", ch["id"], ch)

    def _view(self, ch: dict[str, Any]) -> dict[str, Any]:
        """A conversation as the bot sees it (``is_member`` depends on the caller)."""
        out = _public(ch)
        if not ch.get("is_im"):
            out["is_member"] = self.bot()["user_id"] in ch["_members"]
        return out

    def _create_channel(self, name: str, *, is_private: bool, creator: str) -> dict[str, Any]:
        empty = {"value": "", "creator": "", "last_set": 0}
        ch = {
            "id": self._new_id("C"),
            "name": name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "created": self._now(),
            "is_archived": False,
            "is_general": False,
            "unlinked": 0,
            "name_normalized": name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "creator": creator,
            "shared_team_ids": [self.team_id],
            "pending_connected_team_ids": [],
            "topic": dict(empty),
            "purpose": dict(empty),
            "previous_names": [],
            "_members": [creator],
        }
        self._save_channel(ch)
        return ch

    def conversation(self, channel_id: str) -> dict[str, Any]:
        """A channel or IM by id; ``channel_not_found`` otherwise."""
        ch = self.db.get("channel", channel_id) or self.db.get("im", channel_id)
        if ch is None:
            raise slack_error("channel_not_found")
        if ch.get("is_private") and self.bot()["user_id"] not in ch["_members"]:
            raise slack_error("channel_not_found")  # private channels are invisible to non-members
        return ch

    def resolve_channel(self, ref: str, *, open_dm: bool = True) -> dict[str, Any]:
        """What chat.postMessage accepts as ``channel``: C/G/D ids, a user id (→ DM) or a #name."""
        ref = (ref or "").strip()
        if not ref:
            raise slack_error("channel_not_found")
        if ref[0] in "UW" and self.get_user(ref) is not None and open_dm:
            return self.open_im(ref)
        if self.db.get("channel", ref) or self.db.get("im", ref):
            return self.conversation(ref)
        ch = self.find_channel_by_name(ref.lstrip("#"))
        if ch is None:
            raise slack_error("channel_not_found")
        return self.conversation(ch["id"])

    def _writable(self, ch: dict[str, Any], *, member_needed: bool = True) -> None:
        if ch.get("is_archived"):
            raise slack_error("is_archived")
        if member_needed and not ch.get("is_im") and self.bot()["user_id"] not in ch["_members"]:
            raise slack_error("not_in_channel")

    def conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = args.get("name")
        name = "" if name is None else str(name)
        with self._lock:
            _check_channel_name(name)
            if self.find_channel_by_name(name) is not None:
                raise slack_error("name_taken")  # archived channels keep their names
            bot = self.bot()["user_id"]
            ch = self._create_channel(name, is_private=_truthy(args.get("is_private")), creator=bot)
            self._system_message(ch, bot, "channel_join", f"<@{bot}> has joined the channel")
            return {"ok": True, "channel": self._view(ch)}

    def conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            ch = self.conversation(str(args.get("channel") or ""))
            if ch.get("is_im"):
                raise slack_error("method_not_supported_for_channel_type")
            self._writable(ch)
            raw = args.get("users") or ""
            ids = [u.strip() for u in (raw if isinstance(raw, list) else str(raw).split(",")) if u.strip()]
            if not ids:
                raise slack_error("no_user")
            if len(ids) > 1000:
                raise slack_error("too_many_users")
            bot = self.bot()["user_id"]
            errors, valid = [], []
            for uid in dict.fromkeys(ids):
                user = self.get_user(uid)
                if uid == bot:
                    code = "cant_invite_self"
                elif user is None or user["deleted"]:
                    code = "user_not_found"
                elif uid == "USLACKBOT":
                    code = "cant_invite"
                elif uid in ch["_members"]:
                    code = "already_in_channel"
                else:
                    valid.append(uid)
                    continue
                errors.append({"user": uid, "ok": False, "error": code})
            # without force, any bad id fails the whole call and nobody is invited
            if errors and not _truthy(args.get("force")):
                raise slack_error(errors[0]["error"], errors=errors)
            for uid in valid:
                ch["_members"].append(uid)
                self._system_message(ch, uid, "channel_join", f"<@{uid}> has joined the channel", inviter=bot)
            self._save_channel(ch)
            body: dict[str, Any] = {"ok": True, "channel": self._view(ch)}
            if errors:
                body["errors"] = errors
            return body

    def _set_text_field(self, args: dict[str, Any], field: str) -> dict[str, Any]:
        with self._lock:
            ch = self.conversation(str(args.get("channel") or ""))
            self._writable(ch)
            value = str(args.get(field) or "")
            if len(value) > 250:
                raise slack_error("too_long")
            bot = self.bot()["user_id"]
            ch[field] = {"value": value, "creator": bot, "last_set": self._now()}
            self._save_channel(ch)
            verb = "set the channel" if value else "cleared the channel"
            self._system_message(
                ch, bot, f"channel_{field}", f"{verb} {field}{': ' + value if value else ''}", **{field: value}
            )
            return {"ok": True, "channel": self._view(ch)}

    def conversations_set_topic(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._set_text_field(args, "topic")

    def conversations_set_purpose(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._set_text_field(args, "purpose")

    def conversations_archive(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            ch = self.conversation(str(args.get("channel") or ""))
            if ch.get("is_im"):
                raise slack_error("method_not_supported_for_channel_type")
            if ch["is_archived"]:
                raise slack_error("already_archived")
            if ch.get("is_general"):
                raise slack_error("cant_archive_general")
            self._writable(ch)
            ch["is_archived"] = True
            self._save_channel(ch)
            bot = self.bot()["user_id"]
            self._system_message(ch, bot, "channel_archive", "archived the channel")
            return {"ok": True}

    def conversations_unarchive(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            ch = self.conversation(str(args.get("channel") or ""))
            if not ch["is_archived"]:
                raise slack_error("not_archived")
            ch["is_archived"] = False
            self._save_channel(ch)
            return {"ok": True}

    def conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": self._view(self.conversation(str(args.get("channel") or "")))}

    def conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        types = {t.strip() for t in str(args.get("types") or "public_channel").split(",") if t.strip()}
        unknown = types - {"public_channel", "private_channel", "mpim", "im"}
        if unknown:
            raise slack_error("invalid_types")
        bot = self.bot()["user_id"]
        exclude_archived = _truthy(args.get("exclude_archived"))
        found = []
        for ch in self.db.list("channel"):
            kind = "private_channel" if ch["is_private"] else "public_channel"
            if kind not in types or (exclude_archived and ch["is_archived"]):
                continue
            if ch["is_private"] and bot not in ch["_members"]:
                continue
            found.append(self._view(ch))
        if "im" in types:
            found += [_public(im) for im in self.db.list("im")]
        page, cursor = _paginate(found, args, default_limit=100, max_limit=1000)
        return {"ok": True, "channels": page, "response_metadata": {"next_cursor": cursor}}

    def open_im(self, user_id: str) -> dict[str, Any]:
        """The bot's DM with ``user_id`` (created on first use)."""
        with self._lock:
            for im in self.db.list("im"):
                if im["user"] == user_id:
                    return im
            im = {
                "id": self._new_id("D"),
                "created": self._now(),
                "is_im": True,
                "is_org_shared": False,
                "is_archived": False,
                "is_open": True,
                "user": user_id,
                "is_user_deleted": False,
                "priority": 0,
                "_members": [self.bot()["user_id"], user_id],
            }
            self.db.put("im", im["id"], im)
            return im

    def conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            ch = self.conversation(str(args["channel"]))
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": ch["id"]}}
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise slack_error("users_list_not_supplied")
        if len(users) > 1:
            raise slack_error("not_supported")  # group DMs (mpim) are not emulated
        if self.get_user(users[0]) is None:
            raise slack_error("user_not_found")
        existed = any(im["user"] == users[0] for im in self.db.list("im"))
        im = self.open_im(users[0])
        return {"ok": True, "no_op": existed, "already_open": existed, "channel": {"id": im["id"]}}

    # ------------------------------------------------------------------ messages

    def _messages_kind(self, channel_id: str) -> str:
        return f"messages.{channel_id}"

    def _system_message(self, ch: dict[str, Any], user: str, subtype: str, text: str, **extra: Any) -> dict[str, Any]:
        msg = {"type": "message", "subtype": subtype, "user": user, "text": text, "ts": self._next_ts(), **extra}
        return self.db.put(self._messages_kind(ch["id"]), msg["ts"], msg)

    def add_message(
        self,
        ch: dict[str, Any],
        user_id: str,
        text: str,
        *,
        blocks: list | None = None,
        thread_ts: str | None = None,
        metadata: dict | None = None,
        as_bot: bool = False,
    ) -> dict[str, Any]:
        with self._lock:
            kind = self._messages_kind(ch["id"])
            msg: dict[str, Any] = {"user": user_id, "type": "message", "ts": self._next_ts(), "text": text}
            if as_bot:
                bot = self.bot()
                msg["bot_id"] = bot["bot_id"]
                msg["app_id"] = APP_ID
            if blocks:
                msg["blocks"] = blocks
            msg["team"] = self.team_id
            if metadata:
                msg["_metadata"] = metadata
            parent = self.db.get(kind, thread_ts) if thread_ts else None
            if parent is not None:
                parent_ts = parent.get("thread_ts", parent["ts"])
                parent = self.db.get(kind, parent_ts) or parent
                msg["thread_ts"] = parent["ts"]
                msg["parent_user_id"] = parent["user"]
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["reply_users"] = list(dict.fromkeys([*parent.get("reply_users", []), user_id]))
                parent["reply_users_count"] = len(parent["reply_users"])
                parent["latest_reply"] = msg["ts"]
                self.db.put(kind, parent["ts"], parent)
            elif thread_ts:
                raise slack_error("thread_not_found")
            self.db.put(kind, msg["ts"], msg)
            return msg

    def message_view(self, msg: dict[str, Any], *, with_metadata: bool) -> dict[str, Any]:
        out = _public(msg)
        # "app_id" is sent by Slack but is not in the published message schema; keep it internal-only
        out.pop("app_id", None)
        if with_metadata and msg.get("_metadata"):
            out["metadata"] = msg["_metadata"]
        return out

    def chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self.resolve_channel(str(args.get("channel") or ""))
        self._writable(ch)
        text = args.get("text")
        text = "" if text is None else str(text)
        blocks = _parse_blocks(args.get("blocks"))
        if not text.strip() and not blocks and not args.get("attachments"):
            raise slack_error("no_text")
        if len(text) > 40000:
            raise slack_error("msg_too_long")
        metadata = _parse_metadata(args.get("metadata"))
        limit = self.ctx.limiter.check(f"slack:chat.postMessage:{ch['id']}", POST_PER_CHANNEL)
        if not limit.allowed:
            raise rate_limited_error(limit.retry_after_header)
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        msg = self.add_message(
            ch, self.bot()["user_id"], text, blocks=blocks, thread_ts=thread_ts, metadata=metadata, as_bot=True
        )
        return {"ok": True, "channel": ch["id"], "ts": msg["ts"], "message": self.message_view(msg, with_metadata=True)}

    def _window(self, messages: list[dict[str, Any]], args: dict[str, Any]) -> list[dict[str, Any]]:
        oldest, latest = args.get("oldest"), args.get("latest")
        inclusive = _truthy(args.get("inclusive"))
        out = []
        for m in messages:
            t = float(m["ts"])
            if oldest not in (None, "") and (t < float(oldest) or (t == float(oldest) and not inclusive)):
                continue
            if latest not in (None, "") and (t > float(latest) or (t == float(latest) and not inclusive)):
                continue
            out.append(m)
        return out

    def conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self.conversation(str(args.get("channel") or ""))
        if not ch.get("is_im") and self.bot()["user_id"] not in ch["_members"]:
            raise slack_error("not_in_channel")
        msgs = [m for m in self.db.list(self._messages_kind(ch["id"])) if m.get("thread_ts", m["ts"]) == m["ts"]]
        msgs = sorted(self._window(msgs, args), key=lambda m: float(m["ts"]), reverse=True)  # newest first
        page, cursor = _paginate(msgs, args, default_limit=100, max_limit=999, key="ts")
        meta = _truthy(args.get("include_all_metadata"))
        body: dict[str, Any] = {
            "ok": True,
            "messages": [self.message_view(m, with_metadata=meta) for m in page],
            "has_more": bool(cursor),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if cursor:
            body["response_metadata"] = {"next_cursor": cursor}
        return body

    def conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self.conversation(str(args.get("channel") or ""))
        parent = self.db.get(self._messages_kind(ch["id"]), str(args.get("ts") or ""))
        if parent is None:
            raise slack_error("thread_not_found")
        root = parent.get("thread_ts", parent["ts"])
        msgs = [m for m in self.db.list(self._messages_kind(ch["id"])) if m.get("thread_ts", m["ts"]) == root]
        msgs = sorted(msgs, key=lambda m: float(m["ts"]))  # parent first, then replies oldest first
        page, cursor = _paginate(self._window(msgs, args), args, default_limit=1000, max_limit=1000, key="ts")
        meta = _truthy(args.get("include_all_metadata"))
        body: dict[str, Any] = {
            "ok": True,
            "messages": [self.message_view(m, with_metadata=meta) for m in page],
            "has_more": bool(cursor),
        }
        if cursor:
            body["response_metadata"] = {"next_cursor": cursor}
        return body


# ---------------------------------------------------------------------- validation helpers


def _check_channel_name(name: str) -> None:
    """conversations.create's rules: lowercase letters, numbers, hyphens, underscores; <= 80
    [doc:docs.slack.dev/reference/methods/conversations.create]. Never normalised."""
    if not name.strip():
        raise slack_error("invalid_name_required")
    if len(name) > 80:
        raise slack_error("invalid_name_maxlength")
    if not any(c.isalnum() for c in name):
        raise slack_error("invalid_name_punctuation")
    if not _NAME_OK.match(name):
        raise slack_error("invalid_name_specials")  # incl. upper case and spaces


def _paginate(
    items: list[dict[str, Any]], args: dict[str, Any], *, default_limit: int, max_limit: int, key: str = "id"
) -> tuple[list[dict[str, Any]], str]:
    """Cursor pagination: the cursor is base64 of the next item's key (opaque to clients)."""
    import base64

    try:
        limit = int(args.get("limit") or default_limit)
    except (TypeError, ValueError):
        raise slack_error("invalid_limit") from None
    if limit < 0:
        raise slack_error("invalid_limit")
    limit = min(limit, max_limit) if limit else max_limit
    start = 0
    cursor = args.get("cursor")
    if cursor:
        try:
            prefix, _, value = base64.b64decode(str(cursor), validate=True).decode().partition(":")
        except Exception:
            raise slack_error("invalid_cursor") from None
        keys = [str(i[key]) for i in items]
        if prefix != key or value not in keys:
            raise slack_error("invalid_cursor")
        start = keys.index(value)
    page = items[start : start + limit]
    rest = items[start + limit :]
    next_cursor = base64.b64encode(f"{key}:{rest[0][key]}".encode()).decode() if rest else ""
    return page, next_cursor


_TEXT_TYPES = {"plain_text", "mrkdwn"}
_BLOCK_TYPES = {
    "actions", "context", "divider", "file", "header", "image", "input", "markdown", "rich_text", "section", "video",
}


def _json_field(raw: Any, error: str) -> Any:
    """A JSON-valued argument: as sent in a JSON body, or a JSON string in a form post; None if absent."""
    if raw in (None, ""):
        return None
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            raise slack_error(error) from None
    return raw


def _parse_blocks(raw: Any) -> list | None:
    """``blocks`` as a JSON array (a string in form posts); Block Kit checked for the common errors."""
    raw = _json_field(raw, "invalid_blocks_format")
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise slack_error("invalid_blocks_format")
    if len(raw) > 50:
        raise slack_error("invalid_blocks", errors=["no more than 50 items allowed [json-pointer:/blocks]"])
    errors = [e for i, b in enumerate(raw) for e in _block_errors(b, f"/blocks/{i}")]
    if errors:
        messages = [f"[ERROR] {e}" for e in errors]
        raise slack_error("invalid_blocks", errors=errors, response_metadata={"messages": messages})
    return raw


def _text_errors(obj: Any, at: str, *, plain_only: bool = False, max_len: int = 3000) -> list[str]:
    if not isinstance(obj, dict):
        return [f"must provide an object [json-pointer:{at}]"]
    if obj.get("type") not in ({"plain_text"} if plain_only else _TEXT_TYPES):
        return [f"must be a valid enum value [json-pointer:{at}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    if len(text) > max_len:
        return [f"must be less than {max_len + 1} characters [json-pointer:{at}/text]"]
    return []


def _block_errors(block: Any, at: str) -> list[str]:
    if not isinstance(block, dict):
        return [f"must provide an object [json-pointer:{at}]"]
    kind = block.get("type")
    if kind not in _BLOCK_TYPES:
        return [f"unsupported type: {kind} [json-pointer:{at}/type]"]
    if "block_id" in block and (not isinstance(block["block_id"], str) or len(block["block_id"]) > 255):
        return [f"must be a string of at most 255 characters [json-pointer:{at}/block_id]"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return [f"must contain either text or fields [json-pointer:{at}]"]
        errs = _text_errors(block["text"], f"{at}/text") if "text" in block else []
        fields = block.get("fields", [])
        if not isinstance(fields, list) or len(fields) > 10:
            errs.append(f"must be an array of at most 10 items [json-pointer:{at}/fields]")
        else:
            for i, f in enumerate(fields):
                errs += _text_errors(f, f"{at}/fields/{i}", max_len=2000)
        return errs
    if kind == "header":
        if "text" not in block:
            return [f"missing required field: text [json-pointer:{at}]"]
        return _text_errors(block["text"], f"{at}/text", plain_only=True, max_len=150)
    if kind in ("context", "actions", "rich_text"):
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            return [f"missing required field: elements [json-pointer:{at}]"]
        if any(not isinstance(e, dict) or "type" not in e for e in elements):
            return [f"must provide an object with a type [json-pointer:{at}/elements]"]
        return []
    if kind == "image":
        missing = [] if "alt_text" in block else ["alt_text"]
        if "image_url" not in block and "slack_file" not in block:
            missing.append("image_url")
        return [f"missing required field: {m} [json-pointer:{at}]" for m in missing]
    if kind == "markdown" and not isinstance(block.get("text"), str):
        return [f"missing required field: text [json-pointer:{at}]"]
    return []


def _parse_metadata(raw: Any) -> dict | None:
    """Message metadata ``{"event_type": str, "event_payload": {...}}`` (JSON string in forms)."""
    raw = _json_field(raw, "invalid_metadata_format")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("event_type"), str):
        raise slack_error("invalid_metadata_schema")
    if not isinstance(raw.get("event_payload", {}), dict):
        raise slack_error("invalid_metadata_schema")
    return {"event_type": raw["event_type"], "event_payload": raw.get("event_payload", {})}
