"""What the benchmarks share: the offline stack with simulated people, the sandbox's call log, the
rate-limit bound of a set of calls, and the one-line figures they print."""

from __future__ import annotations

import math
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx


def _client_in_its_own_process(root: str, poll: float, stop) -> None:
    from app.people import INTAKE_ANSWERS, ClientActor

    actor = ClientActor(root, "clients@bench.example", INTAKE_ANSWERS, say=lambda m: None, poll=poll).start()
    stop.wait()
    actor.stop()


@contextmanager
def people_answering(root: str, clients, poll: float = 0.3) -> Iterator[Any]:
    """Simulated staff (each paused run answered for the client its name names) and a client who
    fills in every intake form, while the block runs; yields the staff actor. The client, who polls
    the sandbox, does so from a process of its own, as a real client would: its CPU is not the run's."""
    import multiprocessing

    from app.people import Staff
    from app.simulate import staff_answers
    from services.settings import Settings

    staff = Staff(staff_answers(Settings().rules, clients), say=lambda m: None).start()
    spawn = multiprocessing.get_context("spawn")
    stop = spawn.Event()
    client = spawn.Process(target=_client_in_its_own_process, args=(root, poll, stop), daemon=True)
    client.start()
    try:
        yield staff
    finally:
        staff.stop()
        stop.set()
        client.join(timeout=15)


def reset_calls(root: str) -> None:
    httpx.post(f"{root}/_sandbox/stats/reset", timeout=30).raise_for_status()


def calls(root: str) -> list[dict[str, Any]]:
    """The sandbox's call log since the last reset (vendor, method, route, status, start, end, bucket)."""
    return httpx.get(f"{root}/_sandbox/calls", timeout=120).json()


def configure(root: str, **changes: Any) -> None:
    httpx.post(f"{root}/_sandbox/config", json=changes, timeout=30).raise_for_status()


def onboard_timed(root: str, client) -> tuple[float, list[dict[str, Any]]]:
    """One new-client run: its seconds and the vendor calls it made (the sandbox's log, reset first)."""
    from flows.onboarding.new_client import onboard_client

    reset_calls(root)
    t0 = time.perf_counter()
    result = onboard_client(client)
    seconds = time.perf_counter() - t0
    if result.outcome.value != "onboarded":
        raise SystemExit(f"{client.company_name}: {result.outcome.value}")
    return seconds, calls(root)


def rate_limit_bound(log: list[dict[str, Any]], time_scale: float) -> tuple[float, str]:
    """The shortest time the answered calls could take at the vendors' limits: per bucket, ``n``
    calls at ``limit`` per ``window`` need ``ceil(n / limit) - 1`` full windows; the slowest bucket
    bounds the whole. Returns (seconds, that bucket)."""
    per_bucket: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in log:
        if c["bucket"] and c["status"] != 429:
            per_bucket[c["bucket"]].append(c)
    best = (0.0, "")
    for bucket, cs in per_bucket.items():
        limit, window = cs[0]["limit"], cs[0]["window"] * time_scale
        seconds = (math.ceil(len(cs) / limit) - 1) * window
        best = max(best, (seconds, bucket))
    return best


def by_vendor(log: list[dict[str, Any]]) -> Counter:
    return Counter(c["vendor"] for c in log)


def figure(name: str, value: str, ratio: float | None = None, target: float | None = None) -> bool:
    """Print ``name: value (ratio to bound)``; True when there is no target or the ratio meets it."""
    extra = f" ({ratio:.2f} x bound" + (f", target <= {target:.2f}" if target is not None else "") + ")" \
        if ratio is not None else ""
    print(f"{name}: {value}{extra}", flush=True)
    return target is None or (ratio is not None and ratio <= target)


def quiet_prefect() -> None:
    """Benchmarks print figures, not Prefect's per-run logs. Every run makes its own preflight (not one
    cached for five minutes): the runs compared make the same calls."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ["ONBOARD_PREFLIGHT_CACHE_SECONDS"] = "0"


def twin(client, n: int):
    """Another client with the same needs (so the same package, plan and calls) and its own name."""
    name = f"{client.company_name.removesuffix(' (Pty) Ltd')} Twin {n} (Pty) Ltd"
    domain = f"twin{n}-{client.domain}"
    return type(client).model_validate({**client.model_dump(), "company_name": name, "email": f"md@{domain}",
                                        "website": f"https://www.{domain}"})
