"""Which SOP step is running (every task run inside a step function is named with it, e.g.
``send_email [A1.1]``), and running independent steps at the same time."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from tasks.base import sop_steps

P = ParamSpec("P")
R = TypeVar("R")


def sop_step(*steps: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a flow's step function with the SOP step(s) it carries out, e.g. ``@sop_step("A1.2")``."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with sop_steps(*steps):
                return fn(*args, **kwargs)

        run.sop_steps = steps  # type: ignore[attr-defined]
        return run

    return decorate


def concurrently(*steps: Callable[[], Any]) -> list[Any]:
    """Run independent steps at the same time (their vendor calls overlap); their results in order.

    Each runs in its own thread in a copy of this context, so its task runs belong to the calling
    flow run and are named with its SOP step. Every step finishes before the first error, if any, is raised:
    nothing is left running behind a failed step."""
    if len(steps) <= 1:
        return [step() for step in steps]
    with ThreadPoolExecutor(max_workers=len(steps), thread_name_prefix="step") as pool:
        futures = [pool.submit(contextvars.copy_context().run, step) for step in steps]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]
    return [f.result() for f in futures]
