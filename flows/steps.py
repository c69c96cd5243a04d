"""Which SOP step is running (every task run inside a step function is tagged ``sop:<step>``), and
running independent steps at the same time."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from prefect.context import TagsContext

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def sop_tags(*steps: str) -> Iterator[None]:
    """Replace the current ``sop:`` tags with ``steps`` (a nested step is not tagged as its caller)."""
    kept = {t for t in TagsContext.get().current_tags if not t.startswith("sop:")}
    with TagsContext(current_tags=kept | {f"sop:{s}" for s in steps}):
        yield


def sop_step(*steps: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a flow's step function with the SOP step(s) it carries out, e.g. ``@sop_step("A1.2")``."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            with sop_tags(*steps):
                return fn(*args, **kwargs)

        run.sop_steps = steps  # type: ignore[attr-defined]
        return run

    return decorate


def concurrently(*steps: Callable[[], Any]) -> list[Any]:
    """Run independent steps at the same time (their vendor calls overlap); their results in order.

    Each runs in its own thread in a copy of this context, so its task runs belong to the calling
    flow run and carry its SOP tags. Every step finishes before the first error, if any, is raised:
    nothing is left running behind a failed step."""
    if len(steps) <= 1:
        return [step() for step in steps]
    with ThreadPoolExecutor(max_workers=len(steps), thread_name_prefix="step") as pool:
        futures = [pool.submit(contextvars.copy_context().run, step) for step in steps]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]
    return [f.result() for f in futures]
