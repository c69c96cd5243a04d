"""Call budgets shared by every run in a worker process (all its threads): a vendor's documented rate
limit as a sliding window that a caller waits on *before* it calls, so concurrent runs queue instead of
collecting 429s. A 429 can still come (several workers on one account); ``retry.call`` then waits
out the vendor's Retry-After as before.

Why in-process and not Prefect's ``rate_limit``: measured here, Prefect's global concurrency limits
on the SQLite server reached 0.5-0.65 of a configured 2 calls/s ("database is locked" back-offs), and
every slot is an API round trip; a lock and a deque cost microseconds. Several workers sharing one
account split the documented figure between them (``ONBOARD_RATE_BUDGET_SHARE``).

Live clients switch the budgets on (``integrations.clients.live_clients``); against the sandbox they
are off unless asked for (``ONBOARD_RATE_BUDGET_SCALE``, the sandbox's ``--time-scale``), since the
sandbox's limits are off in tests and time-scaled in benchmarks.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

SAFETY = 1.05  # a request reaches the vendor a little after it leaves: keep 5% of each window spare


@dataclass
class Budget:
    """At most ``limit`` calls in any ``window`` seconds, across the threads of this process."""

    limit: int
    window: float
    name: str = ""
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _calls: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> float:
        """Wait for a free slot and take it; the seconds waited."""
        waited = 0.0
        while _settings["enabled"]:
            window = self.window * _settings["window_scale"] * SAFETY
            limit = max(1, int(self.limit * _settings["share"]))
            with self._lock:
                now = self.clock()
                while self._calls and self._calls[0] <= now - window:
                    self._calls.popleft()
                if len(self._calls) < limit:
                    self._calls.append(now)
                    return waited
                pause = self._calls[0] + window - now
            self.sleep(pause)
            waited += pause
        return waited

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()


_settings = {"enabled": False, "window_scale": 1.0, "share": 1.0}

# The documented figures (the sandbox answers 429 beyond the same ones).
HUBSPOT = Budget(100, 10.0, "HubSpot private app: 100 requests / 10 s")
HUBSPOT_SEARCH = Budget(4, 1.0, "HubSpot CRM search: 4 requests / s")
ASANA = Budget(150, 60.0, "Asana: 150 requests / minute (free workspace)")
ALL = (HUBSPOT, HUBSPOT_SEARCH, ASANA)


def configure(enabled: bool = True, window_scale: float = 1.0, share: float = 1.0) -> None:
    """Budgets on or off for this process; ``window_scale`` multiplies every window (a time-scaled
    sandbox); ``share`` is this worker's part of each limit when several workers use one account."""
    new = {"enabled": enabled, "window_scale": window_scale, "share": share}
    if new != _settings:  # clients are built per run: the same settings keep the windows' history
        _settings.update(new)
        for b in ALL:
            b.reset()
