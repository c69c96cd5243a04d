"""What a run did, SOP step by SOP step, with links to what it made: published as the run's artifact."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from prefect.artifacts import create_markdown_artifact


@dataclass
class JournalEntry:
    sop: str
    step: str
    status: str  # done | skipped | waiting | timed_out | failed
    detail: str = ""
    links: dict[str, str] = field(default_factory=dict)
    at: str = ""


@dataclass
class Journal:
    """The steps of one client's run; published under the client's artifact key."""

    company_name: str
    domain: str
    clock: Callable[[], datetime]
    entries: list[JournalEntry] = field(default_factory=list)

    def record(self, sop: str, step: str, detail: str = "", *, status: str = "done", **links: str | None) -> None:
        clean = {k: v for k, v in links.items() if v}
        self.entries.append(JournalEntry(sop, step, status, detail, clean, self.clock().isoformat(timespec="seconds")))

    def markdown(self) -> str:
        rows = ["| SOP step | what | status | detail | links |", "|---|---|---|---|---|"]
        for e in self.entries:
            links = " ".join(f"[{k}]({v})" if v.startswith("http") else f"{k}: `{v}`" for k, v in e.links.items())
            rows.append(f"| {e.sop} | {e.step} | {e.status} | {e.detail.replace('|', '/')} | {links} |")
        return "\n".join(rows)

    def publish(self) -> None:
        key = "onboarding-" + "".join(ch if ch.isalnum() else "-" for ch in self.domain.lower())
        create_markdown_artifact(self.markdown(), key=key[:100], description=f"SOP steps for {self.company_name}")


log = logging.getLogger("flows.journal")
_CURRENT: ContextVar[Journal | None] = ContextVar("onboard_journal", default=None)


@contextmanager
def client_journal(company_name: str, domain: str, clock: Callable[[], datetime]) -> Iterator[Journal]:
    """The journal of the calling run when there is one (a phase as a subflow of the new-client run),
    else a new one, published when the block ends (a phase run on its own)."""
    journal = _CURRENT.get()
    if journal is not None:
        yield journal
        return
    journal = Journal(company_name, domain, clock)
    token = _CURRENT.set(journal)
    journal.publish()  # staff see the run's steps from its start, and while it waits (``waiting``)
    try:
        yield journal
    finally:
        _CURRENT.reset(token)
        journal.publish()


def record(sop: str, step: str, detail: str = "", *, status: str = "done", **links: str | None) -> None:
    """Note a step in the current run's journal, and log it (one line per step: what `onboard demo` prints)."""
    link = next((v for v in links.values() if v and v.startswith("http")), "")
    log.info("%s %s%s%s%s", sop, step, f" ({status})" if status not in ("done", "waiting") else "", f": {detail}" if detail else "",
             f"  {link}" if link else "")
    journal = _CURRENT.get()
    if journal is not None:
        journal.record(sop, step, detail, status=status, **links)


def waiting(sop: str, what: str, detail: str, **links: str | None) -> None:
    """Note that the run now waits on someone, and publish the journal at once (staff see it while it waits)."""
    record(sop, f"Waiting: {what}", detail, status="waiting", **links)
    journal = _CURRENT.get()
    if journal is not None:
        journal.publish()


def waited(what: str, status: str) -> None:
    """The wait noted by ``waiting`` has ended: ``answered`` or ``timed_out``."""
    journal = _CURRENT.get()
    for entry in reversed(journal.entries if journal else []):
        if entry.step == f"Waiting: {what}" and entry.status == "waiting":
            entry.status = status
            return
