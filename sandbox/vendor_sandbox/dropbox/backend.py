"""Dropbox state: one user's files and folders by path, their shared links and file requests.

Rules, each from Dropbox's HTTP documentation [doc: https://www.dropbox.com/developers/documentation/http/documentation]
and its Stone specification (github.com/dropbox/dropbox-api-spec: files.stone, shared_links.stone,
file_requests.stone):

- Paths are case-insensitive and case-preserving: ``path_lower`` finds an entry, ``path_display`` keeps
  the case it was made with. A path starts with ``/`` and does not end with one.
- ``files/create_folder_v2`` makes missing parents; an existing entry at the path is
  ``path/conflict/folder`` (or ``/file``) when ``autorename`` is false.
- ``files/upload`` makes missing parents. ``mode: add`` with a file at the path and ``autorename`` false
  is ``path/conflict/file``; ``overwrite`` replaces it (a new ``rev``, unless the content is the same:
  Dropbox keeps the revision of identical content). ``content_hash`` is Dropbox's: the SHA-256 of the
  concatenated SHA-256 of each 4 MiB block [doc: /developers/reference/content-hash].
- ``files/get_metadata`` of a missing path is ``path/not_found``; the root has no metadata.
- ``sharing/create_shared_link_with_settings`` on a path that already has a link is
  ``shared_link_already_exists`` (with the link's metadata); ``sharing/list_shared_links`` finds it.
- ``file_requests/create`` needs an existing ``destination`` folder: else ``not_found`` / ``not_a_folder``.
- ``files/delete_v2`` removes an entry and, for a folder, everything in it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from vendor_sandbox.core.store import VendorStore
from vendor_sandbox.core.vendor import SandboxContext

from . import errors

BLOCK = 4 * 1024 * 1024


def content_hash(data: bytes) -> str:
    """Dropbox's content hash of ``data``."""
    blocks = b"".join(hashlib.sha256(data[i:i + BLOCK]).digest() for i in range(0, len(data), BLOCK))
    return hashlib.sha256(blocks).hexdigest()


def _stamp(ctx: SandboxContext) -> str:
    return ctx.now().strftime("%Y-%m-%dT%H:%M:%SZ")


def parent_of(path: str) -> str:
    return path.rsplit("/", 1)[0]


