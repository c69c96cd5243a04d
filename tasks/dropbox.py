"""Dropbox side effects (``storage: dropbox``): the client's folder tree, documents as PDFs, view-only
shared links and the file request the client uploads through."""

from __future__ import annotations

from dataclasses import replace

from integrations.dropbox import DropboxStorage, Entry, FileRequest
from services.documents import html_to_pdf
from tasks.base import in_parallel, side_effect

ROOT = "/Clients"
SUBFOLDERS = ("Proposals", "Contracts", "Meeting notes", "Deliverables", "Uploads")  # Uploads: the file request's


def safe_name(name: str) -> str:
    """A file or folder name Dropbox takes: no slash or backslash, no trailing dot or space."""
    return name.replace("/", "-").replace("\\", "-").strip().rstrip(".") or "untitled"


def client_root(domain: str, company_name: str) -> str:
    """The client's folder: found by this path on every run (the domain keeps two clients of one name apart)."""
    return f"{ROOT}/{safe_name(company_name)} ({domain})"


@side_effect(done_key=lambda p: p["domain"])
def ensure_dropbox_folder(dbx: DropboxStorage, domain: str, company_name: str) -> dict[str, Entry]:
    """The client's folder and its subfolders, found by path or made once."""
    root = dbx.ensure_folder(client_root(domain, company_name))
    made = in_parallel([lambda name=name: dbx.ensure_folder(f"{root.path}/{name}") for name in SUBFOLDERS])
    return {"root": root, **dict(zip(SUBFOLDERS, made, strict=True))}


@side_effect(done_key=lambda p: f"{p['domain']}:{p['kind']}")
def store_dropbox_document(dbx: DropboxStorage, folder: str | None, name: str, html: str, domain: str, kind: str) -> Entry:
    """The rendered document as ``<name>.pdf`` in ``folder``, with its view-only link; a re-run of the
    same content uploads nothing."""
    entry = dbx.upload(f"{folder or ROOT}/{safe_name(name)}.pdf", html_to_pdf(html))  # no folder: /Clients
    return replace(entry, web_view_link=dbx.shared_link(entry.path).url)


@side_effect(done_key=lambda p: f"{p['domain']}:{p['kind']}")
def store_dropbox_file(dbx: DropboxStorage, folder: str | None, name: str, data: bytes, domain: str, kind: str) -> Entry:
    """A file kept as it is (the signed PDF) in ``folder``, with its view-only link."""
    entry = dbx.upload(f"{folder or ROOT}/{safe_name(name)}", data)
    return replace(entry, web_view_link=dbx.shared_link(entry.path).url)


@side_effect(done_key=lambda p: p["path"])
def share_dropbox_link(dbx: DropboxStorage, path: str) -> str:
    """The view-only shared link of a file or folder (made once, reused)."""
    return dbx.shared_link(path).url


@side_effect(done_key=lambda p: p["destination"])
def open_file_request(dbx: DropboxStorage, title: str, destination: str) -> FileRequest:
    """The file request through which the client uploads into ``destination`` (one per folder)."""
    return dbx.file_request(title, destination, "Files for us: they arrive in your folder's Uploads.")


@side_effect()
def delete_from_dropbox(dbx: DropboxStorage, path: str) -> bool:
    return dbx.delete(path)
