"""How every side-effect task is declared: tagged with its SOP step(s), retried only when safe."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from integrations.errors import RETRYABLE


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


def step(*sop: str, retries: int = 4):
    """A task doing one side effect. Its run is tagged with the SOP step the flow is in
    (``flows.steps.sop_step``); a task that only ever serves one step may name it here too.

    Tasks receive vendor clients as arguments, so their inputs are not cached or hashed. Every task
    is idempotent (find-or-create, deterministic ids), which is what makes the retries safe.
    """
    return task(
        tags=[f"sop:{s}" for s in sop],
        cache_policy=NO_CACHE,
        retries=retries,
        # a create the vendor answered with a 5xx is not retried in the integration (it may have
        # happened); the task's retry runs the whole find-or-create again, which is safe
        retry_delay_seconds=[2, 10, 30, 60][:retries] or 0,
        retry_condition_fn=_retryable,
        log_prints=True,
    )
