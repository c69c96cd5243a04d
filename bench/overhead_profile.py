"""Where P3's Prefect time goes: every Prefect API call of one new-client run, by thread and route.

    uv run python bench/overhead_profile.py

The same stack as ``bench/overhead.py`` (zero-latency sandbox, simulated staff and client). One
warm-up run, then one measured run during which every HTTP request to the Prefect API is timed where
it is sent (httpx, sync and async), with the thread that sent it: ``MainThread`` is the flow's own
path (subflows, pauses), ``RunSyncEventLoopThread`` Prefect's side thread (a subflow's parent task
run), ``Staff`` the simulated colleague answering the approvals. Then the run's task runs per flow
run. A measurement: it exits non-zero only on a crash.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections import Counter, defaultdict

import httpx
from common import figure, onboard_timed, people_answering, quiet_prefect, twin

_RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class ApiTimer:
    """Counts and times requests to ``/api/…`` while ``on``, keyed by (thread, method, route)."""

    def __init__(self) -> None:
        self.on = False
        self.calls: dict[tuple[str, str, str], list[float]] = defaultdict(list)
        sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send
        timer = self

        def send(client, request, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return sync_send(client, request, *args, **kwargs)
            finally:
                timer.record(request, t0)

        async def asend(client, request, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return await async_send(client, request, *args, **kwargs)
            finally:
                timer.record(request, t0)

        httpx.Client.send, httpx.AsyncClient.send = send, asend

    def record(self, request: httpx.Request, t0: float) -> None:
        if self.on and request.url.path.startswith("/api/"):
            thread = threading.current_thread().name
            thread = "step threads" if thread.startswith("step") else thread
            route = _RUN_ID.sub("{id}", request.url.path)
            route = re.sub(r"/input/paused-.*", "/input/{key}", route)
            self.calls[(thread, request.method, route)].append(time.perf_counter() - t0)


def task_runs_per_flow_run(names: set[str]) -> Counter:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        runs = {r.id: r.name for r in client.read_flow_runs(limit=200) if r.name in names}
        counts: Counter = Counter()
        offset = 0
        while True:
            page = client.read_task_runs(limit=200, offset=offset)
            counts.update(runs[t.flow_run_id] for t in page if t.flow_run_id in runs)
            offset += len(page)
            if len(page) < 200:
                return counts


def main() -> int:
    quiet_prefect()
    os.environ["ONBOARD_POLL_SECONDS"] = "0.02"  # as bench/overhead.py
    timer = ApiTimer()
    from app.simulate import offline_stack, sample_clients

    first = sample_clients(1, seed=13)[0]
    clients = [first, twin(first, 1)]
    with offline_stack("p3profile", lambda m: print(m, flush=True), own_process=True,
                       rate_limits="off") as root:
        with people_answering(root, clients, poll=0.05):
            onboard_timed(root, clients[0])  # warm: the account's properties, imports, connections
            timer.on = True
            seconds, log = onboard_timed(root, clients[1])
            timer.on = False
        time.sleep(5)  # the services record the last task runs
        name = clients[1].company_name
        counts = task_runs_per_flow_run({f"onboard {name}", *(f"phase {n} — {name}" for n in (1, 2, 3))})

    figure("P3 profile: the run", f"{seconds:.2f} s, {len(log)} vendor calls")
    per_thread: Counter = Counter()
    for (thread, method, route), times in sorted(timer.calls.items(), key=lambda kv: (kv[0][0], -sum(kv[1]))):
        per_thread[thread] += sum(times)
        figure(f"P3 profile: {thread} {method} {route}",
               f"{len(times)} calls, {sum(times) * 1000:.0f} ms ({sum(times) / len(times) * 1000:.0f} ms each)")
    for thread, total in per_thread.most_common():
        figure(f"P3 profile: Prefect API time in {thread}", f"{total:.2f} s")
    for run, n in sorted(counts.items()):
        figure(f"P3 profile: task runs in '{run}'", str(n))
    figure("P3 profile: task runs in all", str(sum(counts.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
