"""Every task run carries the SOP step its flow is in, and only that one."""

import asyncio

from prefect import flow, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from flows.steps import sop_step
from tasks.base import step


@step()
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


def test_task_runs_are_tagged_with_the_running_sop_step(prefect_api):
    run_id = tagged_flow()

    async def read():
        async with get_client() as client:
            return await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))

    runs = asyncio.run(read())
    tags = {r.name.split("-")[0] + str(i): sorted(t for t in r.tags if t.startswith("sop:"))
            for i, r in enumerate(sorted(runs, key=lambda r: r.expected_start_time))}
    assert sorted(tags.values()) == [["sop:A1.2"], ["sop:B2.2"]], tags
