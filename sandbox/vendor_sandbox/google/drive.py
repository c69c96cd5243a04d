"""Drive v3: files (folders, metadata, multipart upload with conversion to Docs, export) and permissions.

Follows discovery drive.v3 (rev 20261106) and developers.google.com/drive/api/guides/search-files.
"""

from __future__ import annotations

import base64
import html as htmllib
import re
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from .common import ALNUM, URLSAFE, Api, apply_fields, make_id, page_size, paginate, parse_fields, public, rfc3339
from .errors import bad_request, file_not_found, gerror

FOLDER = "application/vnd.google-apps.folder"
DOC = "application/vnd.google-apps.document"
GOOGLE_APPS = "application/vnd.google-apps."
ROLES = ("owner", "organizer", "fileOrganizer", "writer", "commenter", "reader")
TYPES = ("user", "group", "domain", "anyone")
# Drive's defaults when a request has no ``fields`` (the v3 'partial by default' behaviour).
FILE_DEFAULT = parse_fields("kind,id,name,mimeType")
LIST_DEFAULT = parse_fields("kind,incompleteSearch,nextPageToken,files(kind,id,name,mimeType)")
PERM_DEFAULT = parse_fields("kind,id,type,role")
PERM_LIST_DEFAULT = parse_fields("kind,nextPageToken,permissions(kind,id,type,role)")
EXPORTS = ("text/plain", "text/html", "application/pdf")
WRITABLE = {"name", "mimeType", "parents", "appProperties", "properties", "description", "starred", "trashed"}


