"""What the four Google APIs share: ids, RFC 3339 times, page tokens, field masks (``fields=``) and the ``Api`` base."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

from vendor_sandbox.core.store import VendorStore
from vendor_sandbox.core.vendor import SandboxContext

from .errors import bad_request


def rfc3339(dt: datetime) -> str:
    """``2024-05-01T12:00:00.123Z`` — Google's timestamps are UTC with milliseconds."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_time(value: str, location: str) -> datetime:
    """An RFC 3339 timestamp with an offset (``Z`` or ``+hh:mm``); 400 otherwise."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad_request(f"Invalid value for {location}: {value}", location) from None
    if dt.tzinfo is None:
        raise bad_request(f"Invalid value for {location}: {value} (no time zone offset)", location)
    return dt


def make_id(seed: str, length: int, alphabet: str) -> str:
    """A deterministic id of ``length`` characters from ``alphabet``, derived from ``seed``."""
    out = []
    counter = 0
    while len(out) < length:
        digest = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return "".join(out[:length])


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
URLSAFE = ALNUM + "-_"
HEX = "0123456789abcdef"
BASE32HEX = "0123456789abcdefghijklmnopqrstuv"


# --- page tokens: opaque to the client, an offset for us ---------------------------------------

def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def page_offset(token: str | None, location: str = "pageToken") -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, n = raw.partition(":")
        if kind != "offset":
            raise ValueError
        return int(n)
    except ValueError:
        raise bad_request("Invalid page token.", location) from None


def page_size(value: str | None, default: int, maximum: int, location: str) -> int:
    if value in (None, ""):
        return default
    try:
        n = int(value)
    except ValueError:
        raise bad_request(f"Invalid value '{value}'. Values must be integers.", location) from None
    if n < 1:
        raise bad_request(f"Invalid value '{value}'. Values must be within the range: [1, {maximum}]", location)
    return min(n, maximum)


def paginate(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    start = page_offset(token)
    chunk = items[start : start + size]
    nxt = page_token(start + size) if start + size < len(items) else None
    return chunk, nxt


# --- partial responses (``fields=``) ---------------------------------------------------------------

def parse_fields(spec: str) -> dict[str, Any] | None:
    """``"id,name,files(id,parents),a/b"`` -> ``{"id": None, "files": {"id": None, ...}, "a": {"b": None}}``.

    ``None`` as a value means 'the whole sub-object'; ``None`` as a result means '*' (everything).
    """
    spec = spec.replace(" ", "")
    if spec in ("", "*"):
        return None
    pos = 0

    def parse_list() -> dict[str, Any]:
        nonlocal pos
        out: dict[str, Any] = {}
        while pos < len(spec):
            start = pos
            while pos < len(spec) and spec[pos] not in ",()":
                pos += 1
            path = spec[start:pos].split("/")
            sub: Any = None
            if pos < len(spec) and spec[pos] == "(":
                pos += 1
                sub = parse_list()
                if pos >= len(spec) or spec[pos] != ")":
                    raise bad_request("Invalid field selection " + spec, "fields")
                pos += 1
            if not path[0]:
                raise bad_request("Invalid field selection " + spec, "fields")
            node = out
            for part in path[:-1]:
                node = node.setdefault(part, {})
            if path[-1] == "*":
                return {}  # '*' inside a group: everything
            node[path[-1]] = sub
            if pos < len(spec) and spec[pos] == ",":
                pos += 1
                continue
            break
        return out

    result = parse_list()
    if pos != len(spec):
        raise bad_request("Invalid field selection " + spec, "fields")
    return result


def apply_fields(obj: Any, mask: dict[str, Any] | None) -> Any:
    """Keep only the masked fields of ``obj`` (lists are filtered element-wise)."""
    if mask is None or mask == {}:
        return obj
    if isinstance(obj, list):
        return [apply_fields(o, mask) for o in obj]
    if not isinstance(obj, dict):
        return obj
    return {k: apply_fields(obj[k], sub) for k, sub in mask.items() if k in obj}


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without the sandbox's private ``_`` keys."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


class Api:
    """Base of the four API backends: the store, the clock and the mailbox owner."""

    def __init__(self, db: VendorStore, ctx: SandboxContext) -> None:
        self.db = db
        self.ctx = ctx

    def now(self) -> datetime:
        return self.ctx.now()

    @property
    def me(self) -> str:
        """The authenticated user's email: the first team member (set by ``seed``)."""
        row = self.db.get("account", "me")
        return row["email"] if row else "admin@sandbox.example"
