"""Zoom state: S2S OAuth tokens, the account's users and their meetings (CONTRACTS.md §5).

Every error is raised as ``VendorError`` in Zoom's shape (errors.py): ``{"code", "message"}`` (+ ``errors[]``
with code 300 on validation) for the API, ``{"reason", "error"}`` for the OAuth endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vendor_sandbox.core.store import VendorStore
from vendor_sandbox.core.vendor import SandboxContext

from .errors import api_error, invalid_token, oauth_error, validation

TOKEN_TTL = 3600  # seconds; "expires_in":3599 is what Zoom answers, the token lives one hour
WEB = "https://us05web.zoom.us"  # the host Zoom puts in join/start URLs of a Free (us05) account
MAX_PAGE_SIZE = 300
DEFAULT_PAGE_SIZE = 30
MEETING_TYPES = (1, 2, 3, 8)
LIST_TYPES = ("scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings")
PASSWORD = re.compile(r"^[A-Za-z0-9@\-_*]{1,10}$")
GMT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
DEFAULT_SETTINGS: dict[str, Any] = {
    "host_video": False,
    "participant_video": False,
    "cn_meeting": False,
    "in_meeting": False,
    "join_before_host": False,
    "mute_upon_entry": False,
    "watermark": False,
    "use_pmi": False,
    "approval_type": 2,
    "registration_type": 1,
    "audio": "voip",
    "auto_recording": "none",
    "enforce_login": False,
    "enforce_login_domains": "",
    "alternative_hosts": "",
    "close_registration": False,
    "waiting_room": True,
}
SETTING_ENUMS = {
    "approval_type": (0, 1, 2),
    "registration_type": (1, 2, 3),
    "audio": ("both", "telephony", "voip", "thirdParty"),
    "auto_recording": ("local", "cloud", "none"),
}


def zoom_time(dt: datetime) -> str:
    """Zoom's UTC timestamp: ``2026-01-05T15:00:00Z`` (whole seconds)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(*parts: Any) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class ZoomBackend:
    """The state of one sandbox Zoom account, on ``db`` (kinds: account, token, user, meeting)."""

    def __init__(self, db: VendorStore, ctx: SandboxContext) -> None:
        self.db = db
        self.ctx = ctx

    # ---- account and users ----------------------------------------------------------------

    def account(self) -> dict[str, Any]:
        acct = self.db.get("account", "main")
        if acct is None:
            n = self.db.next_int("account", 1)
            acct = self.db.put(
                "account", "main",
                {"id": _b64(_digest("account", n))[:22], "account_number": 9_100_000_000 + n, "owner_id": None},
            )
        return acct

    def seed(self, team: list[dict[str, str]]) -> None:
        """One user per colleague; the first is the account owner (``me``)."""
        acct = self.account()
        for i, member in enumerate(team):
            user = self.user_by_email(member["email"])
            if user is None:
                user = self.add_user(member["name"], member["email"], owner=acct["owner_id"] is None and i == 0)
            if i == 0 and acct["owner_id"] is None:
                acct["owner_id"] = user["id"]
                self.db.put("account", "main", acct)

    def set_license(self, email: str, user_type: int) -> dict[str, Any]:
        """An administrator changes a user's licence type (Zoom web portal → User Management)."""
        user = self.user_by_email(email)
        if user is None:
            raise api_error(404, 1001, f"User {email} not exist or not belong to this account.")
        if user_type not in (1, 2, 4):
            raise validation("type", "1 (Basic), 2 (Licensed) or 4 (Unassigned without Meetings Basic)")
        user["type"] = user_type
        self.db.put("user", user["id"], user)
        return user

    def add_user(self, name: str, email: str, *, owner: bool = False) -> dict[str, Any]:
        acct = self.account()
        n = self.db.next_int("user", 1)
        uid = _b64(_digest("user", n))[:22]
        first, _, last = name.partition(" ")
        pmi = 5_000_000_000 + int.from_bytes(_digest("pmi", n)[:4], "big") % 4_000_000_000
        now = zoom_time(self.ctx.now())
        user = {
            "id": uid,
            "first_name": first,
            "last_name": last,
            "display_name": name,
            "email": email,
            # 1 Basic (a new account's users: meetings end after 40 minutes), 2 Licensed (an administrator
            # assigned a licence) [doc: developers.zoom.us/docs/api/users/#tag/users/GET/users/{userId}]
            "type": 1 if self.ctx.account == "fresh" else 2,
            "role_name": "Owner" if owner else "Member",
            "role_id": "0" if owner else "2",
            "pmi": pmi,
            "use_pmi": False,
            "personal_meeting_url": f"{WEB}/j/{pmi}",
            "timezone": "UTC",
            "verified": 1,
            "dept": "",
            "created_at": now,
            "user_created_at": now,
            "last_login_time": now,
            "last_client_version": "6.2.0.46690(mac)",
            "pic_url": "",
            "language": "en-US",
            "phone_number": "",
            "status": "active",
            "account_id": acct["id"],
            "account_number": acct["account_number"],
            "cluster": "us05",
            "group_ids": [],
            "im_group_ids": [],
            "login_types": [100],
        }
        return self.db.put("user", uid, user)

    def user_by_email(self, email: str) -> dict[str, Any] | None:
        email = email.lower()
        return next((u for u in self.db.list("user") if u["email"].lower() == email), None)

    def resolve_user(self, user_id: str) -> dict[str, Any]:
        """``me``, a user id or an email address, as Zoom accepts in ``{userId}``."""
        if user_id == "me":
            user = self.db.get("user", self.account()["owner_id"] or "")
        elif "@" in user_id:
            user = self.user_by_email(user_id)
        else:
            user = self.db.get("user", user_id)
        if user is None:
            raise api_error(404, 1001, f"User {user_id} not exist or not belong to this account.")
        return user

    def list_users(self, query: dict[str, str]) -> dict[str, Any]:
        status = query.get("status", "active")
        users = [u for u in self.db.list("user") if u["status"] == status]
        return self._page(users, query, "users", scope=f"users:{status}")

    # ---- OAuth ------------------------------------------------------------------------------

    def issue_token(self, authorization: str | None, params: dict[str, str]) -> dict[str, Any]:
        """S2S OAuth: Basic client credentials + grant_type=account_credentials&account_id=..."""
        client_id = _basic_client_id(authorization)
        grant = params.get("grant_type")
        if not grant:
            raise oauth_error(400, "invalid_request", "Missing grant_type")
        if grant != "account_credentials":
            raise oauth_error(400, "unsupported_grant_type", "Unsupported grant type")
        account_id = params.get("account_id")
        if not account_id:
            raise oauth_error(400, "invalid_request", "Missing account_id")
        n = self.db.next_int("token", 1)
        now = self.ctx.now()
        claims = {"aid": account_id, "cid": client_id, "iat": int(now.timestamp()),
                  "exp": int(now.timestamp()) + TOKEN_TTL, "jti": n}
        token = ".".join([
            _b64(json.dumps({"alg": "HS512", "v": "2.0", "kid": "sandbox"}).encode()),
            _b64(json.dumps(claims).encode()),
            _b64(_digest("token", n, client_id, account_id)),
        ])
        self.db.put("token", token, {
            "token": token, "account_id": account_id, "client_id": client_id,
            "expires_at": (now + timedelta(seconds=TOKEN_TTL)).isoformat(),
        })
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": TOKEN_TTL - 1,
            "scope": " ".join(self.ctx.scopes.granted("zoom")),
            "api_url": "https://api.zoom.us",
        }

    def token_record(self, authorization: str | None) -> dict[str, Any] | None:
        """The live token named by a ``Bearer`` header, or None (missing, unknown or expired)."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        rec = self.db.get("token", authorization[7:].strip())
        if rec is None or datetime.fromisoformat(rec["expires_at"]) <= self.ctx.now():
            return None
        return rec

    def authenticate(self, authorization: str | None) -> dict[str, Any]:
        rec = self.token_record(authorization)
        if rec is None:
            raise invalid_token()
        return rec

    def revoke_tokens(self) -> int:
        tokens = self.db.list("token")
        for t in tokens:
            self.db.delete("token", t["token"])
        return len(tokens)

    # ---- meetings ---------------------------------------------------------------------------

    def create_meeting(self, user_id: str, body: Any) -> dict[str, Any]:
        host = self.resolve_user(user_id)
        body = _object(body)
        fields = self._validated(body, host, creating=True)
        n = self.db.next_int("meeting", 1)
        # A bijective scramble of the counter: 11-digit ids that look random but never collide.
        mid = 80_000_000_000 + (n * 2_654_435_761) % 9_999_999_999
        now = self.ctx.now()
        secret = _digest("meeting", mid)
        enc = _b64(_digest("encrypted", mid))[:32]
        meeting = {
            "uuid": base64.b64encode(secret[:16]).decode(),
            "id": mid,
            "host_id": host["id"],
            "host_email": host["email"],
            "topic": "Zoom meeting",
            "type": 2,
            "status": "waiting",
            "timezone": host["timezone"],
            "agenda": "",
            "created_at": zoom_time(now),
            "start_url": f"{WEB}/s/{mid}?zak={_b64(_digest('zak', mid, host['id']))}",
            "join_url": f"{WEB}/j/{mid}?pwd={enc}",
            "password": _b64(_digest("pwd", mid))[:6].replace("-", "x").replace("_", "y"),
            "h323_password": str(int.from_bytes(secret[:3], "big") % 900_000 + 100_000),
            "pstn_password": str(int.from_bytes(secret[3:6], "big") % 900_000 + 100_000),
            "encrypted_password": enc,
            "settings": dict(DEFAULT_SETTINGS),
            "pre_schedule": False,
        }
        if fields.get("type", 2) in (1, 2, 8):
            meeting["start_time"] = zoom_time(now)
            meeting["duration"] = 60
        self._apply(meeting, fields)
        return self.db.put("meeting", str(mid), meeting)

    def get_meeting(self, meeting_id: str) -> dict[str, Any]:
        if not meeting_id.isdigit():
            raise api_error(404, 3001, f"Meeting {meeting_id} is not found or has expired.")
        meeting = self.db.get("meeting", meeting_id)
        if meeting is None:
            raise api_error(404, 3001, f"Meeting {meeting_id} is not found or has expired.")
        return meeting

    def update_meeting(self, meeting_id: str, body: Any) -> None:
        meeting = self.get_meeting(meeting_id)
        host = self.resolve_user(meeting["host_id"])
        fields = self._validated(_object(body), host, creating=False, current=meeting)
        self._apply(meeting, fields)
        self.db.put("meeting", str(meeting["id"]), meeting)

    def delete_meeting(self, meeting_id: str) -> None:
        self.get_meeting(meeting_id)
        self.db.delete("meeting", meeting_id)

    def set_status(self, meeting_id: str, status: str) -> dict[str, Any]:
        meeting = self.get_meeting(meeting_id)
        meeting["status"] = status
        return self.db.put("meeting", str(meeting["id"]), meeting)

    def list_meetings(self, user_id: str, query: dict[str, str]) -> dict[str, Any]:
        host = self.resolve_user(user_id)
        kind = query.get("type") or "scheduled"
        if kind not in LIST_TYPES:
            raise validation("type", f"Invalid field: type must be one of {', '.join(LIST_TYPES)}.")
        now = self.ctx.now()
        mine = [m for m in self.db.list("meeting") if m["host_id"] == host["id"]]

        def ends(m: dict) -> datetime:
            return _parse_utc(m["start_time"]) + timedelta(minutes=m.get("duration", 0))

        if kind == "scheduled":
            picked = [m for m in mine if m["type"] != 1]
        elif kind == "live":
            picked = [m for m in mine if m["status"] == "started"]
        elif kind in ("upcoming", "upcoming_meetings"):
            picked = [m for m in mine if m["type"] == 3 or ("start_time" in m and ends(m) >= now)]
        else:
            picked = [m for m in mine if "start_time" in m and ends(m) < now]
        picked.sort(key=lambda m: (m.get("start_time", ""), m["id"]))
        items = [_listed(m) for m in picked]
        return self._page(items, query, "meetings", scope=f"meetings:{host['id']}:{kind}")

    # ---- helpers ----------------------------------------------------------------------------

    def _page(self, items: list[dict], query: dict[str, str], key: str, scope: str) -> dict[str, Any]:
        """Zoom pagination: ``page_size`` (max 300), ``next_page_token`` (preferred) or ``page_number``."""
        try:
            size = int(query.get("page_size") or DEFAULT_PAGE_SIZE)
            number = int(query.get("page_number") or 1)
        except ValueError:
            raise validation("page_size", "Invalid field.") from None
        size = DEFAULT_PAGE_SIZE if size < 1 else min(size, MAX_PAGE_SIZE)  # Zoom caps, never refuses
        token = query.get("next_page_token")
        if token:
            offset = self._decode_page_token(token, scope)
            number = offset // size + 1
        else:
            number = max(number, 1)
            offset = (number - 1) * size
        page = items[offset : offset + size]
        more = offset + size < len(items)
        return {
            "page_count": (len(items) + size - 1) // size,
            "page_number": number,
            "page_size": size,
            "total_records": len(items),
            "next_page_token": self._page_token(offset + size, scope) if more else "",
            key: page,
        }

    def _page_token(self, offset: int, scope: str) -> str:
        raw = json.dumps([offset, scope]).encode()
        return _b64(raw)

    def _decode_page_token(self, token: str, scope: str) -> int:
        try:
            offset, tscope = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if tscope != scope or not isinstance(offset, int) or offset < 0:
                raise ValueError
            return offset
        except Exception:
            raise api_error(400, 300, "The next page token is invalid or expired.") from None

    def _validated(
        self, body: dict[str, Any], host: dict[str, Any], *, creating: bool, current: dict | None = None
    ) -> dict[str, Any]:
        """Check the fields Zoom validates; unknown fields (zoomus's ``user_id``/``id``) are ignored."""
        out: dict[str, Any] = {}
        if "topic" in body:
            topic = body["topic"]
            if not isinstance(topic, str):
                raise validation("topic", "Invalid field.")
            if len(topic) > 200:
                raise validation("topic", "Topic must be at most 200 characters.")
            out["topic"] = topic
        if "type" in body:
            if body["type"] not in MEETING_TYPES or isinstance(body["type"], bool):
                raise validation("type", "Invalid field.")
            out["type"] = body["type"]
        if "agenda" in body:
            if not isinstance(body["agenda"], str):
                raise validation("agenda", "Invalid field.")
            if len(body["agenda"]) > 2000:
                raise validation("agenda", "Agenda must be at most 2000 characters.")
            out["agenda"] = body["agenda"]
        if "duration" in body:
            d = body["duration"]
            if isinstance(d, bool) or not isinstance(d, int) or d < 0:
                raise validation("duration", "Invalid field.")
            out["duration"] = d
        if "password" in body:
            pwd = body["password"]
            if not isinstance(pwd, str) or not PASSWORD.match(pwd):
                raise api_error(
                    400, 300,
                    "Password may only contain the following characters: [a-z A-Z 0-9 @ - _ *] "
                    "and can have a maximum of 10 characters.",
                )
            out["password"] = pwd
        tz_name = body.get("timezone")
        if tz_name is not None:
            if not isinstance(tz_name, str) or not _zone(tz_name):
                raise validation("timezone", "Invalid field.")
            out["timezone"] = tz_name
        if body.get("start_time") is not None:
            zone = tz_name or (current or {}).get("timezone") or host["timezone"]
            out["start_time"] = zoom_time(_parse_start(body["start_time"], zone))
        if "settings" in body:
            settings = body["settings"]
            if not isinstance(settings, dict):
                raise validation("settings", "Invalid field.")
            for key, allowed in SETTING_ENUMS.items():
                if key in settings and settings[key] not in allowed:
                    raise validation(f"settings.{key}", "Invalid field.")
            out["settings"] = settings
        if "recurrence" in body:
            out["recurrence"] = body["recurrence"]
        if creating and out.get("type") == 8 and not isinstance(body.get("recurrence"), dict):
            raise validation("recurrence", "Recurrence is required for a recurring meeting with fixed time.")
        return out

    def _apply(self, meeting: dict[str, Any], fields: dict[str, Any]) -> None:
        for key, value in fields.items():
            if key == "settings":
                meeting["settings"] = {**meeting["settings"], **value}
            elif key == "password":
                meeting["password"] = value
                meeting["join_url"] = meeting["join_url"].split("?")[0] + "?pwd=" + _b64(
                    _digest("pwd", meeting["id"], value)
                )[:32]
            else:
                meeting[key] = value
        if meeting["type"] == 3:  # recurring with no fixed time: Zoom drops the time fields
            meeting.pop("start_time", None)
            meeting.pop("duration", None)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise api_error(400, 300, "Request Body should be a valid JSON object.")
    return body


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _parse_start(value: Any, zone: str) -> datetime:
    """``yyyy-MM-ddTHH:mm:ssZ`` is GMT; ``yyyy-MM-ddTHH:mm:ss`` is local time in ``zone``."""
    if isinstance(value, str):
        try:
            if GMT_TIME.match(value):
                return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
            if LOCAL_TIME.match(value):
                return datetime.fromisoformat(value).replace(tzinfo=_zone(zone) or UTC)
        except ValueError:
            pass
    raise validation("start_time", "Invalid field: use yyyy-MM-ddTHH:mm:ssZ or yyyy-MM-ddTHH:mm:ss with timezone.")


def _parse_utc(value: str) -> datetime:
    return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


def _listed(m: dict[str, Any]) -> dict[str, Any]:
    """The fields a meeting has in ``GET /users/{userId}/meetings`` (no passwords, no start_url)."""
    keys = ("uuid", "id", "host_id", "topic", "type", "start_time", "duration", "timezone", "agenda",
            "created_at", "join_url")
    return {k: m[k] for k in keys if k in m}


def _basic_client_id(authorization: str | None) -> str:
    """The client id of a ``Basic base64(id:secret)`` header; Zoom's 401 when absent or malformed."""
    bad = oauth_error(401, "invalid_client", "Invalid client_id or client_secret")
    if not authorization or not authorization.lower().startswith("basic "):
        raise bad
    try:
        client_id, sep, secret = base64.b64decode(authorization[6:].strip()).decode().partition(":")
    except Exception:
        raise bad from None
    if not sep or not client_id or not secret:
        raise bad
    return client_id