class DropboxBackend:
    """One Dropbox user on ``db``: kinds entry (by path_lower), link (by path_lower), file_request (by id),
    token (revoked tokens), issued (access tokens made from a refresh token)."""

    def __init__(self, db: VendorStore, ctx: SandboxContext) -> None:
        self.db = db
        self.ctx = ctx

    # ---- tokens

    def revoke(self, token: str) -> dict[str, Any]:
        return self.db.put("token", hashlib.sha256(token.encode()).hexdigest(), {"revoked": True})

    def is_revoked(self, token: str) -> bool:
        """Revoked itself, or issued from a refresh token that was revoked since."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        if self.db.get("token", digest) is not None:
            return True
        issued = self.db.get("issued", digest)
        return issued is not None and self.is_revoked(issued["refresh_token"])

    def issue_token(self, refresh_token: str) -> str:
        """A short-lived access token (``sl.`` …) for ``refresh_token``."""
        token = f"sl.{secrets.token_urlsafe(24)}"
        self.db.put("issued", hashlib.sha256(token.encode()).hexdigest(), {"refresh_token": refresh_token})
        return token

    # ---- paths

    def check_path(self, route: str, path: Any) -> str:
        if not isinstance(path, str) or not path.startswith("/") or path.endswith("/") or "//" in path:
            raise errors.bad_input(route, f"request body: path: '{path}' did not match pattern '(/(.|[\\r\\n])*)'")
        return path

    def entry(self, path: str) -> dict[str, Any] | None:
        return self.db.get("entry", path.lower())

    def _folder(self, path: str) -> dict[str, Any]:
        """The folder at ``path`` with its missing parents made; a file in the way is a conflict."""
        if path == "":
            return {}
        found = self.entry(path)
        if found is not None:
            if found[".tag"] != "folder":
                raise errors.path_error("conflict", detail={".tag": "file"})
            return found
        self._folder(parent_of(path))
        return self.db.put("entry", path.lower(), {
            ".tag": "folder", "name": path.rsplit("/", 1)[1], "path_lower": path.lower(), "path_display": path,
            "id": f"id:{secrets.token_urlsafe(16)}"})

    # ---- files

    def create_folder(self, path: str, autorename: bool) -> dict[str, Any]:
        found = self.entry(path)
        if found is not None:
            if autorename:
                raise errors.bad_input("files/create_folder_v2", "the sandbox does not autorename")
            raise errors.path_error("conflict", detail={".tag": found[".tag"]})
        return self._folder(path)

    def get_metadata(self, path: str) -> dict[str, Any]:
        found = self.entry(path)
        if found is None:
            raise errors.path_error("not_found")
        return found

    def upload(self, path: str, mode: str, autorename: bool, data: bytes) -> dict[str, Any]:
        found = self.entry(path)
        if found is not None and found[".tag"] == "folder":
            raise errors.route_error({".tag": "path", "reason": {".tag": "conflict", "conflict": {".tag": "folder"}},
                                      "upload_session_id": ""})
        digest = content_hash(data)
        if found is not None:
            if mode == "add" and not autorename and found["content_hash"] != digest:
                raise errors.route_error({".tag": "path", "reason": {".tag": "conflict", "conflict": {".tag": "file"}},
                                          "upload_session_id": ""})
            if found["content_hash"] == digest:  # identical content: the same revision
                return found
        self._folder(parent_of(path))
        now = _stamp(self.ctx)
        return self.db.put("entry", path.lower(), {
            ".tag": "file", "name": path.rsplit("/", 1)[1], "path_lower": path.lower(), "path_display": path,
            "id": found["id"] if found else f"id:{secrets.token_urlsafe(16)}",
            "client_modified": now, "server_modified": now, "rev": secrets.token_hex(8), "size": len(data),
            "is_downloadable": True, "content_hash": digest, "content": base64.b64encode(data).decode()})

    def delete(self, path: str) -> dict[str, Any]:
        found = self.entry(path)
        if found is None:
            raise errors.path_error("not_found", outer="path_lookup")  # DeleteError.path_lookup
        for e in self.db.list("entry"):
            if e["path_lower"] == found["path_lower"] or e["path_lower"].startswith(found["path_lower"] + "/"):
                self.db.delete("entry", e["path_lower"])
                self.db.delete("link", e["path_lower"])
        return found

    # ---- shared links

    def create_shared_link(self, path: str, settings: dict[str, Any]) -> dict[str, Any]:
        found = self.get_metadata(path)
        link = self.db.get("link", found["path_lower"])
        if link is not None:
            raise errors.route_error({".tag": "shared_link_already_exists", "shared_link_already_exists":
                                      {".tag": "metadata", "metadata": self.link_metadata(link)}})
        kind = "fi" if found[".tag"] == "file" else "fo"
        url = (f"https://www.dropbox.com/scl/{kind}/{secrets.token_urlsafe(12)}/{found['name'].replace(' ', '%20')}"
               f"?rlkey={secrets.token_hex(10)}&dl=0")
        return self.db.put("link", found["path_lower"], {"url": url, "path_lower": found["path_lower"],
                                                         "settings": settings})

    def links(self, path: str | None) -> list[dict[str, Any]]:
        if path is None:
            return self.db.list("link")
        found = self.get_metadata(path)
        link = self.db.get("link", found["path_lower"])
        return [link] if link else []

    def link_metadata(self, link: dict[str, Any]) -> dict[str, Any]:
        """``SharedLinkMetadata`` (file or folder) of a stored link."""
        entry = self.entry(link["path_lower"]) or {}
        settings = link.get("settings") or {}
        visibility = _tag(settings.get("requested_visibility")) or "public"
        audience = _tag(settings.get("audience")) or visibility
        access = _tag(settings.get("access")) or "viewer"
        out: dict[str, Any] = {
            ".tag": entry.get(".tag", "file"), "url": link["url"], "name": entry.get("name", ""),
            "id": entry.get("id"), "path_lower": link["path_lower"],
            "link_permissions": {"can_revoke": True, "resolved_visibility": {".tag": audience},
                                 "effective_audience": {".tag": audience}, "link_access_level": {".tag": access},
                                 "visibility_policies": [], "can_set_expiry": False, "can_remove_expiry": False,
                                 "allow_download": True, "can_allow_download": True, "can_disallow_download": False,
                                 "allow_comments": True, "team_restricts_comments": False},
        }
        if entry.get(".tag") == "file":
            out.update({k: entry[k] for k in ("client_modified", "server_modified", "rev", "size")})
        return out

    # ---- file requests

    def create_file_request(self, body: dict[str, Any]) -> dict[str, Any]:
        title, destination = body.get("title"), body.get("destination")
        if not isinstance(title, str) or not title.strip():
            raise errors.bad_input("file_requests/create", "request body: title: must not be empty")
        destination = self.check_path("file_requests/create", destination)
        folder = self.entry(destination)
        if folder is None or folder[".tag"] != "folder":
            raise errors.route_error({".tag": "not_found" if folder is None else "not_a_folder"})
        rid = secrets.token_urlsafe(12).replace("-", "").replace("_", "") or "request"
        return self.db.put("file_request", rid, {
            "id": rid, "url": f"https://www.dropbox.com/request/{rid}", "title": title,
            "destination": folder["path_display"], "created": _stamp(self.ctx), "is_open": body.get("open", True),
            "file_count": 0, "description": body.get("description")})

    def file_requests(self) -> list[dict[str, Any]]:
        return self.db.list("file_request")


def _tag(value: Any) -> str | None:
    return value.get(".tag") if isinstance(value, dict) else value
