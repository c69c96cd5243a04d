"""Google Drive side effects: the client's folder tree and the documents the SOP produces."""

from __future__ import annotations

from integrations.google import FOLDER, Drive, DriveFile
from tasks.base import in_parallel, side_effect

SUBFOLDERS = ("Proposals", "Contracts", "Meeting notes", "Deliverables")


@side_effect(done_key=lambda p: p["domain"])
def ensure_client_folder(drive: Drive, domain: str, company_name: str) -> dict[str, DriveFile]:
    """The client's folder and its subfolders, tagged with the client's domain: created once. One
    lookup finds every folder of the client; a subfolder counts only inside the root it found."""
    found: dict[str, DriveFile] = {}
    for f in drive.find_by_app_properties({"client": domain}, mime_type=FOLDER):  # oldest first
        found.setdefault(f.app_properties.get("kind", ""), f)
    root = found.get("root") or drive.create_folder(f"{company_name} (client)", None,
                                                    {"client": domain, "kind": "root"})

    def subfolder(name: str) -> DriveFile:
        sub = found.get(name)
        if sub and root.id in sub.parents:
            return sub
        return drive.create_folder(name, root.id, {"client": domain, "kind": name})

    made = in_parallel([lambda name=name: subfolder(name) for name in SUBFOLDERS])  # independent creates
    return {"root": root, **dict(zip(SUBFOLDERS, made, strict=True))}


@side_effect(done_key=lambda p: f"{p['domain']}:{p['kind']}")
def store_document(drive: Drive, folder_id: str, name: str, html: str, domain: str, kind: str) -> DriveFile:
    """A Google Doc from rendered HTML, found again by (client, kind) so it is never duplicated."""
    return drive.upload_document(name, folder_id, html, {"client": domain, "kind": kind})


@side_effect(done_key=lambda p: f"{p['domain']}:{p['kind']}")
def store_file(drive: Drive, folder_id: str, name: str, data: bytes, mime: str, domain: str, kind: str) -> DriveFile:
    """A file kept as it is (a signed PDF), found again by (client, kind) so it is never duplicated."""
    return drive.upload_file(name, folder_id, data, mime, {"client": domain, "kind": kind})


@side_effect(done_key=lambda p: f"{p['file_id']}:{p['email']}:{p.get('role', 'reader')}")
def share_with(drive: Drive, file_id: str, email: str, role: str = "reader") -> bool:
    """Give the client access (the portal: their shared folder, or one document)."""
    return drive.share(file_id, email, role=role, notify=False)


@side_effect()
def trash(drive: Drive, file_id: str) -> DriveFile:
    return drive.trash(file_id)