class DriveApi(Api):
    # --- files -------------------------------------------------------------------------------

    def ensure_root(self) -> None:
        if self.db.get("drive_meta", "root") is None:
            root_id = "0A" + make_id("drive-root", 17, ALNUM) + "Uk9PVA"
            self.db.put("drive_meta", "root", {"id": root_id})

    @property
    def root_id(self) -> str:
        self.ensure_root()
        return self.db.get("drive_meta", "root")["id"]

    def _new_id(self) -> str:
        n = self.db.next_int("file", 1)
        return "1" + make_id(f"drive-file-{n}", 32, URLSAFE)

    def _file(self, file_id: str) -> dict[str, Any]:
        row = self.db.get("file", file_id)
        if row is None:
            raise file_not_found(file_id)
        return row

    def _resolve_parent(self, parent_id: str) -> str:
        if parent_id in ("root", self.root_id):
            return self.root_id
        parent = self._file(parent_id)
        if parent["mimeType"] != FOLDER:
            raise bad_request("The parent is not a folder.", "parents", reason="teamDrivesParentLimit")
        return parent_id

    def render(self, row: dict[str, Any], fields: str | None, default=FILE_DEFAULT) -> dict[str, Any]:
        mask = parse_fields(fields) if fields is not None else default
        return apply_fields(public(row), mask)

    def create(self, meta: dict[str, Any], media: tuple[bytes, str] | None = None) -> dict[str, Any]:
        """A file from metadata and optional media; Docs conversion when the metadata asks for it."""
        unknown = set(meta) - WRITABLE - {"id", "kind"}
        if "id" in meta:
            raise bad_request("Generated IDs are not supported by the sandbox.", "file.id")
        read_only = unknown & {"webViewLink", "createdTime", "modifiedTime", "size", "owners", "version"}
        if read_only:
            field = sorted(read_only)[0]
            raise gerror(403, f"The resource body includes fields which are not directly writable. {field}",
                         "fieldNotWritable", location=field)
        now = rfc3339(self.now())
        media_type = media[1] if media else None
        mime = meta.get("mimeType") or media_type or "application/octet-stream"
        if media and mime.startswith(GOOGLE_APPS) and mime != DOC:
            raise bad_request(f"Conversion to {mime} is not supported by the sandbox.", "mimeType", "badRequest")
        if media and mime == DOC and media_type not in ("text/plain", "text/html"):
            raise bad_request(f"Unable to convert {media_type} to a Google Doc.", "mimeType", "badRequest")
        parents = meta.get("parents") or [self.root_id]
        if len(parents) > 1:
            raise gerror(403, "A shared drive item must have exactly one parent.", "teamDrivesParentLimit")
        parents = [self._resolve_parent(p) for p in parents]
        file_id = self._new_id()
        row: dict[str, Any] = {
            "kind": "drive#file",
            "id": file_id,
            "name": meta.get("name") or "Untitled",
            "mimeType": mime,
            "parents": parents,
            "trashed": bool(meta.get("trashed", False)),
            "starred": bool(meta.get("starred", False)),
            "createdTime": now,
            "modifiedTime": now,
            "version": "1",
            "webViewLink": self._link(file_id, mime),
            "owners": [{"kind": "drive#user", "emailAddress": self.me, "me": True, "displayName": self._my_name()}],
            "ownedByMe": True,
        }
        for key in ("description", "appProperties", "properties"):
            if key in meta:
                row[key] = (meta[key] if key == "description"
                            else {k: str(v) for k, v in meta[key].items() if v is not None})
        if media:
            data, _ = media
            if mime == DOC:
                text = data.decode("utf-8", "replace")
                row["_source"] = {"type": media_type, "text": text}
            else:
                row["size"] = str(len(data))
                row["_data"] = base64.b64encode(data).decode()
        self.db.put("file", file_id, row)
        self._add_owner_permission(file_id)
        return row

    def _my_name(self) -> str:
        row = self.db.get("account", "me")
        return row["name"] if row else "Sandbox Admin"

    @staticmethod
    def _link(file_id: str, mime: str) -> str:
        if mime == FOLDER:
            return f"https://drive.google.com/drive/folders/{file_id}"
        if mime == DOC:
            return f"https://docs.google.com/document/d/{file_id}/edit"
        return f"https://drive.google.com/file/d/{file_id}/view"

    def get(self, file_id: str) -> dict[str, Any]:
        return self._file(file_id)

    def update(self, file_id: str, meta: dict[str, Any], add: str | None, remove: str | None,
               media: tuple[bytes, str] | None = None) -> dict[str, Any]:
        row = self._file(file_id)
        if "parents" in meta:
            raise gerror(403, "The parents field is not directly writable in update requests. "
                         "Use the addParents and removeParents parameters instead.", "fieldNotWritable",
                         location="parents")
        bad = set(meta) - WRITABLE - {"kind", "id"}
        if bad:
            field = sorted(bad)[0]
            raise gerror(403, f"The resource body includes fields which are not directly writable. {field}",
                         "fieldNotWritable", location=field)
        if "mimeType" in meta and meta["mimeType"] != row["mimeType"]:
            raise gerror(403, "The mimeType of a file cannot be changed.", "fieldNotWritable", location="mimeType")
        for key in ("name", "description", "starred", "trashed"):
            if key in meta:
                row[key] = meta[key]
        for key in ("appProperties", "properties"):
            if key in meta:  # a null value deletes that key, as in Drive
                merged = dict(row.get(key, {}))
                for k, v in (meta[key] or {}).items():
                    if v is None:
                        merged.pop(k, None)
                    else:
                        merged[k] = str(v)
                row[key] = merged
        parents = list(row.get("parents", []))
        for pid in filter(None, (remove or "").split(",")):
            pid = self.root_id if pid == "root" else pid
            if pid in parents:
                parents.remove(pid)
        for pid in filter(None, (add or "").split(",")):
            pid = self._resolve_parent(pid)
            if pid not in parents:
                parents.append(pid)
        if len(parents) > 1:
            raise gerror(403, "Increasing the number of parents is not allowed. A file can only have one parent.",
                         "cannotAddParent", location="addParents")
        row["parents"] = parents
        if media:
            data, media_type = media
            if row["mimeType"] == DOC:
                row["_source"] = {"type": media_type, "text": data.decode("utf-8", "replace")}
            else:
                row["size"] = str(len(data))
                row["_data"] = base64.b64encode(data).decode()
        row["modifiedTime"] = rfc3339(self.now())
        row["version"] = str(int(row["version"]) + 1)
        self.db.put("file", file_id, row)
        return row

    def list(self, q: str | None, size: str | None, token: str | None, order_by: str | None) -> tuple[list, str | None]:
        test = DriveQuery(q or "", self.root_id).parse()
        rows = [r for r in self.db.list("file") if test(r)]
        for key in reversed([k.strip() for k in (order_by or "").split(",") if k.strip()]):
            name, _, direction = key.partition(" ")
            field = {"name": "name", "createdTime": "createdTime", "modifiedTime": "modifiedTime",
                     "folder": "mimeType", "name_natural": "name"}.get(name)
            if field is None:
                raise bad_request(f"Invalid Value: {name}", "orderBy")
            rows.sort(key=lambda r, f=field: (r.get(f) != FOLDER) if name == "folder" else str(r.get(f, "")).lower(),
                      reverse=direction.lower() == "desc")
        return paginate(rows, token, page_size(size, 100, 1000, "pageSize"))

    # --- export --------------------------------------------------------------------------------

    def export(self, file_id: str, mime: str | None) -> tuple[bytes, str]:
        row = self._file(file_id)
        if not mime:
            raise bad_request("Required parameter: mimeType", "mimeType", reason="required")
        if row["mimeType"] != DOC:
            raise gerror(403, "Export only supports Docs Editors files.", "fileNotExportable", location="fileId")
        if mime not in EXPORTS:
            raise bad_request("The requested conversion is not supported.", "convertTo", reason="badRequest")
        source = row.get("_source", {"type": "text/plain", "text": ""})
        text = doc_text(source)
        if mime == "text/plain":
            # Drive's text export starts with a byte-order mark and uses CRLF line ends.
            return ("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8"), "text/plain; charset=utf-8"
        if mime == "text/html":
            body = source["text"] if source["type"] == "text/html" else "".join(
                f"<p>{htmllib.escape(line)}</p>" for line in text.split("\n"))
            body = re.sub(r"(?is).*<body[^>]*>(.*)</body>.*", r"\1", body)
            page = ('<html><head><meta content="text/html; charset=UTF-8" http-equiv="content-type">'
                    f"<title>{htmllib.escape(row['name'])}</title></head><body>{body}</body></html>")
            return page.encode("utf-8"), "text/html; charset=utf-8"
        return minimal_pdf(row["name"], text), "application/pdf"

    # --- permissions ---------------------------------------------------------------------------

    def _add_owner_permission(self, file_id: str) -> None:
        self._put_permission(file_id, {"type": "user", "role": "owner", "emailAddress": self.me,
                                       "displayName": self._my_name()})

    def _perm_id(self, body: dict[str, Any]) -> str:
        if body["type"] == "anyone":
            return "anyoneWithLink"
        key = body.get("emailAddress") or body.get("domain") or ""
        return make_id(f"perm-{key.lower()}", 20, "0123456789")

    def _put_permission(self, file_id: str, body: dict[str, Any]) -> dict[str, Any]:
        perm = {"kind": "drive#permission", "id": self._perm_id(body), "type": body["type"], "role": body["role"]}
        for key in ("emailAddress", "domain", "displayName", "allowFileDiscovery"):
            if key in body:
                perm[key] = body[key]
        if "emailAddress" in perm:
            perm["emailAddress"] = perm["emailAddress"].lower()
            perm.setdefault("displayName", perm["emailAddress"].split("@")[0])
        perm["deleted"] = False
        perm["pendingOwner"] = False
        self.db.put("permission", f"{file_id}/{perm['id']}", {**perm, "_file": file_id})
        return perm

    def create_permission(self, file_id: str, body: dict[str, Any], notify: str | None,
                          transfer: str | None, message: str | None) -> dict[str, Any]:
        row = self._file(file_id)
        ptype, role = body.get("type"), body.get("role")
        if not ptype:
            raise bad_request("The permission type field is required.", "permission.type", reason="required")
        if ptype not in TYPES:
            raise bad_request("The permission type field is invalid.", "permission.type")
        if not role:
            raise bad_request("The permission role field is required.", "permission.role", reason="required")
        if role not in ROLES:
            raise bad_request("The permission role field is invalid.", "permission.role")
        if ptype in ("user", "group") and not body.get("emailAddress"):
            raise bad_request("The permission emailAddress field is required.", "permission.emailAddress",
                              reason="required")
        if ptype in ("user", "group") and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", body["emailAddress"]):
            raise bad_request(f"Invalid email address: {body['emailAddress']}", "permission.emailAddress")
        if ptype == "domain" and not body.get("domain"):
            raise bad_request("The permission domain field is required.", "permission.domain", reason="required")
        if role == "owner" and transfer != "true":
            raise gerror(403, "The transferOwnership parameter must be enabled when the permission role is 'owner'.",
                         "forbidden", location="transferOwnership")
        if role in ("organizer", "fileOrganizer"):
            raise gerror(403, "This role is only valid on shared drive items.", "invalidSharingRole",
                         location="permission.role")
        notify_default = ptype in ("user", "group")
        send = notify_default if notify is None else notify == "true"
        if send and ptype not in ("user", "group"):
            raise bad_request("Notification emails can only be sent to users or groups.", "sendNotificationEmail")
        own = self.me.rpartition("@")[2].lower()
        if ptype in ("user", "group") and not self.ctx.drive_shares_outside \
                and body["emailAddress"].rpartition("@")[2].lower() != own:
            # the domain's policy (Admin console → Drive and Docs → Sharing settings); the reason is Drive's
            # [doc: developers.google.com/workspace/drive/api/guides/handle-errors], the wording the sandbox's
            raise gerror(403, "Bad Request. User message: \"Sharing outside of the domain is not allowed by the "
                         "domain's administrator.\"", "shareOutNotPermitted")
        if ptype == "user" and not send and not self.has_google_account(body["emailAddress"]):
            # [doc: developers.google.com/workspace/drive/api/guides/handle-errors "invalidSharingRequest"]
            who = body["emailAddress"]
            raise bad_request(f'Bad Request. User message: "You are trying to invite {who}. Since there is no Google '
                              'account associated with this email address, you must check the "Notify people" box '
                              'to invite this recipient."', None, reason="invalidSharingRequest")
        perm = self._put_permission(file_id, body)
        if send:
            n = self.db.next_int("share_mail", 1)
            self.db.put("share_notification", str(n), {
                "to": perm["emailAddress"], "file": row["name"], "fileId": file_id, "role": role,
                "message": message or "", "sent": rfc3339(self.now()),
            })
        return perm

    def has_google_account(self, email: str) -> bool:
        """Whether an address is a Google account: the company's own (its Workspace domain) or Gmail's.
        Anyone else (a client on their own mail server) has none."""
        domain = email.rpartition("@")[2].lower()
        return domain in (self.me.rpartition("@")[2].lower(), "gmail.com", "googlemail.com")

    def list_permissions(self, file_id: str, size: str | None, token: str | None) -> tuple[list, str | None]:
        self._file(file_id)
        perms = [public(p) for p in self.db.list("permission") if p["_file"] == file_id]
        return paginate(perms, token, page_size(size, 100, 100, "pageSize"))


