"""One SDK call, the same way in every vendor module: a slot of the worker's call budget, the call, its
exception through the vendor's ``translate``, then ``retry.call`` (429 always, 5xx only when idempotent).

Each vendor module's ``_call`` names its budget and its ``translate`` and hands the rest to ``call``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from . import retry

T = TypeVar("T")


def call(
    fn: Callable[[], T],
    *,
    idempotent: bool,
    slot: Callable[[], AbstractContextManager[Any]],
    translate: Callable[[Exception], Exception],
    attempts: int | None = None,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """``fn`` (one SDK call) inside a fresh ``slot()`` per attempt; its exception as ``translate`` maps it
    (an unknown one re-raised as it is); the whole retried by ``retry.call``.

    ``attempts=1`` for a call inside an operation that ``retry.call`` repeats as a whole (find, then
    create): that outer retry decides, so the calls inside it do not multiply its attempts."""

    def attempt() -> T:
        try:
            with slot():
                return fn()
        except Exception as exc:  # noqa: BLE001 - translated below, re-raised as it is when unknown
            mapped = translate(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    # only what the caller set: a test may have replaced retry.call with its own defaults
    options: dict[str, Any] = {k: v for k, v in (("attempts", attempts), ("sleep", sleep)) if v is not None}
    return retry.call(attempt, idempotent=idempotent, **options)
