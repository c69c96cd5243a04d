"""Prefect global concurrency limits used as rate limits, on a PostgreSQL-backed Prefect server and shared
by several worker processes, against the in-process sliding window ``integrations.budget.Budget``.

    uv run python bench/prefect_limits.py [--duration 25] [--threads 4]

Starts ``prefect server start`` on a fresh Postgres database (``prefect_plumbing.databases``). For 2 and 10
calls/s it creates a limit as Prefect documents for rate limiting (limit = burst, here one second's
worth; slot_decay_per_second = rate) and runs 1, 2 and 4 worker processes, each with --threads threads
calling ``prefect.concurrency.sync.rate_limit(name)`` back to back for --duration seconds; then
``Budget(rate, 1 s).slot()`` in one process with the same threads. Per run it prints ``name: value (ratio to
bound)``: achieved calls/s (to the rate), the most calls in any sliding 1 s window (to the limit; at
10/s also 10 s, to 100 = HubSpot's 100 / 10 s), the same from the end of the first window on (the limit
starts with its whole burst free), p50/p95 acquisition latency (to the wait of a fair queue: all threads
/ rate), 423 back-offs per call and errors. A measurement: it exits non-zero only on a crash.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

RATES = (2, 10)
PROCESSES = (1, 2, 4)
SPAWN = multiprocessing.get_context("spawn")  # children import prefect afresh, with this process's env


class BackoffCounter(logging.Handler):
    """Counts the 423 'Retrying in N second(s)' back-offs Prefect's slot service logs at DEBUG."""

    count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Unable to acquire concurrency slot"):
            self.count += 1


def call_loop(take, threads: int, duration: float, ready) -> tuple[list[float], list[float], list[str]]:
    """Once every process is ready, ``take(timeout)`` back to back on ``threads`` threads for ``duration``
    seconds: (completion times, latencies, errors)."""
    times: list[float] = []
    latencies: list[float] = []
    errors: list[str] = []
    ready.wait(timeout=300)
    end = time.time() + duration

    def loop() -> None:
        while (t0 := time.time()) < end:
            try:
                take(end - t0 + 1.0)
            except TimeoutError:
                break  # the timeout outlasts the run: only a call still waiting after the end times out
            except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
                errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.1)
                continue
            t1 = time.time()
            times.append(t1)
            latencies.append(t1 - t0)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return times, latencies, errors


def prefect_worker(name: str, threads: int, duration: float, ready, results) -> None:
    os.environ["PREFECT_LOGGING_INTERNAL_LEVEL"] = "DEBUG"  # prefect's internal loggers check this setting
    from prefect.concurrency.sync import rate_limit

    backoffs = BackoffCounter()
    logging.getLogger("prefect._internal").handlers.clear()  # no DEBUG chatter on stderr
    logging.getLogger("prefect._internal.concurrency").addHandler(backoffs)
    run = call_loop(lambda timeout: rate_limit(name, timeout_seconds=timeout, strict=True), threads, duration, ready)
    results.put((*run, backoffs.count))


def budget_worker(rate: int, threads: int, duration: float, ready, results) -> None:
    from integrations import budget

    budget.configure(enabled=True)
    limiter = budget.Budget(rate, 1.0, "bench")

    def take(timeout: float) -> None:
        with limiter.slot():
            pass  # the call itself: none, so the slot's window runs from now

    results.put((*call_loop(take, threads, duration, ready), None))


def measure(worker, first_arg, processes: int, threads: int, duration: float):
    """Run ``worker`` in ``processes`` spawned processes at once; their merged (times, latencies, errors,
    back-offs or None) and the common start time."""
    ready, results = SPAWN.Barrier(processes + 1), SPAWN.Queue()
    children = [SPAWN.Process(target=worker, args=(first_arg, threads, duration, ready, results))
                for _ in range(processes)]
    for c in children:
        c.start()
    ready.wait(timeout=300)  # every child has imported what it needs
    start = time.time()
    parts = [results.get(timeout=duration + 300) for _ in children]
    for c in children:
        c.join()
    backoffs = [p[3] for p in parts if p[3] is not None]
    return ([t for p in parts for t in p[0]], [x for p in parts for x in p[1]], [e for p in parts for e in p[2]],
            sum(backoffs) if backoffs else None, start)


