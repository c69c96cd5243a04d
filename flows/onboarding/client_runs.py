"""A client's new-client runs, found by the tag each carries (one unfinished run per client)."""

from __future__ import annotations

import os
import socket

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
                                            FlowRunFilterTags)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.states import Cancelled, Cancelling, Crashed

UNFINISHED = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED, StateType.CANCELLING]


def client_tag(domain: str) -> str:
    """The tag of every new-client run of one client (``onboard status`` and ``cancel`` find runs by it)."""
    return f"client:{domain}"


def unfinished_runs(domain: str | None = None) -> list[FlowRun]:
    """Unfinished new-client runs (of one client, or of all), oldest first."""
    tags = FlowRunFilterTags(all_=[client_tag(domain)]) if domain else None
    with get_client(sync_client=True) as prefect:
        runs = prefect.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=tags, state=FlowRunFilterState(type=FlowRunFilterStateType(any_=UNFINISHED))))
    return sorted((r for r in runs if any(t.startswith("client:") for t in r.tags)), key=lambda r: (r.created, str(r.id)))


def process_tag() -> str:
    return f"process:{socket.gethostname()}:{os.getpid()}"


def tag_run(run: FlowRun, domain: str) -> None:
    """Tag the run with its client and the process running it now (which a later run on this host can
    check: a run killed with its process stays Running in Prefect)."""
    tags = [t for t in run.tags if not t.startswith("process:")] + [process_tag()]
    if client_tag(domain) not in tags:
        tags.append(client_tag(domain))
    with get_client(sync_client=True) as prefect:
        prefect.update_flow_run(run.id, tags=tags)


def crashed_here(run: FlowRun) -> bool:
    """A Running run whose process on this host has ended (killed): marked Crashed, it no longer counts."""
    if not (run.state and run.state.is_running()):
        return False
    host_pid = next((t.removeprefix("process:") for t in run.tags if t.startswith("process:")), "")
    host, _, pid = host_pid.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or _alive(int(pid)):
        return False
    with get_client(sync_client=True) as prefect:
        prefect.set_flow_run_state(run.id, Crashed(message=f"its process ({pid}) ended while it ran"), force=True)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_run(run: FlowRun, reason: str) -> str:
    """Cancel a run: at once when it is suspended (no process holds it), else through its process."""
    suspended = bool(run.state and run.state.is_paused() and run.state.state_details.pause_reschedule)
    state = Cancelled(message=reason) if suspended or (run.state and run.state.is_scheduled()) else Cancelling(message=reason)
    with get_client(sync_client=True) as prefect:
        prefect.set_flow_run_state(run.id, state, force=True)
    return f"run '{run.name}' {'cancelled' if state.is_cancelled() else 'cancelling'}"
