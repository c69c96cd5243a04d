"""P3 overhead: what Prefect costs a new-client run, against the same vendor calls made without it.

    uv run python bench/overhead.py [--repeat 3]

Zero-latency sandbox, one process, Prefect on a fresh PostgreSQL database when reachable. Each
repeat onboards two new clients: one as a Prefect run (flows, subflows, task runs, pauses answered
through the API by simulated staff) and one as a plain script: the same flow and task functions
called as the Python functions they decorate (``.fn``), so every SDK call is the same, with staff
answers handed over in-line instead of pause and resume. Both runs' calls are read from the
sandbox's log and compared route by route, so the baseline makes exactly the calls the run makes.

Target: the Prefect run within 3 x the plain script (medians). Exits non-zero when it is missed or
the two runs' calls differ.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from unittest.mock import patch

from common import figure, onboard_timed, people_answering, quiet_prefect, twin

TARGET = 3.0


@contextmanager
def without_prefect(answer) -> Iterator[None]:
    """Flows and tasks run as the plain functions they decorate; a staff decision is ``answer(key)``
    at once instead of a pause; logging goes to the standard library; no artifact is written."""
    from prefect.flows import Flow
    from prefect.tasks import Task

    import flows.engagement.plan
    import flows.journal
    import flows.onboarding.initial_contact
    import flows.onboarding.new_client
    import flows.people.waits

    def call_fn(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def answered(wait_for_input=None, timeout=0, poll_interval=0, key=None):
        data, _why = answer(key)
        return wait_for_input(**data)

    plain_logger = logging.getLogger("plain-run")
    with ExitStack() as stack:
        stack.enter_context(patch.object(Flow, "__call__", call_fn))
        stack.enter_context(patch.object(Task, "__call__", call_fn))
        for module in (flows.onboarding.initial_contact, flows.engagement.plan, flows.onboarding.new_client,
                       flows.people.waits):
            stack.enter_context(patch.object(module, "get_run_logger", lambda: plain_logger))
        stack.enter_context(patch.object(flows.journal, "create_markdown_artifact", lambda *a, **k: None))
        stack.enter_context(patch.object(flows.people.waits, "pause_flow_run", answered))
        # a wait's record lives with the Prefect run; a plain run keeps none
        stack.enter_context(patch.object(flows.people.waits, "read_flow_run_input", lambda *a, **k: None))
        stack.enter_context(patch.object(flows.people.waits, "create_flow_run_input", lambda *a, **k: None))
        stack.enter_context(patch.object(flows.onboarding.new_client, "earlier_unfinished_run", lambda client: None))
        # the preflight's marker lives with the Prefect run; a plain run makes the checks each time
        stack.enter_context(patch.object(flows.onboarding.new_client, "check_accounts_once",
                                         flows.onboarding.new_client.require_ready))
        yield


POLL = ("google", "GET", "/v1/forms/{form_id}/responses")  # the wait for the client's answers: polled until they come


@contextmanager
def timing_pauses(spent: list[float]) -> Iterator[None]:
    """Every staff approval's pause-to-resume time (the API round trips of a pause), appended to ``spent``."""
    import flows.people.waits

    pause = flows.people.waits.pause_flow_run

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return pause(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t0)

    with patch.object(flows.people.waits, "pause_flow_run", timed):
        yield


def routes(log: list[dict]) -> Counter:
    """How many calls of each route (and rate bucket); the client-answer poll counts once, however
    many polls the client's timing took."""
    counts = Counter((c["vendor"], c["method"], c["route"], c["bucket"].split(":")[1] if c["bucket"] else "")
                     for c in log)
    return Counter({k: (1 if k[:3] == POLL else n) for k, n in counts.items()})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import os

    quiet_prefect()
    os.environ["ONBOARD_POLL_SECONDS"] = "0.02"  # a paused run notices its answer within 20 ms
    from app.people import staff_policy
    from app.simulate import offline_stack, sample_clients
    from services.settings import Settings

    rules = Settings().rules
    first = sample_clients(1, seed=13)[0]  # every client of the run has the same needs: the same calls
    clients = [first] + [twin(first, i) for i in range(1, 1 + 2 * args.repeat)]
    runs, plains, pauses, same = [], [], [], True
    with offline_stack("p3", lambda m: print(m, flush=True), own_process=True,
                       rate_limits="off") as root:
        def timed(client) -> tuple[float, list[dict]]:
            return onboard_timed(root, client)

        with people_answering(root, clients, poll=0.05):
            timed(clients[0])  # the account's first client creates its custom properties and pipeline
            for i in range(args.repeat):
                spent: list[float] = []
                with timing_pauses(spent):
                    with_prefect, prefect_log = timed(clients[1 + 2 * i])
                pauses.append(sum(spent))
                plain_client = clients[2 + 2 * i]
                with without_prefect(staff_policy(plain_client, rules.suggest_package(plain_client).key,
                                                  revise_once=False)):
                    plain, plain_log = timed(plain_client)
                if routes(prefect_log) != routes(plain_log):
                    same = False
                    print(f"only in the Prefect run: {dict(routes(prefect_log) - routes(plain_log))}; "
                          f"only in the plain script: {dict(routes(plain_log) - routes(prefect_log))}")
                runs.append(with_prefect)
                plains.append(plain)
                print(f"repeat {i + 1}: Prefect run {with_prefect:.2f} s ({len(spent)} approvals paused "
                      f"{sum(spent):.2f} s), plain script {plain:.2f} s, {len(prefect_log)} and {len(plain_log)} "
                      "calls", flush=True)

    run, plain, paused = statistics.median(runs), statistics.median(plains), statistics.median(pauses)
    figure("P3 same calls", "yes: every route the same number of times" if same else "NO: the calls differ")
    figure("P3 plain script", f"{plain:.2f} s")
    figure("P3 Prefect run less its approvals' pause and resume", f"{run - paused:.2f} s", (run - paused) / plain)
    ok = figure("P3 Prefect run", f"{run:.2f} s, zero latency", run / plain, TARGET)
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
