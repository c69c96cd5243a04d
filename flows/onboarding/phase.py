"""What the new-client run and each of its phases run inside."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.runtime import flow_run

import services
from flows.journal import client_journal
from flows.steps import in_phase
from services import Services
from sop.client import NewClient
from tasks.base import parallel_steps, run_scope


@contextmanager
def phase_of(client: NewClient, phase: str = "") -> Iterator[Services]:
    """The run's services (the caller's when this is its subflow), the scope of steps done in the run
    (a resumed or retried run does not do them again; the new-client run's scope for its phases), the
    client's journal, and independent steps in parallel unless the settings switch that off."""
    svc = services.current()
    with (run_scope(flow_run.id), client_journal(client.company_name, client.domain, svc.clock),
          parallel_steps(svc.settings.parallel_steps), in_phase(phase)):
        yield svc
