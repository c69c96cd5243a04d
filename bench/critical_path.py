"""P1 critical path: one new-client run with a fixed latency on every vendor call.

    uv run python bench/critical_path.py [--latency 0.1] [--repeat 3]

One process, one sandbox, one Prefect server (on a fresh PostgreSQL database when reachable). A first
run sets the account up (custom properties, pipeline); then, for each repeat, one client at zero
latency (the floor: Prefect, the sandbox's own work and the simulated people's answers, measured
in this run) and one client with ``--latency`` seconds added to every vendor call.

The critical path is read from the sandbox's call log of the latency run: the longest chain of
calls each of which started after the one before it had been answered. Calls that overlap are not
on one chain, so independent calls made at the same time count once. The bound is
``critical-path calls x latency + floor``; the target is a wall time within 1.25 x the bound.
Prints the total calls beside the critical-path calls (what running independent calls at once
saves), and exits non-zero when the median run misses the target.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from common import configure, figure, onboard_timed, people_answering, quiet_prefect, twin

TARGET = 1.25


def longest_chain(log: list[dict]) -> int:
    """Calls on the longest chain where each call starts after the previous one's answer."""
    ordered = sorted(log, key=lambda c: c["end"])
    depth: list[int] = []
    for i, c in enumerate(ordered):
        depth.append(1 + max((depth[j] for j in range(i) if ordered[j]["end"] <= c["start"]), default=0))
    return max(depth, default=0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency", type=float, default=0.1, help="seconds added to every vendor call")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    quiet_prefect()
    from onboard.simulate import offline_stack, sample_clients

    first = sample_clients(1, seed=11)[0]  # every client of the run has the same needs: the same calls
    clients = [first] + [twin(first, i) for i in range(1, 1 + 2 * args.repeat)]
    floors, walls, chains, totals = [], [], [], []
    with offline_stack("p1", lambda m: print(m, flush=True), rate_limits="off") as root:
        def run(client, latency: float) -> tuple[float, list[dict]]:
            configure(root, latency=latency)
            return onboard_timed(root, client)

        with people_answering(root, clients, poll=0.05):
            run(clients[0], 0.0)  # the account's first client creates its custom properties and pipeline
            for i in range(args.repeat):
                floor, _ = run(clients[1 + 2 * i], 0.0)
                wall, log = run(clients[2 + 2 * i], args.latency)
                floors.append(floor)
                walls.append(wall)
                chains.append(longest_chain(log))
                totals.append(len(log))
                print(f"repeat {i + 1}: floor {floor:.2f} s, with latency {wall:.2f} s, "
                      f"{chains[-1]} of {totals[-1]} calls on the critical path", flush=True)

    floor, wall = statistics.median(floors), statistics.median(walls)
    chain, total = int(statistics.median(chains)), int(statistics.median(totals))
    bound = chain * args.latency + floor
    figure("P1 vendor calls", f"{total} in all, {chain} on the critical path")
    figure("P1 floor (zero latency)", f"{floor:.2f} s")
    figure("P1 sequential bound", f"{total * args.latency + floor:.2f} s (every call after the one before)")
    ok = figure("P1 wall", f"{wall:.2f} s at {args.latency * 1000:.0f} ms per call; bound {bound:.2f} s "
                f"= {chain} x {args.latency:g} s + {floor:.2f} s", wall / bound, TARGET)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
