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


def test_budget_waits_for_the_oldest_call_to_leave_the_window():
    now = [0.0]
    b = budget.Budget(2, 10.0, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    budget.configure(enabled=True)
    try:
        assert [b.take(), b.take()] == [0.0, 0.0]
        waited = b.take()  # the third call in 10 s waits until the first is 10 s (+5% margin) old
        assert waited == pytest.approx(10.0 * budget.SAFETY) and now[0] == pytest.approx(10.5)
        budget.configure(enabled=True, share=0.5)  # two workers on one account: one call per window each
        b.reset()
        assert b.take() == 0.0 and b.take() == pytest.approx(10.5)
    finally:
        budget.configure(enabled=False)
