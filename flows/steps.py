"""Which SOP step is running: every task run inside a step function is tagged ``sop:<step>``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

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
