"""Every task run is named with the SOP step its flow is in, and only that one."""

import asyncio
import time

from prefect import flow, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from flows.steps import sop_step
from tasks.base import side_effect


@side_effect()
def touch(n: int) -> int:
    return n


@sop_step("A1.2")
def outer() -> None:
    touch(1)
    inner()


@sop_step("B2.2")
def inner() -> None:
    touch(2)


@flow
def tagged_flow() -> str:
    from prefect.runtime import flow_run

    outer()
    return flow_run.id


def named(runs) -> bool:
    return len(runs) == 2 and all("[" in r.name for r in runs)


def test_task_runs_are_named_with_the_running_sop_step(prefect_api):
    run_id = tagged_flow()

    async def read():
        async with get_client() as client:
            return await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))

    deadline = time.monotonic() + 30
    # task runs reach the server as events, recorded a moment later: a run's first event (Pending)
    # carries Prefect's default name, a later one the name given
    while not named(runs := asyncio.run(read())) and time.monotonic() < deadline:
        time.sleep(0.2)
    names = [r.name for r in sorted(runs, key=lambda r: r.expected_start_time)]
    assert names == ["touch [A1.2]", "touch [B2.2]"], names
    assert not any(r.tags for r in runs)  # no tags: each would cost a concurrency-limit round trip