def most_in_window(times: list[float], window: float) -> int:
    """The most of ``times`` in any half-open interval of ``window`` seconds."""
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(label: str, rate: int, threads: int, duration: float, run) -> None:
    times, latencies, errors, backoffs, start = run
    counted = [(t, x) for t, x in zip(times, latencies) if t <= start + duration]  # not those after the end
    times, latencies = [t for t, _ in counted], [x for _, x in counted]
    achieved = len(times) / duration
    fair_wait = threads / rate
    print(f"{label} calls/s: {achieved:.2f} ({achieved / rate:.2f} x {rate}/s)")
    for window in (1, 10) if rate == 10 else (1,):
        bound = rate * window
        whole, later = most_in_window(times, window), most_in_window([t for t in times if t >= start + window], window)
        print(f"{label} max calls in {window} s: {whole} ({whole / bound:.2f} x {bound})")
        print(f"{label} max calls in {window} s after the first {window} s: {later} ({later / bound:.2f} x {bound})")
    for name, q in (("p50", 0.5), ("p95", 0.95)):
        value = percentile(latencies, q)
        print(f"{label} latency {name}: {value:.3f} s ({value / fair_wait:.2f} x fair-queue wait {fair_wait:.2f} s)")
    if backoffs is not None:
        print(f"{label} 423 back-offs per call: {backoffs / max(1, len(times)):.2f} ({backoffs} in all)")
    first = f"; first: {errors[0][:160]}" if errors else ""
    print(f"{label} errors: {len(errors)} ({len(errors) / max(1, len(errors) + len(latencies)):.2f} of calls{first})",
          flush=True)


def start_server(port: int, database_url: str, home: Path) -> subprocess.Popen:
    """``prefect server start`` on ``database_url``; returns once /api/health answers."""
    env = dict(os.environ, PREFECT_SERVER_DATABASE_CONNECTION_URL=database_url)
    log = home / "server.log"
    server = subprocess.Popen([str(Path(sys.executable).with_name("prefect")), "server", "start", "--host",
                               "127.0.0.1", "--port", str(port)], env=env, stdout=log.open("w"),
                              stderr=subprocess.STDOUT)
    deadline = time.time() + 180
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"prefect server exited {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise RuntimeError(f"prefect server not healthy after 180 s:\n{log.read_text()[-3000:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=25.0, help="seconds of calls per run")
    ap.add_argument("--threads", type=int, default=4, help="calling threads per process")
    args = ap.parse_args()

    from vendor_sandbox.core.server import free_port

    from prefect_plumbing.databases import fresh_postgres_database

    fresh = fresh_postgres_database(prefix="bench_limits")
    if fresh is None:
        raise SystemExit("no PostgreSQL at 127.0.0.1:5432")
    database_url, drop = fresh
    port, home = free_port(), Path(tempfile.mkdtemp(prefix="bench_limits_"))
    # set before prefect is imported here or in any child: the children inherit this environment
    os.environ.update(PREFECT_HOME=str(home), PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
                      PREFECT_SERVER_ANALYTICS_ENABLED="false")
    began = time.time()
    server = start_server(port, database_url, home)
    try:
        from prefect import get_client
        from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

        print(f"server: prefect on PostgreSQL, healthy after {time.time() - began:.1f} s", flush=True)
        for rate in RATES:
            for processes in PROCESSES:
                name = f"bench-{rate}-per-s-{processes}-procs"
                with get_client(sync_client=True) as client:
                    client.create_global_concurrency_limit(
                        GlobalConcurrencyLimitCreate(name=name, limit=rate, slot_decay_per_second=rate))
                run = measure(prefect_worker, name, processes, args.threads, args.duration)
                report(f"prefect {rate}/s {processes} procs", rate, processes * args.threads, args.duration, run)
        for rate in RATES:
            run = measure(budget_worker, rate, 1, args.threads, args.duration)
            report(f"budget {rate}/s 1 proc", rate, args.threads, args.duration, run)
    finally:
        server.terminate()
        server.wait(timeout=30)
        drop()
    print(f"wall time: {time.time() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
