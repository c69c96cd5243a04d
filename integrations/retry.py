"""Retries for vendor calls: rate limits wait the vendor's Retry-After; 5xx back off exponentially.

A 429 means the vendor did nothing, so every call may be retried after one. A 5xx or a timeout may
hide a write that happened, so those are retried only for idempotent calls (reads, PUT/PATCH,
upserts, find-or-create); a plain POST create is not.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from .errors import RateLimited, Transient

T = TypeVar("T")

MAX_ATTEMPTS = 6
MAX_WAIT = 60.0


def backoff(attempt: int, base: float = 0.5, cap: float = MAX_WAIT) -> float:
    """Full-jitter exponential back-off for attempt 1, 2, ..."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


def call(
    fn: Callable[[], T],
    *,
    idempotent: bool,
    attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``fn``, retrying RateLimited always and Transient only when ``idempotent``."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except RateLimited as exc:
            if attempt == attempts:
                raise
            wait = exc.retry_after if exc.retry_after is not None else backoff(attempt)
            sleep(min(wait, MAX_WAIT))
        except Transient:
            if not idempotent or attempt == attempts:
                raise
            sleep(backoff(attempt))
    raise AssertionError("unreachable")
