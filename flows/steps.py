"""Which SOP step is running (every task run inside a step function is named with it, e.g.
``send_email [A1.1]``), and running independent steps at the same time."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from tasks import base
from tasks.base import in_sop_step

P = ParamSpec("P")
R = TypeVar("R")


def sop_step(*steps: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a flow's step function with the SOP step(s) it carries out, e.g. ``@sop_step("A1.2")``."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with in_sop_step(*steps):
                return fn(*args, **kwargs)

        run.sop_steps = steps  # type: ignore[attr-defined]
        return run

    return decorate


def concurrently(*steps: Callable[[], Any]) -> list[Any]:
    """Run independent steps at the same time (their vendor calls overlap); their results in order.

    Each runs in its own thread in a copy of this context, so its task runs belong to the calling
    flow run and are named with its SOP step; with parallel steps switched off
    (``ONBOARD_PARALLEL_STEPS=false``) one after another. Every step finishes before the first
    error, if any, is raised: nothing is left running behind a failed step."""
    return base.in_parallel(steps)


_PHASE: ContextVar[str] = ContextVar("sop_phase", default="")


@contextmanager
def in_phase(name: str) -> Iterator[None]:
    """The onboarding phase being carried out (e.g. "1 — initial contact"), for what a wait records."""
    if name and name != _PHASE.get():
        logging.getLogger("flows.journal").info("Phase %s", name)
    token = _PHASE.set(name or _PHASE.get())
    try:
        yield
    finally:
        _PHASE.reset(token)


def current_phase() -> str:
    return _PHASE.get()
