"""Dropbox Sign side effects (SOP-B 2.4): the signature request, its record on the company, reminders,
cancellation; and the read a wait polls."""

from __future__ import annotations

from datetime import datetime

from integrations.dropbox_sign import DropboxSign, SignatureRequest
from integrations.errors import InvalidInput, NotFound
from integrations.hubspot import HubSpotCRM, Record
from tasks.base import side_effect


@side_effect(done_key=lambda p: p["key"])
def send_for_signature(esign: DropboxSign, key: str, recorded_id: str | None, title: str, subject: str, message: str,
                       file_name: str, content: bytes, signers: list[tuple[str, str]], metadata: dict[str, str],
                       expires_at: datetime | None = None) -> SignatureRequest:
    """Find before send, so a client never gets two requests for one contract: the request recorded on
    the company (``recorded_id``), else the one Dropbox Sign lists under ``key`` (a run that crashed
    after sending and before recording), else a new one, signed in the order of ``signers``."""
    if recorded_id:
        try:
            found = esign.get(recorded_id)
            if found.key == key:
                return found
        except NotFound:  # cancelled (410) or gone: look for this attempt's own request
            pass
    return esign.find(key) or esign.send(key=key, title=title, subject=subject, message=message,
                                         file_name=file_name, content=content, signers=signers, metadata=metadata,
                                         expires_at=expires_at)


@side_effect()
def record_request(crm: HubSpotCRM, company_id: str, request_id: str) -> Record:
    """The signature request's id on the company: a re-run reads it instead of searching."""
    return crm.update("companies", company_id, {"esign_request_id": request_id})


@side_effect(done_key=lambda p: f"{p['request_id']}:reminder-{p['n']}")
def remind_signer(esign: DropboxSign, request_id: str, n: int) -> str | None:
    """Reminder ``n`` through Dropbox Sign to whoever's turn it is to sign; the signer reminded, or None
    when nobody is awaited or Dropbox Sign refuses (one reminder per hour per request)."""
    signer = esign.status(request_id).next_signer()
    if signer is None:
        return None
    try:
        esign.remind(request_id, signer.email)
    except InvalidInput:
        return None
    return signer.email


@side_effect()
def cancel_request(esign: DropboxSign, request_id: str) -> bool:
    """Cancel a request nobody will sign any more (the wait ran out): it can no longer be signed."""
    return esign.cancel(request_id)


def settled(esign: DropboxSign, request_id: str) -> SignatureRequest | None:
    """The request once nothing more will happen to it (complete, declined, expired, cancelled), else None."""
    found = esign.status(request_id)
    return found if found.settled else None
