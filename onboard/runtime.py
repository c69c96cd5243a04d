"""What every step of a run needs, built once per run: settings, profile, rules, texts, clients, clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from integrations.clients import Clients, build_clients

from .profile import CompanyProfile, Person, Role
from .rendering import Renderer
from .rules import OnboardingRules
from .settings import Settings, load_settings


@dataclass
class JournalEntry:
    sop: str
    step: str
    status: str  # done | skipped | waiting | timed_out | failed
    detail: str = ""
    links: dict[str, str] = field(default_factory=dict)
    at: str = ""


class Journal:
    """What a run did, step by step, with links to what it created; becomes the run's artifact."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.entries: list[JournalEntry] = []
        self._clock = clock

    def record(self, sop: str, step: str, detail: str = "", *, status: str = "done", **links: str | None) -> None:
        clean = {k: v for k, v in links.items() if v}
        self.entries.append(JournalEntry(sop, step, status, detail, clean, self._clock().isoformat(timespec="seconds")))


class Runtime:
    """Passed into every phase flow; tasks receive only the client they need from it."""

    def __init__(self, settings: Settings, clients: Clients, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.clients = clients
        self.clock = clock or (lambda: datetime.now(UTC))
        self.profile: CompanyProfile = settings.profile
        self.rules: OnboardingRules = settings.rules
        p = self.profile
        self.renderer = Renderer(
            settings.templates_dir,
            company=p.company,
            approving_manager=p.approving_manager,
            preparer=p.people(Role.CLIENT_RELATIONS_MANAGER)[0],
            sender=p.people(Role.CLIENT_RELATIONS_MANAGER)[0],
        )
        self.journal = Journal(self.clock)

    def now(self) -> datetime:
        return self.clock()

    def template_data(self, name: str) -> Any:
        """A YAML file of templates/ (intake questions, project plan)."""
        return yaml.safe_load((self.settings.templates_dir / name).read_text())

    def person(self, role: Role, email: str | None = None) -> Person:
        """The roster member with ``email`` in ``role``, or the first of that role."""
        people = self.profile.people(role)
        return next((p for p in people if p.email == email), people[0])

    def wait_seconds(self, hours: float) -> float:
        return hours * self.settings.wait_hour_seconds


def build_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or load_settings()
    return Runtime(settings, build_clients(settings))


_CURRENT: ContextVar[Runtime | None] = ContextVar("onboard_runtime", default=None)


@contextmanager
def using_runtime(rt: Runtime) -> Iterator[Runtime]:
    """Flows called inside this block (subflows run in the caller's context) reuse ``rt``."""
    token = _CURRENT.set(rt)
    try:
        yield rt
    finally:
        _CURRENT.reset(token)


def current_runtime() -> Runtime:
    """The calling flow's runtime when this flow runs as its subflow (the sweep's follow-ups), else a
    new one (the flow run alone or from a deployment): clients are built once per sweep, not per action."""
    return _CURRENT.get() or build_runtime()
