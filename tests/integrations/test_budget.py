"""The per-worker call budget: concurrent callers stay inside the vendor's documented limit, so the
sandbox (limits on) answers no 429 that the budget should have prevented; without it, they come."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from integrations import budget


@pytest.fixture
def budgets():
    yield budget
    budget.configure(enabled=False)


def burst(sandbox, clients, n: int = 150) -> tuple[dict, float]:
    httpx.post(f"{sandbox.root}/_sandbox/stats/reset").raise_for_status()
    started = time.monotonic()
    with ThreadPoolExecutor(12) as pool:
        list(pool.map(lambda _: clients.hubspot.pipeline_stages(), range(n)))
    return httpx.get(f"{sandbox.root}/_sandbox/stats").json()["status"].get("hubspot", {}), time.monotonic() - started


def test_a_burst_within_the_budget_gets_no_429(sandbox, clients, vendor_limits, budgets):
    budgets.configure(window_scale=0.2)  # the sandbox's windows here: 100 requests / 2 s
    status, seconds = burst(sandbox, clients)
    assert status == {"200": 150}
    assert seconds >= 2.0  # the 101st call waited until the first had left the 2 s window


def test_without_the_budget_the_same_burst_meets_429s(sandbox, clients, vendor_limits, budgets):
    budgets.configure(enabled=False)
    status, _ = burst(sandbox, clients)
    assert status.get("429", 0) > 0 and status["200"] == 150  # retried after Retry-After, all succeed


def test_a_call_counts_from_its_send_until_a_window_after_its_answer(budgets):
    budgets.configure(enabled=True)
    window = 0.2 * budget.SAFETY
    b = budget.Budget(2, 0.2)
    started = time.monotonic()
    with b.slot():
        time.sleep(0.1)  # a slow call: answered at 0.1 s
    with b.slot() as waited:
        assert waited < 0.05  # the second of two calls in the window goes at once
    with b.slot():  # the third waits until the first answer is a window old
        assert time.monotonic() - started >= 0.1 + window

    one = budget.Budget(1, 0.2)

    def slow_call() -> None:
        with one.slot():
            time.sleep(0.3)

    def next_call() -> float:
        with one.slot() as waited:
            return waited

    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(slow_call)
        time.sleep(0.05)
        waited = pool.submit(next_call).result()
        assert held.done() and waited >= 0.24 + window  # an unanswered call holds its slot

    budgets.configure(enabled=True, share=0.5)  # two workers on one account: one call per window each
    b = budget.Budget(2, 0.2)
    with b.slot():
        pass
    with b.slot() as waited:
        assert waited >= window * 0.9


def each_vendor_burst(clients, channel_id: str):
    """(vendor, time scale, calls, the documented window those calls overflow (seconds), one call).
    Windows of a minute are shrunk 20x, those of a second 2x: the budget keeps 5% of each window
    spare for the trip to the vendor, which must stay above a busy machine's scheduling jitter."""
    team = "admin@sandbox.example"
    return [
        ("asana", 0.05, 160, 60.0, lambda i: clients.asana.me()),  # 150 / min per token
        ("slack", 0.05, 60, 60.0, lambda i: clients.slack.user_id_by_email(team)),  # Tier 3: 50 / min
        ("slack", 0.5, 5, 1.0, lambda i: clients.slack.post(channel_id, f"burst {i}")),  # 1 / s per channel
        ("zoom", 0.5, 8, 1.0, lambda i: list(clients.zoom.list_meetings("me"))),  # Medium: 2 / s
        ("google", 0.5, 6, 1.0, lambda i: clients.gmail.send(team, f"burst {i}", "<p>hi</p>")),  # 2 sends / s
    ]


def test_every_vendor_budget_keeps_a_burst_inside_the_documented_limit(sandbox, clients, budgets):
    """Each burst is more than the vendor allows in one window: with the budget every call gets its
    answer first time (no 429 at all), and the burst lasts at least that window."""
    import uuid

    channel = clients.slack.ensure_channel(f"budget-{uuid.uuid4().hex[:8]}")
    try:
        for vendor, scale, n, window, call in each_vendor_burst(clients, channel.id):
            sandbox.configure(rate_limits="vendor", time_scale=scale)
            budgets.configure(window_scale=scale)
            httpx.post(f"{sandbox.root}/_sandbox/stats/reset").raise_for_status()
            started = time.monotonic()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(call, range(n)))
            seconds = time.monotonic() - started
            status = httpx.get(f"{sandbox.root}/_sandbox/stats").json()["status"].get(vendor, {})
            assert "429" not in status, (vendor, n, status)
            assert seconds >= window * scale, (vendor, n, seconds)
    finally:
        sandbox.configure(rate_limits="off", time_scale=1.0)
