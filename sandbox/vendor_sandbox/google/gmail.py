"""Gmail v1: users.messages.send (raw JSON and media upload), list (q subset), get (full/metadata/raw/minimal).

Follows discovery gmail.v1 (rev 20261005) and support.google.com/mail/answer/7190 (search operators).
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime, getaddresses
from typing import Any

from .common import HEX, Api, make_id, page_size, paginate
from .errors import bad_request, gerror


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


def decode_raw(raw: str) -> bytes:
    """Gmail accepts base64url (and, leniently, standard base64) with or without padding."""
    try:
        text = raw.strip().replace("+", "-").replace("/", "_")
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise bad_request("Invalid value for ByteString: " + raw[:40], "raw") from None


class GmailApi(Api):
    def check_user(self, user_id: str) -> str:
        if user_id == "me" or user_id.lower() == self.me.lower():
            return self.me
        raise gerror(403, f"Delegation denied for {self.me}", "forbidden")

    def send(self, user_id: str, raw: bytes) -> dict[str, Any]:
        """Parse the RFC 2822 message, fill the headers Gmail fills, keep it with label SENT."""
        me = self.check_user(user_id)
        msg = message_from_bytes(raw, policy=default)
        headers = msg.get_all("To", []) + msg.get_all("Cc", []) + msg.get_all("Bcc", [])
        recipients = [a for _, a in getaddresses(headers) if a]
        if not recipients:
            raise gerror(400, "Invalid To header", "invalidArgument")
        for addr in recipients:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", addr):
                raise gerror(400, f"Invalid To header: {addr}", "invalidArgument")
        n = self.db.next_int("message", 1)
        now = self.now()
        msg_id = format(0x18F0000000000000 + n * 7919 + int(make_id(f"gmail-{n}", 6, HEX), 16), "x")
        sender = getaddresses([str(msg["From"])])[0][1] if msg["From"] is not None else ""
        if not sender or not self.may_send_as(sender):
            # From must be the mailbox or one of its verified send-as aliases; otherwise Gmail puts the
            # mailbox's own address there [doc: developers.google.com/workspace/gmail/api/guides/alias_and_signature_settings]
            del msg["From"]
            msg["From"] = me
        if msg["Date"] is None:
            msg["Date"] = format_datetime(now)
        if msg["Message-ID"] is None or self.ctx.gmail_message_ids == "replaced":
            del msg["Message-ID"]  # Gmail may replace the sender's choice [CONTRACTS §6]
            msg["Message-ID"] = f"<CA+{make_id(f'mid-{n}', 40, HEX)}@mail.gmail.com>"
        bcc = msg.get_all("Bcc", [])  # the sender's own copy keeps Bcc (recipients' copies do not)
        data = msg.as_bytes(policy=SMTP) if isinstance(msg, EmailMessage) else msg.as_bytes()
        thread = self._thread_for(msg, msg_id)
        text, html = _bodies(msg)
        row = {
            "id": msg_id,
            "threadId": thread,
            "labelIds": ["SENT"],
            "historyId": str(1000 + n),
            "internalDate": str(int(now.timestamp() * 1000)),
            "_raw": b64url(data),
            "_bcc": [str(b) for b in bcc],
            "_text": text,
            "_html": html,
            # the headers searches read, kept parsed: q= scans every message, and re-parsing each one
            # made a send (which first looks its Message-ID up) slower with every message stored
            "_headers": {k.lower(): str(v) for k, v in msg.items()},
        }
        self.db.put("message", msg_id, row)
        return {"id": msg_id, "threadId": thread, "labelIds": ["SENT"]}

    # ---- send-as aliases (users.settings.sendAs)

    def ensure_aliases(self, team: list[dict[str, str]]) -> None:
        """The mailbox itself; on a ready account every colleague a verified send-as alias too (the
        administrator's step of docs/live-setup.md), on a fresh one none."""
        for member in team:
            email = member["email"].lower()
            primary = email == self.me.lower()
            if self.db.get("send_as", email) is None and (primary or self.ctx.account == "ready"):
                self.add_alias(email, member["name"], primary=primary)

    def add_alias(self, email: str, name: str, primary: bool = False) -> dict[str, Any]:
        row = {"sendAsEmail": email.lower(), "displayName": name, "replyToAddress": "", "signature": "",
               "isPrimary": primary, "isDefault": primary, "treatAsAlias": not primary,
               "verificationStatus": "accepted"}
        self.db.put("send_as", email.lower(), row)
        return row

    def send_as(self, user_id: str) -> list[dict[str, Any]]:
        self.check_user(user_id)
        return [{k: v for k, v in row.items() if not (k == "verificationStatus" and row["isPrimary"])}
                for row in self.db.list("send_as")]

    def may_send_as(self, address: str) -> bool:
        row = self.db.get("send_as", address.lower())
        return address.lower() == self.me.lower() or (row is not None and row["verificationStatus"] == "accepted")

    def _thread_for(self, msg, msg_id: str) -> str:
        """A reply (In-Reply-To/References naming a known Message-ID) joins that message's thread."""
        refs = set(re.findall(r"<[^>]+>", f"{msg.get('In-Reply-To', '')} {msg.get('References', '')}"))
        if refs:
            for row in self.db.list("message"):
                if self._header(row, "Message-ID") in refs:
                    return row["threadId"]
        return msg_id

    @staticmethod
    def _message(row: dict[str, Any]):
        return message_from_bytes(decode_raw(row["_raw"]), policy=default)

    def _header(self, row: dict[str, Any], name: str) -> str:
        """A header's value unfolded (RFC 5322 2.2.3: a long Message-ID arrives folded onto a new line)."""
        if "_headers" in row:
            value = row["_headers"].get(name.lower(), "")
        else:
            value = self._message(row).get(name)
        return " ".join(str(value).split()) if value is not None else ""

    def _get(self, msg_id: str) -> dict[str, Any]:
        row = self.db.get("message", msg_id)
        if row is None:
            raise gerror(404, "Requested entity was not found.", "notFound")
        return row

    def list(self, user_id: str, q: str | None, size: str | None, token: str | None,
             label_ids: list[str]) -> tuple[list, str | None, int]:
        self.check_user(user_id)
        test = self._query(q or "")
        rows = [r for r in reversed(self.db.list("message")) if test(r)]  # newest first
        rows = [r for r in rows if all(lbl in r["labelIds"] for lbl in label_ids)]
        page, nxt = paginate(rows, token, page_size(size, 100, 500, "maxResults"))
        return [{"id": r["id"], "threadId": r["threadId"]} for r in page], nxt, len(rows)

    def _query(self, q: str):
        """Gmail search subset: to:/from:/cc:/bcc:/subject:/rfc822msgid:/in:/label:/is: and bare words (AND)."""
        try:
            terms = shlex.split(q.replace("(", " ( ").replace(")", " ) "), posix=True)
        except ValueError:
            raise bad_request("Invalid query", "q") from None
        tests = []
        pending_op: str | None = None
        group: list[str] | None = None
        for term in terms:
            if term == "(":
                group = []
                continue
            if term == ")" and group is not None:
                tests.append(self._term(pending_op or "", " ".join(group)))
                group, pending_op = None, None
                continue
            if group is not None:
                group.append(term)
                continue
            op, sep, value = term.partition(":")
            if sep and op.lower() in ("to", "from", "cc", "bcc", "subject", "rfc822msgid", "in", "label", "is"):
                if value == "":
                    pending_op = op.lower()
                    continue
                tests.append(self._term(op.lower(), value))
            else:
                tests.append(self._term(pending_op or "", term))
                pending_op = None
        return lambda row: all(t(row) for t in tests)

    def _term(self, op: str, value: str):
        v = value.lower()

        def addrs(row, *names):
            if "_headers" in row:
                fields = [row["_headers"][n.lower()] for n in names if n.lower() in row["_headers"]]
            else:
                m = self._message(row)
                fields = [str(x) for n in names for x in m.get_all(n, [])]
            if "Bcc" in names:
                fields += row.get("_bcc", [])
            return " ".join(f"{name} {addr}" for name, addr in getaddresses(fields)).lower()

        if op == "to":
            return lambda row: v in addrs(row, "To", "Cc", "Bcc")
        if op in ("from", "cc"):
            return lambda row: v in addrs(row, op.capitalize())
        if op == "bcc":
            return lambda row: v in " ".join(row.get("_bcc", [])).lower()
        if op == "subject":
            return lambda row: all(w in self._header(row, "Subject").lower() for w in v.split())
        if op == "rfc822msgid":
            want = v.strip("<>")
            return lambda row: self._header(row, "Message-ID").lower().strip("<>") == want
        if op in ("in", "label", "is"):
            return lambda row: v.upper() in row["labelIds"]
        return lambda row: v in (self._header(row, "Subject") + " " + (row.get("_text") or "")
                                 + " " + (row.get("_html") or "")).lower()

    def get(self, user_id: str, msg_id: str, fmt: str | None, metadata_headers: list[str]) -> dict[str, Any]:
        self.check_user(user_id)
        row = self._get(msg_id)
        fmt = (fmt or "full").lower()
        if fmt not in ("full", "metadata", "raw", "minimal"):
            raise bad_request(f"Invalid value at 'format' ({fmt})", "format")
        raw = decode_raw(row["_raw"])
        out = {k: v for k, v in row.items() if not k.startswith("_")}
        out["snippet"] = re.sub(r"\s+", " ", row.get("_text") or _strip(row.get("_html") or ""))[:200].strip()
        out["sizeEstimate"] = len(raw)
        if fmt == "raw":
            out["raw"] = row["_raw"]
        elif fmt == "full":
            out["payload"] = _part(self._message(row), "")
        elif fmt == "metadata":
            msg = self._message(row)
            wanted = {h.lower() for h in metadata_headers}
            headers = [{"name": k, "value": str(v)} for k, v in msg.items() if not wanted or k.lower() in wanted]
            out["payload"] = {"mimeType": msg.get_content_type(), "headers": headers}
        return out


def _part(msg, part_id: str) -> dict[str, Any]:
    """A MessagePart as Gmail renders it: headers, body {size, data (base64url)}, parts[]."""
    out: dict[str, Any] = {
        "partId": part_id,
        "mimeType": msg.get_content_type(),
        "filename": msg.get_filename() or "",
        "headers": [{"name": k, "value": str(v)} for k, v in msg.items()],
    }
    if msg.is_multipart():
        out["body"] = {"size": 0}
        out["parts"] = [_part(p, f"{part_id}.{i}" if part_id else str(i)) for i, p in enumerate(msg.iter_parts())]
    else:
        data = msg.get_payload(decode=True) or b""
        out["body"] = {"size": len(data), "data": b64url(data)} if data else {"size": 0}
    return out


def _bodies(msg) -> tuple[str | None, str | None]:
    text = html = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        content = part.get_content() if hasattr(part, "get_content") else part.get_payload(decode=True).decode()
        if ctype == "text/plain" and text is None:
            text = content
        elif ctype == "text/html" and html is None:
            html = content
    return text, html


def _strip(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)
