"""How every side-effect task is declared: named with its SOP step(s), retried only when safe.

Only side effects are task runs. A read (a lookup, a search, a free/busy query, a form's answers) is
a plain function beside its vendor's tasks: it changes nothing, so there is nothing to remember as
done, to retry as a step or to show as one, and a task run costs ~5 ms of Prefect's own plus its
events; a wait that reads every few minutes for a week costs no task runs. The vendor modules' own
retry covers a read's rate limits and transient errors."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, TypeVar

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

from integrations.errors import RETRYABLE

R = TypeVar("R")


def _retryable(task, task_run, state) -> bool:
    """Prefect retries a task only for rate limits and transient vendor errors that survived the
    integration layer's own retries; invalid input and conflicts fail fast."""
    try:
        state.result()
    except RETRYABLE:
        return True
    except Exception:
        return False
    return False


_SOP_STEPS: ContextVar[tuple[str, ...]] = ContextVar("sop_steps", default=())


@contextmanager
def in_sop_step(*steps: str) -> Iterator[None]:
    """The SOP step(s) being carried out: the task runs inside are named with them (replacing, not
    adding to, the caller's: a nested step is not named as its caller)."""
    token = _SOP_STEPS.set(steps)
    try:
        yield
    finally:
        _SOP_STEPS.reset(token)


def current_sop_steps() -> tuple[str, ...]:
    """The SOP step(s) being carried out (``in_sop_step``), e.g. ("A2.3",)."""
    return _SOP_STEPS.get()


def _run_name(name: str, own: tuple[str, ...]) -> str:
    steps = dict.fromkeys((*_SOP_STEPS.get(), *own))
    return f"{name} [{' '.join(steps)}]" if steps else name


_PARALLEL: ContextVar[bool] = ContextVar("parallel_steps", default=True)


@contextmanager
def parallel_steps(on: bool) -> Iterator[None]:
    """Inside, ``in_parallel`` runs its calls at the same time (``on``) or one after another (the
    setting ``ONBOARD_PARALLEL_STEPS``: off for the benchmark that measures what parallel steps save)."""
    token = _PARALLEL.set(on)
    try:
        yield
    finally:
        _PARALLEL.reset(token)


def in_parallel(calls: Sequence[Callable[[], R]]) -> list[R]:
    """Independent calls, each in its own thread in a copy of this context (so task runs stay in the
    calling flow run, named with its SOP step); their results in order. Every call finishes before
    the first error, if any, is raised: nothing is left running behind a failed call."""
    if len(calls) <= 1 or not _PARALLEL.get():
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="step") as pool:
        futures = [pool.submit(contextvars.copy_context().run, call) for call in calls]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]
    return [f.result() for f in futures]


_RUN: ContextVar[str | None] = ContextVar("onboarding_run", default=None)
DONE_FOR = timedelta(days=90)  # longer than all the waits of a run together (config/onboarding.yaml: ~7 weeks)


@contextmanager
def run_scope(run_id: str | None) -> Iterator[None]:
    """Inside, tasks declared with ``done_key`` remember that they are done for the run ``run_id``;
    inside a run that already has a scope (a phase as a subflow of the new-client run), its scope."""
    token = _RUN.set(_RUN.get() or (str(run_id) if run_id else None))
    try:
        yield
    finally:
        _RUN.reset(token)


def _done_key(done_key: Callable[[Mapping[str, Any]], str]) -> Callable[[TaskRunContext, dict[str, Any]], str | None]:
    def key(ctx: TaskRunContext, parameters: dict[str, Any]) -> str | None:
        run = _RUN.get()
        return None if run is None else f"{ctx.task.name}:{run}:{done_key(parameters)}"

    return key


def side_effect(*sop: str, retries: int = 4, done_key: Callable[[Mapping[str, Any]], str] | None = None):
    """A task doing one side effect. Its run is named with the SOP step the flow is in
    (``flows.steps.sop_step``), e.g. ``upsert_company [B1.1]``; a task that only ever serves one step
    may name it here too. A name, not a tag: Prefect checks tag concurrency limits with an API round
    trip for every tagged task run (17 ms a task run here, against 3 ms untagged).

    Tasks receive vendor clients as arguments, so their inputs are not hashed. Every task is
    idempotent (find-or-create, deterministic ids), which is what makes the retries safe. A task
    given ``done_key`` (what it makes, from its arguments: an email's key, a document's kind) also
    persists its result: inside a run (``run_scope``) that comes back to it, resumed after a suspend
    or retried from the UI, it is not run again and makes no vendor call.
    """
    cache = {"cache_key_fn": _done_key(done_key), "persist_result": True, "cache_expiration": DONE_FOR} \
        if done_key else {"cache_policy": NO_CACHE}
    return lambda fn: task(
        fn,
        task_run_name=functools.partial(_run_name, fn.__name__, sop),
        retries=retries,
        # a create the vendor answered with a 5xx is not retried in the integration (it may have
        # happened); the task's retry runs the whole find-or-create again, which is safe
        retry_delay_seconds=[2, 10, 30, 60][:retries] or 0,
        retry_condition_fn=_retryable,
        log_prints=True,
        **cache,
    )
