"""A follow-up that waits on a person runs as a run of its own, so the run that asked (the daily sweep,
a phase) never waits: from a deployment's run, a run of the follow-up's deployment (it suspends while it
waits, holding no process); from flows called directly (the demo, the tests), a thread of this process."""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from typing import Any

from prefect.context import AsyncClientContext, FlowRunContext, SyncClientContext, TaskRunContext
from prefect.exceptions import ObjectNotFound

THREADS: list[threading.Thread] = []  # the in-process ones (tests wait for them)


def start_own_run(deployment: str, params: dict[str, Any], key: str, flow_fn: Callable[..., Any],
                  on_thread: Callable[[], Any] | None = None) -> None:
    """``flow_fn(**params)`` as a run of its own, once per ``key`` (the deployment run's idempotency key, the
    thread's name); ``on_thread`` wraps the in-process call (e.g. with the asker's services)."""
    if os.environ.get("PREFECT__FLOW_RUN_ID"):  # this process runs a deployment's run (a worker, `onboard serve`)
        try:
            from prefect.deployments import run_deployment

            run_deployment(deployment, parameters=params, timeout=0, as_subflow=False, idempotency_key=key)
            return
        except ObjectNotFound:  # not deployed on this server
            pass
    if any(t.name == key for t in THREADS):
        return  # asked once in this process, as a deployment run is once per key
    thread = threading.Thread(target=contextvars.copy_context().run, args=(_top_level, flow_fn, params, on_thread),
                              name=key, daemon=True)
    THREADS.append(thread)
    thread.start()


def _top_level(flow_fn: Callable[..., Any], params: dict[str, Any], on_thread: Callable[[], Any] | None) -> None:
    # a run of its own, not a subflow of the run that asked (which may well have ended by then, closing its
    # API clients): this thread keeps the settings and the services, none of that run's contexts
    for context in (FlowRunContext, TaskRunContext, SyncClientContext, AsyncClientContext):
        context.__var__.set(None)
    if on_thread is None:
        flow_fn(**params)
    else:
        with on_thread():
            flow_fn(**params)
