"""Dropbox as the client's document storage (``storage: dropbox`` in config/company.yaml), on the
official SDK ``dropbox`` (12.x).

The calls [doc: https://www.dropbox.com/developers/documentation/http/documentation]:

- ``files/create_folder_v2`` (``autorename: false``; a ``path/conflict`` means it exists) and
  ``files/get_metadata``: find-or-create a folder by path;
- ``files/upload`` (``mode: overwrite``) after ``files/get_metadata``: a file whose ``content_hash`` is
  already the one at the path is not sent again, so a re-run writes no second copy or revision;
- ``files/delete_v2``: a declined client's folder goes (Dropbox keeps it restorable for 30+ days);
- ``sharing/create_shared_link_with_settings`` (view-only: ``requested_visibility``/``audience`` public,
  ``access`` viewer) and, when Dropbox answers ``shared_link_already_exists``, ``sharing/list_shared_links``
  (``direct_only``): one link per path, reused;
- ``file_requests/create`` into the client's Uploads folder and ``file_requests/list_v2``: one open
  request per destination, found again by it.

Addresses: Dropbox addresses everything by path (case-insensitive), so an entry's ``id`` here is its
``path_display``: the seam of ``tasks/storage.py`` hands it back as the parent of the next upload.

Reaching a sandbox: the SDK always calls ``https://api.dropboxapi.com/2/…`` and
``https://content.dropboxapi.com/2/…`` (``dropbox.session.API_HOST`` and ``API_CONTENT_HOST``, read from
the environment once at import, so not a per-client setting). ``connect(token, base_url=...)`` hands it
a ``requests.Session`` (the SDK's documented ``session`` argument) with a transport adapter
(``requests``' public ``Session.mount``) mounted on those two hosts that sends each request to
``{base_url}/api/2/…`` and ``{base_url}/content/2/…`` instead: the SDK builds and parses every request
and answer as it does against Dropbox. Over TLS: ``base_url`` is ``https://127.0.0.1:<tls_port>/dropbox``
(``vendor_sandbox``'s ``SandboxServer(tls=True)``: the same app on an HTTPS listener whose certificate a
throwaway ``trustme`` CA issued) and ``ca_certs`` that CA's PEM file, which the adapter verifies the
certificate against. With no ``base_url`` the SDK talks to Dropbox with its own pinned session and
``ca_certs``.

Errors: the SDK raises ``ApiError`` (409, the route's error union), ``AuthError`` (401, including
``missing_scope``), ``RateLimitError`` (429, with ``backoff`` from ``retry_after``), ``BadInputError``
(400), ``InternalServerError`` (5xx) and ``requests`` transport errors; ``translate`` maps them to
``integrations.errors``. The SDK's own retries are off (``max_retries_on_error=0``,
``max_retries_on_rate_limit=0``): ``integrations.retry`` decides, as for every vendor. Budget: one
slot of ``budget.dropbox`` per call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import dropbox
import requests
from dropbox import exceptions, file_requests, files, sharing
from requests.adapters import HTTPAdapter

from . import budget, calls, retry
from .errors import (
    Conflict,
    IntegrationError,
    InvalidInput,
    MissingScope,
    NotAuthorized,
    NotFound,
    RateLimited,
    Transient,
)

VENDOR = "dropbox"
HOSTS = {"api": dropbox.session.API_HOST, "content": dropbox.session.API_CONTENT_HOST}
TIMEOUT = 100.0  # the SDK's default
BLOCK = 4 * 1024 * 1024
T = TypeVar("T")


def content_hash(data: bytes) -> str:
    """Dropbox's content hash: SHA-256 of the concatenated SHA-256 of each 4 MiB block
    [doc: https://www.dropbox.com/developers/reference/content-hash]."""
    return hashlib.sha256(b"".join(hashlib.sha256(data[i:i + BLOCK]).digest()
                                   for i in range(0, len(data), BLOCK))).hexdigest()


# --- results


@dataclass(frozen=True)
class Entry:
    """A file or folder (``FileMetadata`` / ``FolderMetadata``); ``web_view_link`` once it is shared."""

    path: str  # path_display
    name: str
    kind: str  # "file" or "folder"
    dropbox_id: str = ""
    content_hash: str = ""
    size: int = 0
    web_view_link: str | None = None

    @property
    def id(self) -> str:
        """What the project's storage seam calls an id: the path (Dropbox addresses by path)."""
        return self.path

    @property
    def path_lower(self) -> str:
        return self.path.lower()

    @classmethod
    def from_api(cls, m: files.Metadata) -> Entry:
        kind = "folder" if isinstance(m, files.FolderMetadata) else "file"
        return cls(path=m.path_display or "", name=m.name, kind=kind, dropbox_id=getattr(m, "id", "") or "",
                   content_hash=getattr(m, "content_hash", None) or "", size=getattr(m, "size", 0) or 0)


@dataclass(frozen=True)
class SharedLink:
    url: str
    path_lower: str
    access: str  # "viewer", "editor", ...
    audience: str  # "public", "team", "no_one", ...

    @classmethod
    def from_api(cls, link: sharing.SharedLinkMetadata) -> SharedLink:
        perms = link.link_permissions
        access = perms.link_access_level._tag if perms.link_access_level is not None else ""
        audience = perms.effective_audience._tag if perms.effective_audience is not None else ""
        return cls(url=link.url, path_lower=link.path_lower or "", access=access, audience=audience)


@dataclass(frozen=True)
class FileRequest:
    id: str
    url: str
    title: str
    destination: str
    is_open: bool

    @classmethod
    def from_api(cls, r: file_requests.FileRequest) -> FileRequest:
        return cls(id=r.id, url=r.url, title=r.title, destination=r.destination or "", is_open=r.is_open)


# --- connect


class SandboxAdapter(HTTPAdapter):
    """A transport adapter that sends what the SDK addresses to ``https://<host>/2/…`` to
    ``{base_url}/<api|content>/2/…`` instead (the sandbox), verifying its certificate against ``ca_certs``
    when given (set here, not as the session's ``verify``: requests lets ``REQUESTS_CA_BUNDLE`` override that)."""

    def __init__(self, base_url: str, ca_certs: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")
        self.ca_certs = ca_certs
        self._prefixes = {f"https://{host}/": f"{self.base_url}/{name}/" for name, host in HOSTS.items()}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        for prefix, target in self._prefixes.items():
            if request.url and request.url.startswith(prefix):
                request.url = target + request.url[len(prefix):]
                break
        if self.ca_certs:
            kwargs["verify"] = self.ca_certs
        return super().send(request, **kwargs)


def sandbox_session(base_url: str, ca_certs: str | None = None) -> requests.Session:
    """A ``requests.Session`` for the SDK that reaches a Dropbox-compatible server at ``base_url``."""
    session = requests.Session()
    adapter = SandboxAdapter(base_url, ca_certs)
    for host in HOSTS.values():
        session.mount(f"https://{host}/", adapter)
    return session


def connect(access_token: str | None = None, base_url: str | None = None, *, refresh_token: str | None = None,
            app_key: str | None = None, app_secret: str | None = None, ca_certs: str | None = None,
            timeout: float = TIMEOUT) -> DropboxStorage:
    """A ``DropboxStorage`` with the user's OAuth2 ``access_token``, or with a long-lived ``refresh_token`` and
    the app's key and secret (the SDK fetches a short-lived access token at ``oauth2/token`` and renews it
    before it expires, every 4 hours). ``base_url`` (``…/dropbox``) points the SDK at a sandbox,
    ``ca_certs`` is the CA file that signed a TLS sandbox's certificate."""
    if not access_token and not (refresh_token and app_key):
        raise ValueError("Dropbox needs an access_token, or a refresh_token with the app_key (and app_secret)")
    session = sandbox_session(base_url, ca_certs) if base_url else None
    client = dropbox.Dropbox(oauth2_access_token=access_token, oauth2_refresh_token=refresh_token, app_key=app_key,
                             app_secret=app_secret, session=session, timeout=timeout,
                             max_retries_on_error=0, max_retries_on_rate_limit=0,
                             ca_certs=None if base_url else ca_certs)
    return DropboxStorage(client)


# --- errors


def _tags(error: Any) -> list[str]:
    """The tags of a Stone error union, outermost first (``path``, ``conflict``, ``folder``); a struct on
    the way (``UploadWriteFailed``) is followed through its ``reason``."""
    tags: list[str] = []
    while error is not None:
        tag = getattr(error, "_tag", None)
        if tag is not None:
            tags.append(tag)
            error = getattr(error, "_value", None)
        else:
            error = getattr(error, "reason", None)
    return tags


def translate(exc: Exception) -> Exception:
    """``exc`` (the SDK's or ``requests``') as the ``integrations.errors`` exception it means; any other
    exception is returned unchanged."""
    if isinstance(exc, exceptions.ApiError):
        tags = _tags(exc.error)
        summary = "/".join(tags) or str(exc.error)
        if "not_found" in tags:
            return NotFound(VENDOR, summary, status=409)
        if "conflict" in tags or "shared_link_already_exists" in tags:
            return Conflict(VENDOR, summary)
        if "too_many_write_operations" in tags:
            return RateLimited(VENDOR, summary, retry_after=None, status=409)
        return InvalidInput(VENDOR, summary, status=409)
    if isinstance(exc, exceptions.AuthError):
        if exc.error.is_missing_scope():
            scope = exc.error.get_missing_scope().required_scope
            return MissingScope(VENDOR, f"the token lacks the scope {scope}: add it to the app's Permissions and "
                                        "issue a new token", needed=(scope,), status=401)
        return NotAuthorized(VENDOR, f"the token was refused ({'/'.join(_tags(exc.error))}): check "
                                     "ONBOARD_DROPBOX_REFRESH_TOKEN / _APP_KEY / _APP_SECRET (or _ACCESS_TOKEN) or their "
                                     "Secret blocks (docs/live-setup.md, Dropbox)",
                             status=401)
    if isinstance(exc, exceptions.RateLimitError):
        return RateLimited(VENDOR, "too_many_requests", retry_after=exc.backoff, status=429)
    if isinstance(exc, exceptions.BadInputError):
        return InvalidInput(VENDOR, exc.message, status=400)
    if isinstance(exc, exceptions.InternalServerError):
        return Transient(VENDOR, f"HTTP {exc.status_code}: {exc.body}", status=exc.status_code)
    if isinstance(exc, exceptions.HttpError):
        return IntegrationError(VENDOR, f"HTTP {exc.status_code}: {exc.body}", status=exc.status_code)
    if isinstance(exc, requests.exceptions.SSLError):  # the server's certificate is not trusted: not transient
        return IntegrationError(VENDOR, f"TLS: {exc} (a sandbox's local CA goes in ca_certs)")
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return Transient(VENDOR, f"{type(exc).__name__}: {exc}")
    return exc


# --- the client


class DropboxStorage:
    """The Dropbox operations of the SOP: folders and files by path, view-only shared links, file requests."""

    def __init__(self, client: dropbox.Dropbox) -> None:
        self._dbx = client

    def _call(self, fn: Callable[[], T], *, idempotent: bool, attempts: int | None = None) -> T:
        """One SDK call: a slot of ``budget.dropbox``, the SDK's exception through ``translate``, retried
        per ``retry`` (``attempts=1`` inside an operation retried as a whole)."""
        return calls.call(fn, idempotent=idempotent, slot=budget.dropbox, translate=translate, attempts=attempts)

    def get(self, path: str) -> Entry | None:
        """The file or folder at ``path``, or None."""
        try:
            return Entry.from_api(self._call(lambda: self._dbx.files_get_metadata(path), idempotent=True))
        except NotFound:
            return None

    def ensure_folder(self, path: str) -> Entry:
        """The folder at ``path``, made (with its parents) when missing; found again on a re-run."""

        def find_or_create() -> Entry:
            try:
                made = self._call(lambda: self._dbx.files_create_folder_v2(path, autorename=False), idempotent=False,
                                  attempts=1)
                return Entry.from_api(made.metadata)
            except Conflict:
                found = self._call(lambda: self._dbx.files_get_metadata(path), idempotent=True, attempts=1)
                if not isinstance(found, files.FolderMetadata):
                    raise Conflict(VENDOR, f"{path} is a file, not a folder") from None
                return Entry.from_api(found)

        return retry.call(find_or_create, idempotent=True)  # a lost create's answer: the retry finds it

    def upload(self, path: str, data: bytes) -> Entry:
        """``data`` at ``path``: not sent when the file there already has this content (no new revision),
        else written over it (``mode: overwrite``)."""
        existing = self.get(path)
        if existing is not None and existing.kind == "file" and existing.content_hash == content_hash(data):
            return existing
        made = self._call(lambda: self._dbx.files_upload(data, path, mode=files.WriteMode.overwrite, autorename=False,
                                                         mute=True), idempotent=True)  # overwrite: safe to repeat
        return Entry.from_api(made)

    def delete(self, path: str) -> bool:
        """Delete the file or folder at ``path``; False when there was none."""
        try:
            self._call(lambda: self._dbx.files_delete_v2(path), idempotent=True)
            return True
        except NotFound:
            return False

    def shared_link(self, path: str) -> SharedLink:
        """The view-only public link of ``path``: made once, the existing one returned after."""
        settings = sharing.SharedLinkSettings(requested_visibility=sharing.RequestedVisibility.public,
                                              audience=sharing.LinkAudience.public,
                                              access=sharing.RequestedLinkAccessLevel.viewer)
        try:
            made = self._call(lambda: self._dbx.sharing_create_shared_link_with_settings(path, settings),
                              idempotent=False)
            return SharedLink.from_api(made)
        except Conflict:  # shared_link_already_exists
            found = self._call(lambda: self._dbx.sharing_list_shared_links(path=path, direct_only=True),
                               idempotent=True)
            if not found.links:
                raise
            return SharedLink.from_api(found.links[0])

    def file_request(self, title: str, destination: str, description: str | None = None) -> FileRequest:
        """An open file request that saves what the client uploads into ``destination``: the one already
        open there when there is one, else a new one."""
        existing = self.find_file_request(destination)
        if existing is not None:
            return existing
        made = self._call(lambda: self._dbx.file_requests_create(title, destination, open=True,
                                                                 description=description), idempotent=False)
        return FileRequest.from_api(made)

    def find_file_request(self, destination: str) -> FileRequest | None:
        """The open file request into ``destination`` (compared case-insensitively), or None."""
        page = self._call(lambda: self._dbx.file_requests_list_v2(limit=1000), idempotent=True)
        requests_ = list(page.file_requests)
        while page.has_more:
            page = self._call(lambda cursor=page.cursor: self._dbx.file_requests_list_continue(cursor),
                              idempotent=True)
            requests_ += page.file_requests
        wanted = destination.lower()
        return next((FileRequest.from_api(r) for r in requests_
                     if r.is_open and (r.destination or "").lower() == wanted), None)

    def check(self, path: str) -> Entry | None:
        """One read that needs the token and reads nothing else: ``files/get_metadata`` of ``path`` (the
        clients' folder), None when it does not exist yet. Write scopes show only at the first write."""
        return self.get(path)

    def close(self) -> None:
        self._dbx.close()
