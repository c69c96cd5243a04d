"""What every step of a run uses, built in one place: settings (profile, rules), vendor clients, the
renderer of client-facing texts, and the clock.

Flows reach it one way, ``current()``: the entry flow (the new-client run, the sweep) builds it once
and every subflow called inside it shares it; a flow run on its own (a deployment, a Retry from the
UI) builds its own from the settings. Flows therefore take only data as parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import yaml

from services.clients import Clients, build_clients
from services.rendering import Renderer
from services.settings import Settings, load_settings
from sop.profile import CompanyProfile, Person, Role
from sop.rules import OnboardingRules
from sop.surveys import Surveys
from sop.timeline import EngagementRules


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """Settings, clients, renderer and clock of one run (tasks receive only the client they need)."""

    settings: Settings
    clients: Clients
    clock: Callable[[], datetime] = _utc_now
    # the configuration files, read (and validated) once by the settings
    profile: CompanyProfile = field(init=False)
    rules: OnboardingRules = field(init=False)
    engagement_rules: EngagementRules = field(init=False)
    surveys: Surveys = field(init=False)
    renderer: Renderer = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.profile, self.rules, self.engagement_rules, self.surveys = s.profile, s.rules, s.engagement_rules, s.surveys
        relations = self.profile.people(Role.CLIENT_RELATIONS_MANAGER)[0]
        self.renderer = Renderer(s.templates_dir, company=self.profile.company,
                                 approving_manager=self.profile.approving_manager, preparer=relations, sender=relations)

    def now(self) -> datetime:
        return self.clock()

    def person(self, role: Role, email: str | None = None) -> Person:
        return self.profile.person(role, email)

    def template_data(self, name: str) -> Any:
        """A YAML file of templates/ (intake questions, project plan)."""
        return yaml.safe_load((self.settings.templates_dir / name).read_text())

    def wait_seconds(self, hours: float, *, to_meeting: bool = False) -> float:
        """Seconds in ``hours`` of a wait (``to_meeting``: of the time until a meeting ends), as the settings
        scale them."""
        return hours * ((to_meeting and self.settings.meeting_hour_seconds) or self.settings.wait_hour_seconds)


def build_services(settings: Settings | None = None, clock: Callable[[], datetime] | None = None) -> Services:
    """Services from the settings (the environment when None): clients for the sandbox or live vendors."""
    # Prefect is imported when a run starts, not with this package: the app sets Prefect's environment
    # (PREFECT_HOME, the server) before anything imports Prefect, which reads its settings on import.
    from prefect_plumbing.tls import share_tls_context

    share_tls_context()  # once per process; every Prefect API client of the run then shares it
    settings = settings or load_settings()
    return Services(settings, build_clients(settings), clock or _utc_now)


_CURRENT: ContextVar[Services | None] = ContextVar("onboard_services", default=None)


@contextmanager
def use_services(services: Services) -> Iterator[Services]:
    """Flows called inside this block (subflows run in the caller's context) get ``services``."""
    token = _CURRENT.set(services)
    try:
        yield services
    finally:
        _CURRENT.reset(token)


def current() -> Services:
    """The services of the calling flow when this flow runs as its subflow, else new ones built from
    the settings (the flow run on its own: a deployment, a Retry from the UI)."""
    return _CURRENT.get() or build_services()
