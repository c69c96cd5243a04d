"""Sliding-window rate limits, as the vendors document them, with a time-scale for benchmarks."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """``limit`` requests per ``window`` seconds (the vendor's documented figures)."""

    limit: int
    window: float
    name: str = ""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    window: float  # seconds, after time scaling
    retry_after: float  # seconds until a slot frees; 0 when allowed

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, rounded up, as the vendors send it (never 0 on a refusal)."""
        return str(max(1, math.ceil(self.retry_after))) if not self.allowed else "0"


class RateLimiter:
    """One sliding log of request times per bucket key."""

    def __init__(self, time_scale: float = 1.0, enabled: bool = True, clock=time.monotonic) -> None:
        self.time_scale = time_scale
        self.enabled = enabled
        self._clock = clock
        self._logs: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str, rule: Rule) -> Verdict:
        """Count a request against ``key``; refuse it when the window is full."""
        window = rule.window * self.time_scale
        if not self.enabled:
            return Verdict(True, rule.limit, rule.limit, window, 0.0)
        now = self._clock()
        with self._lock:
            log = self._logs.setdefault(key, deque())
            while log and log[0] <= now - window:
                log.popleft()
            if len(log) >= rule.limit:
                return Verdict(False, rule.limit, 0, window, log[0] + window - now)
            log.append(now)
            return Verdict(True, rule.limit, rule.limit - len(log), window, 0.0)

    def reset(self) -> None:
        with self._lock:
            self._logs.clear()