def doc_text(source: dict[str, str]) -> str:
    """The plain text of a converted document (HTML is reduced to its text, paragraphs to lines)."""
    text = source["text"]
    if source["type"] == "text/html":
        text = re.sub(r"(?is)<(script|style|head)[^>]*>.*?</\1>", "", text)
        text = re.sub(r"(?i)<br\s*/?>", "\n", text)
        text = re.sub(r"(?i)</(p|div|h[1-6]|li|tr)>", "\n", text)
        text = re.sub(r"<[^>]+>", "", text)
        text = htmllib.unescape(text)
        text = "\n".join(line.strip() for line in text.splitlines())
        text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text


def minimal_pdf(title: str, text: str) -> bytes:
    """A small valid PDF 1.4 (one page per 50 lines, Helvetica) holding ``text``."""
    lines = [title, ""] + text.split("\n")
    pages = [lines[i : i + 50] for i in range(0, len(lines), 50)] or [[""]]

    def esc(s: str) -> str:
        s = s.encode("latin-1", "replace").decode("latin-1")
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objects: list[bytes] = []
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, page in enumerate(pages):
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 770 Td"] + [f"({esc(line)}) Tj T*" for line in page] + ["ET"]
        stream = "\n".join(ops).encode("latin-1")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       f"/Contents {5 + 2 * i} 0 R >>".encode())
        objects.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], tuple[bytes, str]]:
    """``multipart/related`` upload: part 1 JSON metadata, part 2 the media (as the SDK sends it)."""
    import json

    msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts = list(msg.iter_parts()) if msg.is_multipart() else []
    if len(parts) != 2:
        raise bad_request("Multipart upload must have exactly two parts: metadata and media.", "uploadType")
    try:
        meta = json.loads(parts[0].get_payload(decode=True) or b"{}")
    except ValueError:
        raise bad_request("Invalid JSON payload in the metadata part.", "body") from None
    data = parts[1].get_payload(decode=True) or b""
    return meta, (data, parts[1].get_content_type())


