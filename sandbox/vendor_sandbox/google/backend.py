"""Google state: ``GoogleBackend`` bundles Drive, Forms, Gmail and Calendar over one vendor store.

The four APIs live in drive.py, forms.py, gmail.py and calendar.py over the shared pieces of common.py.
Contract: the discovery documents bundled in google-api-python-client (CONTRACTS.md §3).
"""

from __future__ import annotations

from vendor_sandbox.core.store import VendorStore
from vendor_sandbox.core.vendor import SandboxContext

from .calendar import CalendarApi
from .drive import DriveApi
from .forms import FormsApi
from .gmail import GmailApi


class GoogleBackend:
    """The four APIs over one vendor store."""

    def __init__(self, db: VendorStore, ctx: SandboxContext) -> None:
        self.db = db
        self.drive = DriveApi(db, ctx)
        self.forms = FormsApi(db, ctx)
        self.gmail = GmailApi(db, ctx)
        self.calendar = CalendarApi(db, ctx)

    def seed(self, team: list[dict[str, str]]) -> None:
        """The account owner ("me") is the first colleague; every colleague has a primary calendar."""
        if team:
            self.db.put("account", "me", {"email": team[0]["email"], "name": team[0]["name"]})
        self.drive.ensure_root()
        for member in team:
            self.calendar.ensure_calendar(member["email"], member["name"])
        self.gmail.ensure_aliases(team)
