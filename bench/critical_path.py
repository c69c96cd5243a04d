"""P1 critical path: one new-client run with a fixed latency on every vendor call, against the bound
the flows' declared dependencies set.

    uv run python bench/critical_path.py [--latency 0.1] [--repeat 3]

One process, one sandbox, one Prefect server (on a fresh PostgreSQL database when reachable). A first
run sets the account up (custom properties, pipeline); then, for each repeat, three clients with the
same needs (so the same calls):

* the floor: zero latency, steps in parallel (Prefect, the sandbox's own work, the simulated people);
* the run: ``--latency`` seconds added to every vendor call, steps in parallel;
* the same run with parallel steps switched off (``ONBOARD_PARALLEL_STEPS=false``), traced.

The bound comes from what must be sequential, not from how a run happened to overlap: the flows
declare which steps are independent (``flows.steps.concurrently`` and the tasks' ``in_parallel``, one
primitive), so a run is a series-parallel graph of vendor calls. The traced sequential run records
that graph (every parallel group and its branches, with their times) and each vendor call is placed
in the branch it was made in; the critical path is then the sum over a sequence and the maximum over
a parallel group's branches, whatever the timing. Bound = critical-path calls x latency + floor.

Targets: the run within 1.25 x the bound; the sequential run (same calls, no overlap) clearly over it
(above 1.25 x), so the target is one a run without parallel steps misses. Exits non-zero otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from unittest.mock import patch

from common import configure, figure, onboard_timed, people_answering, quiet_prefect, twin

TARGET = 1.25


@dataclass
class Branch:
    """A sequence of steps: its own vendor calls, then (in order) the parallel groups it ran."""

    start: float
    end: float = float("inf")
    calls: int = 0
    groups: list[list[Branch]] = field(default_factory=list)

    def cost(self) -> int:
        """Vendor calls on the longest path: a sequence adds up, a parallel group counts its longest branch."""
        return self.calls + sum(max((b.cost() for b in group), default=0) for group in self.groups)

    def innermost(self, t: float) -> Branch:
        for group in self.groups:
            for b in group:
                if b.start <= t <= b.end:
                    return b.innermost(t)
        return self


@contextmanager
def traced_parallel_groups(root: Branch) -> Iterator[None]:
    """While parallel steps are off (one thread), record every group ``in_parallel`` runs and the time
    span of each of its branches under ``root``."""
    import tasks.base
    import tasks.drive
    import tasks.hubspot
    import tasks.slack

    stack = [root]

    def in_parallel(calls: Sequence[Callable[[], object]]) -> list[object]:
        group: list[Branch] = []
        stack[-1].groups.append(group)
        results = []
        for call in calls:
            branch = Branch(time.monotonic())
            group.append(branch)
            stack.append(branch)
            try:
                results.append(call())
            finally:
                stack.pop()
                branch.end = time.monotonic()
        return results

    with ExitStack() as patches:
        for module in (tasks.base, tasks.drive, tasks.hubspot, tasks.slack):  # flows.steps calls tasks.base
            patches.enter_context(patch.object(module, "in_parallel", in_parallel))
        yield


def declared_critical_path(root: Branch, log: list[dict]) -> int:
    """Place each vendor call of the traced run in the branch it was made in; the critical path."""
    for call in log:
        root.innermost(call["start"]).calls += 1
    return root.cost()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.1, help="seconds added to every vendor call")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    quiet_prefect()
    from app.simulate import offline_stack, sample_clients

    first = sample_clients(1, seed=11)[0]  # every client of the run has the same needs: the same calls
    clients = [first] + [twin(first, i) for i in range(1, 1 + 3 * args.repeat)]
    floors, walls, sequentials, chains, totals = [], [], [], [], []
    with offline_stack("p1", lambda m: print(m, flush=True), own_process=True,
                       rate_limits="off") as root:
        def run(client, latency: float) -> tuple[float, list[dict]]:
            configure(root, latency=latency)
            return onboard_timed(root, client)

        with people_answering(root, clients, poll=0.05):
            run(clients[0], 0.0)  # the account's first client creates its custom properties and pipeline
            for i in range(args.repeat):
                floor, _ = run(clients[1 + 3 * i], 0.0)
                wall, log = run(clients[2 + 3 * i], args.latency)
                trace = Branch(time.monotonic())
                os.environ["ONBOARD_PARALLEL_STEPS"] = "false"
                try:
                    with traced_parallel_groups(trace):
                        sequential, seq_log = run(clients[3 + 3 * i], args.latency)
                finally:
                    os.environ.pop("ONBOARD_PARALLEL_STEPS")
                floors.append(floor)
                walls.append(wall)
                sequentials.append(sequential)
                chains.append(declared_critical_path(trace, seq_log))
                totals.append(len(log))
                print(f"repeat {i + 1}: floor {floor:.2f} s, run {wall:.2f} s, without parallel steps "
                      f"{sequential:.2f} s; {chains[-1]} of {totals[-1]} calls on the declared critical path "
                      f"({len(seq_log)} calls in the sequential run)", flush=True)

    floor, wall, sequential = statistics.median(floors), statistics.median(walls), statistics.median(sequentials)
    chain, total = int(statistics.median(chains)), int(statistics.median(totals))
    bound = chain * args.latency + floor
    figure("P1 vendor calls", f"{total} in all, {chain} on the critical path the flows declare")
    figure("P1 floor (zero latency)", f"{floor:.2f} s")
    ok = figure("P1 wall", f"{wall:.2f} s at {args.latency * 1000:.0f} ms per call; bound {bound:.2f} s "
                f"= {chain} x {args.latency:g} s + {floor:.2f} s", wall / bound, TARGET)
    over = sequential / bound > TARGET
    figure("P1 without parallel steps", f"{sequential:.2f} s ({'misses' if over else 'MEETS'} the target, as a run "
           f"without them must)", sequential / bound)
    return 0 if ok and over else 1


if __name__ == "__main__":
    sys.exit(main())
