"""The document storage the company chose (``storage`` in config/company.yaml): Google Drive or Dropbox.

The flows call these functions with ``svc.clients.documents``; each hands the work to the task of that
storage (tasks/drive.py or tasks/dropbox.py), so a flow reads the same either way. On Drive a document
is a Google Doc shared with the client's Google account; on Dropbox it is a PDF with a view-only link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.dropbox import DropboxStorage
from integrations.google import Drive
from tasks import drive, dropbox

Storage = Drive | DropboxStorage


@dataclass(frozen=True)
class Portal:
    """Where the client finds their documents, and (Dropbox) where they upload theirs."""

    url: str
    upload_url: str | None = None


def ensure_client_folder(store: Storage, domain: str, company_name: str) -> dict[str, Any]:
    """The client's folder and subfolders (Proposals, Contracts, Meeting notes, Deliverables[, Uploads])."""
    if isinstance(store, DropboxStorage):
        return dropbox.ensure_dropbox_folder(store, domain, company_name)
    return drive.ensure_client_folder(store, domain, company_name)


def store_document(store: Storage, folder_id: str, name: str, html: str, domain: str, kind: str) -> Any:
    """A rendered document in the folder, found again by (client, kind); ``.id`` and ``.web_view_link``."""
    if isinstance(store, DropboxStorage):
        return dropbox.store_dropbox_document(store, folder_id, name, html, domain, kind)
    return drive.store_document(store, folder_id, name, html, domain, kind)


def store_file(store: Storage, folder_id: str, name: str, data: bytes, mime: str, domain: str, kind: str) -> Any:
    """A file kept as it is (a signed PDF), found again by (client, kind)."""
    if isinstance(store, DropboxStorage):
        return dropbox.store_dropbox_file(store, folder_id, name, data, domain, kind)
    return drive.store_file(store, folder_id, name, data, mime, domain, kind)


def share_with(store: Storage, file_id: str, email: str, role: str = "reader") -> bool:
    """Give the client access to one document: on Drive a permission for their account; on Dropbox its
    view-only link (made with the document), which the email carries."""
    if isinstance(store, DropboxStorage):
        dropbox.share_dropbox_link(store, file_id)
        return True
    return drive.share_with(store, file_id, email, role)


def by_link(store: Storage) -> bool:
    """Whether the client reaches documents by link (Dropbox) rather than with their own account (Drive)."""
    return isinstance(store, DropboxStorage)


def open_portal(store: Storage, folder_ids: dict[str, str], email: str, company_name: str) -> Portal:
    """The client portal: on Drive their folder shared with them as a writer; on Dropbox the folder's
    view-only link and a file request into its Uploads folder."""
    root = folder_ids["root"]
    if isinstance(store, DropboxStorage):
        uploads = folder_ids.get("Uploads") or f"{root}/Uploads"
        request = dropbox.open_file_request(store, f"Files for {company_name}", uploads)
        return Portal(dropbox.share_dropbox_link(store, root), request.url)
    drive.share_with(store, root, email, role="writer")
    return Portal(folder_url(store, root))


def folder_url(store: Storage, folder_id: str) -> str:
    """A link to the folder for the team (Drive's folder URL; Dropbox's web path)."""
    if isinstance(store, DropboxStorage):
        return "https://www.dropbox.com/home" + folder_id.replace(" ", "%20")
    return f"https://drive.google.com/drive/folders/{folder_id}"


def trash(store: Storage, file_id: str) -> Any:
    if isinstance(store, DropboxStorage):
        return dropbox.delete_from_dropbox(store, file_id)
    return drive.trash(store, file_id)
