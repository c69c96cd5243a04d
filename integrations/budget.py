"""Call budgets shared by every run in a worker process (all its threads): each vendor's documented
rate limits as sliding windows that a caller waits on *before* it calls, so concurrent runs queue
instead of collecting 429s. A 429 can still come (several workers on one account); ``retry.call``
then waits out the vendor's Retry-After as before.

Why in-process and not Prefect's ``rate_limit``: measured here, Prefect's global concurrency limits
on the SQLite server reached 0.5-0.65 of a configured 2 calls/s ("database is locked" back-offs), and
every slot is an API round trip; a lock and a deque cost microseconds (``bench/prefect_limits.py``
measures both on Postgres). Several workers sharing one account split the documented figure between
them (``ONBOARD_RATE_BUDGET_SHARE``).

Each vendor module takes its slot inside its ``_call`` (``integrations.calls``), through that vendor's
helper at the end of this module. Live clients switch the budgets on (``services.clients.live_clients``);
against the sandbox they are off unless asked for (``ONBOARD_RATE_BUDGET_SCALE``, the sandbox's
``--time-scale``), since the sandbox's limits are off in tests and time-scaled in benchmarks.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

SAFETY = 1.02  # the vendor's own window bookkeeping may round: keep 2% of each window spare


@dataclass(frozen=True)
class Limit:
    """A documented limit: at most ``calls`` in any ``window`` seconds."""

    calls: int
    window: float
    name: str = ""


@dataclass
class Budget:
    """At most ``limit`` calls in any ``window`` seconds, across the threads of this process.

    A call counts from the moment it is sent until ``window`` after its answer came back: the vendor
    received it somewhere in between, so however late it arrived, the vendor's sliding window for it
    has closed by then. (Counting from the send alone let a call that was slow to leave a busy process
    land inside the next one's window.)"""

    limit: int
    window: float
    name: str = ""
    clock: Callable[[], float] = time.monotonic
    _answered: deque[float] = field(default_factory=deque)  # when each call of the window came back
    _in_flight: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Wait for a free slot, hold it for one call; yields the seconds waited."""
        if not _settings["enabled"]:
            yield 0.0
            return
        waited = self._acquire()
        try:
            yield waited
        finally:
            with self._cond:
                self._in_flight -= 1
                self._answered.append(self.clock())
                self._cond.notify()

    def _acquire(self) -> float:
        window = self.window * _settings["window_scale"] * SAFETY
        limit = max(1, int(self.limit * _settings["share"]))
        started = self.clock()
        with self._cond:
            while True:
                now = self.clock()
                while self._answered and self._answered[0] <= now - window:
                    self._answered.popleft()
                if len(self._answered) + self._in_flight < limit:
                    self._in_flight += 1
                    return now - started
                # the oldest answered call leaves the window then; or a call in flight comes back
                self._cond.wait(self._answered[0] + window - now if self._answered else None)

    def reset(self) -> None:
        with self._cond:
            self._answered.clear()


_settings = {"enabled": False, "window_scale": 1.0, "share": 1.0}
_budgets: dict[str, Budget] = {}
_budgets_lock = threading.Lock()


def budget_for(key: str, limit: Limit) -> Budget:
    """The process's budget ``key``, created on first use with ``limit``."""
    with _budgets_lock:
        b = _budgets.get(key)
        if b is None:
            b = _budgets[key] = Budget(limit.calls, limit.window, limit.name)
        return b


@contextmanager
def slot(key: str, limit: Limit) -> Iterator[float]:
    """Hold a slot of the budget ``key`` for one call; yields the seconds waited for it."""
    with budget_for(key, limit).slot() as waited:
        yield waited


def configure(enabled: bool = True, window_scale: float = 1.0, share: float = 1.0) -> None:
    """Budgets on or off for this process; ``window_scale`` multiplies every window (a time-scaled
    sandbox); ``share`` is this worker's part of each limit when several workers use one account."""
    new = {"enabled": enabled, "window_scale": window_scale, "share": share}
    if new != _settings:  # clients are built per run: the same settings keep the windows' history
        _settings.update(new)
        with _budgets_lock:
            _budgets.clear()


# --- the documented figures (free or entry plans; the sandbox answers 429 beyond the same ones) ---

# HubSpot private apps, Free/Starter: 100 requests / 10 s per app; CRM search 4 / s per token.
HUBSPOT = Limit(100, 10.0, "HubSpot private app: 100 requests / 10 s")
HUBSPOT_SEARCH = Limit(4, 1.0, "HubSpot CRM search: 4 requests / s")

# Asana, free domain: 150 requests / minute per token.
ASANA = Limit(150, 60.0, "Asana: 150 requests / minute (free workspace)")

# Slack: per method per workspace, by tier; chat.postMessage about 1 / s per channel.
SLACK_TIERS = {2: Limit(20, 60.0, "Slack Tier 2"), 3: Limit(50, 60.0, "Slack Tier 3"),
               4: Limit(100, 60.0, "Slack Tier 4")}
SLACK_METHOD_TIER = {
    "auth.test": 4, "conversations.create": 2, "conversations.invite": 3, "conversations.setTopic": 2,
    "conversations.setPurpose": 2, "conversations.archive": 2, "conversations.unarchive": 2,
    "conversations.info": 3, "conversations.list": 2, "conversations.history": 3, "conversations.replies": 3,
    "conversations.open": 3, "users.lookupByEmail": 3, "users.info": 4, "users.list": 2,
}
SLACK_POST_PER_CHANNEL = Limit(1, 1.0, "Slack chat.postMessage: 1 / s per channel")

# Zoom, Free/Pro account (shared by all its apps): per second, by the endpoint's category.
ZOOM = {"Light": Limit(4, 1.0, "Zoom Light: 4 / s"), "Medium": Limit(2, 1.0, "Zoom Medium: 2 / s"),
        "Heavy": Limit(1, 1.0, "Zoom Heavy: 1 / s")}

# Google, per user: Drive 12,000 / min; Gmail 250 quota units / s (send 100, others 5);
# Calendar 600 / min; Forms 390 reads and 150 writes / min.
GOOGLE = {"drive": Limit(12_000, 60.0, "Drive: 12,000 / min / user"),
          "gmail-send": Limit(2, 1.0, "Gmail send: 100 of 250 units / s / user"),
          "gmail": Limit(50, 1.0, "Gmail read: 5 of 250 units / s / user"),
          "calendar": Limit(600, 60.0, "Calendar: 600 / min / user"),
          "forms-read": Limit(390, 60.0, "Forms reads: 390 / min / user"),
          "forms-write": Limit(150, 60.0, "Forms writes: 150 / min / user")}


# Keap, a Service Account Key or Personal Access Token: 10 / s and 240 / minute (and 30,000 / day, which
# no wait within a run can help: the 429 says so instead) [developer.infusionsoft.com/api-token-quota-and-usage-measurements].
KEAP = {"second": Limit(10, 1.0, "Keap key: 10 / s"), "minute": Limit(240, 60.0, "Keap key: 240 / minute")}


# --- one helper per vendor: the slot(s) one of its calls takes ---


def hubspot(search: bool = False) -> AbstractContextManager[float]:
    """The slot for one HubSpot call: CRM search has its own per-second bucket; everything else the app's."""
    return slot("hubspot:search", HUBSPOT_SEARCH) if search else slot("hubspot", HUBSPOT)


def asana() -> AbstractContextManager[float]:
    """The slot for one Asana call (one bucket: a worker runs with one token)."""
    return slot("asana", ASANA)


def zoom(category: str) -> AbstractContextManager[float]:
    """The slot for one Zoom call of the endpoint's rate-limit ``category`` (Light, Medium, Heavy)."""
    return slot(f"zoom:{category}", ZOOM[category])


@contextmanager
def slack(method: str, channel: str | None = None) -> Iterator[None]:
    """Slots for one Slack Web API call: its method's tier and, for a post, its channel's."""
    with slot(f"slack:{method}", SLACK_TIERS[SLACK_METHOD_TIER.get(method, 3)]):
        if method == "chat.postMessage" and channel:
            with slot(f"slack:post:{channel}", SLACK_POST_PER_CHANNEL):
                yield
        else:
            yield


def google_bucket(method: str, uri: str) -> str | None:
    """The per-user quota a Google API request counts against (by its URL), as Google groups them."""
    path = uri.split("?", 1)[0]
    if "/drive/v3/" in path:
        return "drive"
    if "/gmail/v1/" in path:
        return "gmail-send" if path.endswith("/messages/send") else "gmail"
    if "/calendar/v3/" in path:
        return "calendar"
    if "/v1/forms" in path:
        return "forms-read" if method == "GET" else "forms-write"
    return None


@contextmanager
def google(method: str, uri: str) -> Iterator[None]:
    """The slot for one Google request, in its per-user bucket (none for an API without one)."""
    bucket = google_bucket(method, uri)
    if bucket is None:
        yield
        return
    with slot(f"google:{bucket}", GOOGLE[bucket]):
        yield


@contextmanager
def keap() -> Iterator[None]:
    """The slots for one Keap call: the key's minute throttle and its per-second spike arrest."""
    with slot("keap:minute", KEAP["minute"]), slot("keap:second", KEAP["second"]):
        yield


# Dropbox Sign, per account: standard endpoints 100 / min, high tier (send, files) 25 / min, test mode
# 10 / min (help.dropbox.com/integrations/api-requests-that-count-against-limit).
DROPBOX_SIGN = {"standard": Limit(100, 60.0, "Dropbox Sign: 100 / min"),
                "high": Limit(25, 60.0, "Dropbox Sign high tier: 25 / min"),
                "test": Limit(10, 60.0, "Dropbox Sign test mode: 10 / min")}


def dropbox_sign(tier: str) -> AbstractContextManager[float]:
    """The slot for one Dropbox Sign call of ``tier`` (standard, high, or test for test-mode requests)."""
    return slot(f"dropbox_sign:{tier}", DROPBOX_SIGN[tier])


# Dropbox publishes no per-app number: "rate limits ... vary" and a 429 says how long to wait
# (developers/documentation/http/documentation#error-handling). A cautious 10 / s keeps a run well below them.
DROPBOX = Limit(10, 1.0, "Dropbox: no published limit; 10 / s kept")


def dropbox() -> AbstractContextManager[float]:
    return slot("dropbox", DROPBOX)
