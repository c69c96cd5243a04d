"""Google Drive side effects: the client's folder tree and the documents the SOP produces."""

from __future__ import annotations

from integrations.google import Drive, DriveFile

from .base import step

SUBFOLDERS = ("Proposals", "Contracts", "Meeting notes", "Deliverables")


@step()
def ensure_client_folder(drive: Drive, domain: str, company_name: str) -> dict[str, DriveFile]:
    """The client's folder and its subfolders, tagged with the client's domain: created once."""
    root = drive.find_or_create_folder(f"{company_name} (client)", None, {"client": domain, "kind": "root"})
    folders = {"root": root}
    for name in SUBFOLDERS:
        folders[name] = drive.find_or_create_folder(name, root.id, {"client": domain, "kind": name})
    return folders


@step()
def store_document(drive: Drive, folder_id: str, name: str, html: str, domain: str, kind: str) -> DriveFile:
    """A Google Doc from rendered HTML, found again by (client, kind) so it is never duplicated."""
    return drive.upload_document(name, folder_id, html, {"client": domain, "kind": kind})


@step()
def share_with(drive: Drive, file_id: str, email: str, role: str = "reader") -> bool:
    """Give the client access (the portal: their shared folder, or one document)."""
    return drive.share(file_id, email, role=role, notify=False)


@step()
def trash(drive: Drive, file_id: str) -> DriveFile:
    return drive.trash(file_id)