# --- the q language ---------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|=|<|>|\(|\)|\{|\})|(?P<word>[A-Za-z_][\w.]*))")


class DriveQuery:
    """Parses Drive's ``q``: and/or/not, parentheses, ``'<id>' in parents``, ``name = / contains``,
    ``mimeType``, ``trashed``, ``starred``, ``fullText contains``, ``appProperties has {key= and value=}``."""

    def __init__(self, q: str, root_id: str) -> None:
        self.q = q
        self.root_id = root_id
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(q):
            if q[pos:].strip() == "":
                break
            m = _TOKEN.match(q, pos)
            if not m:
                raise self.invalid()
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def invalid(self) -> Exception:
        return bad_request("Invalid Value", "q")

    def peek(self, value: str | None = None) -> bool:
        if self.i >= len(self.tokens):
            return False
        return value is None or self.tokens[self.i][1].lower() == value.lower()

    def take(self, kind: str | None = None, value: str | None = None) -> str:
        if self.i >= len(self.tokens):
            raise self.invalid()
        k, v = self.tokens[self.i]
        if (kind and k != kind) or (value and v.lower() != value.lower()):
            raise self.invalid()
        self.i += 1
        return v

    def string(self) -> str:
        raw = self.take("str")[1:-1]
        return re.sub(r"\\(.)", r"\1", raw)

    def parse(self):
        if not self.tokens:
            return lambda row: True
        test = self.expr()
        if self.i != len(self.tokens):
            raise self.invalid()
        return test

    def expr(self):
        parts = [self.term()]
        while self.peek("or"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def term(self):
        parts = [self.factor()]
        while self.peek("and"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def factor(self):
        if self.peek("not"):
            self.take()
            inner = self.factor()
            return lambda row: not inner(row)
        if self.peek("("):
            self.take()
            inner = self.expr()
            self.take("op", ")")
            return inner
        return self.condition()

    def condition(self):
        if self.i < len(self.tokens) and self.tokens[self.i][0] == "str":
            value = self.string()
            self.take("word", "in")
            field = self.take("word")
            if field == "parents":
                pid = self.root_id if value == "root" else value
                return lambda row: pid in row.get("parents", [])
            if field in ("owners", "writers", "readers"):
                return lambda row: any(o.get("emailAddress") == value.lower() for o in row.get("owners", []))
            raise self.invalid()
        field = self.take("word")
        if field in ("appProperties", "properties"):
            self.take("word", "has")
            self.take("op", "{")
            self.take("word", "key")
            self.take("op", "=")
            key = self.string()
            self.take("word", "and")
            self.take("word", "value")
            self.take("op", "=")
            value = self.string()
            self.take("op", "}")
            return lambda row: row.get(field, {}).get(key) == value
        op = self.take()
        if op.lower() not in ("=", "!=", "contains", "<", ">", "<=", ">="):
            raise self.invalid()
        op = op.lower()
        if field in ("trashed", "starred"):
            word = self.take("word").lower()
            if word not in ("true", "false") or op not in ("=", "!="):
                raise self.invalid()
            want = word == "true"
            return lambda row: (bool(row.get(field)) == want) == (op == "=")
        value = self.string()
        if field == "name":
            if op == "contains":
                # Drive matches 'contains' on names by prefix of the name or of a word in it.
                v = value.lower()
                return lambda row: any(w.startswith(v) for w in [row["name"].lower(), *row["name"].lower().split()])
            return _compare(lambda row: row["name"], op, value, self)
        if field == "mimeType":
            return _compare(lambda row: row["mimeType"], op, value, self)
        if field == "fullText" and op == "contains":
            v = value.lower()
            return lambda row: v in (row["name"] + " " + row.get("_source", {}).get("text", "")).lower()
        if field in ("modifiedTime", "createdTime"):
            return _compare(lambda row: row[field], op, value, self)
        raise self.invalid()


def _compare(get, op: str, value: str, q: DriveQuery):
    ops = {"=": lambda a: a == value, "!=": lambda a: a != value, "<": lambda a: a < value,
           ">": lambda a: a > value, "<=": lambda a: a <= value, ">=": lambda a: a >= value}
    if op not in ops:
        raise q.invalid()
    fn = ops[op]
    return lambda row: fn(get(row))
