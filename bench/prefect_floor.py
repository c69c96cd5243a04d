"""Prefect's own cost per task run and per subflow run, as the new-client run uses them.

    uv run python bench/prefect_floor.py [--n 50]

One process, Prefect on a fresh PostgreSQL database when reachable (as the other benchmarks). In a
flow, ``--n`` back-to-back runs of a task that does nothing, declared four ways: the project's
``step`` (named with its SOP step), the same with a Prefect tag (what ``step`` did before: every
tagged task run makes a concurrency-limit round trip), a plain ``@task`` and a bare one (no retries,
no print capture); then subflows that do nothing, with and without parameter validation. Prints
milliseconds per run; a measurement, so it exits non-zero only on a crash. The figures explain P3's
floor (``bench/overhead.py``).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date  # module level: the subflows' annotations are resolved here

from common import figure, quiet_prefect


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50)
    args = ap.parse_args()

    quiet_prefect()
    from prefect import flow, tags, task
    from prefect.cache_policies import NO_CACHE

    from app.simulate import offline_stack
    from tasks.base import in_sop_step, side_effect

    @side_effect()
    def named(i: int) -> int:
        return i

    @task(cache_policy=NO_CACHE)
    def plain(i: int) -> int:
        return i

    @task(cache_policy=NO_CACHE, retries=0, log_prints=False)
    def bare(i: int) -> int:
        return i

    @flow(name="floor-subflow", flow_run_name="floor {x}")
    def validated(x: str, day: date | None = None) -> str:
        return x

    @flow(name="floor-subflow-unvalidated", validate_parameters=False)
    def unvalidated(x: str, day: date | None = None) -> str:
        return x

    def per_run(call, n: int) -> float:
        t0 = time.perf_counter()
        for i in range(n):
            call(i)
        return (time.perf_counter() - t0) / n * 1000

    @flow(name="prefect-floor")
    def measure(n: int) -> dict[str, float]:
        def tagged(i: int) -> int:
            with tags(f"sop:A{i % 10}"):
                return named(i)

        def in_step(i: int) -> int:
            with in_sop_step(f"A{i % 10}"):
                return named(i)

        return {
            "task named with its SOP step (step)": per_run(in_step, n),
            "the same task tagged sop:<step>": per_run(tagged, n),
            "plain @task": per_run(plain, n),
            "bare @task": per_run(bare, n),
            "subflow, parameters validated": per_run(lambda i: validated(str(i), date.today()), max(5, n // 4)),
            "subflow, validate_parameters=False": per_run(lambda i: unvalidated(str(i), date.today()), max(5, n // 4)),
        }

    with offline_stack("floor", lambda m: print(m, flush=True), rate_limits="off"):
        measure(3)  # warm: imports, the first runs' API paths
        results = measure(args.n)
    for name, ms in results.items():
        figure(f"prefect floor: {name}", f"{ms:.1f} ms per run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
