"""The worker killed at every wait: a new-client run on a Prefect server backed by Postgres, run by a
worker SIGKILLed at each of the run's waits and started again. Two kinds of worker: a process worker
of a work pool (`prefect worker start --pool onboarding`, the deployments made by `prefect deploy
--all` from prefect.yaml), and `onboard serve` against that server and a sandbox of its own. Either
way the run completes `onboarded` with exactly one of everything, and no process holds it while it
waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from vendor_sandbox.core.server import free_port

from services.settings import REPO

from .conftest import Served, wait_for
from .test_durable_waits import assert_one_of_everything, run_deployment, sample_client, walk_waits

# how each kind of worker is started, and the line its log prints once it polls for runs
WORKERS = {
    "process worker": ([sys.executable, "-m", "prefect", "worker", "start", "--pool", "onboarding"], "started!"),
    "onboard serve": ([sys.executable, "-m", "app.cli", "serve"], "serving:  "),
}


class Worker:
    """A worker on an existing Prefect server and sandbox: ``kind`` is a key of WORKERS."""

    def __init__(self, kind: str, api: str, sandbox: str, home: Path, log: Path) -> None:
        self.kind, self.api, self.sandbox, self.home, self.log = kind, api, sandbox, home, log
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        command, ready = WORKERS[self.kind]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ONBOARD_"))}
        env.update(PREFECT_API_URL=self.api, ONBOARD_SANDBOX_URL=self.sandbox, PREFECT_HOME=str(self.home),
                   PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_RUNNER_POLL_FREQUENCY="2",
                   PREFECT_WORKER_QUERY_SECONDS="2", PYTHONUNBUFFERED="1")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.starts += 1
        wait_for(f"the {self.kind} to start", lambda: self.log.read_text(errors="replace").count(ready) >= self.starts,
                 120, poll=0.5)

        def deployed() -> bool:
            r = httpx.get(f"{self.api}/deployments/name/waits-sweep/waits-sweep", timeout=10)
            return r.status_code == 200

        wait_for("the deployments", deployed, 60, poll=0.5)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


@pytest.fixture
def server_and_sandbox(tmp_path) -> Iterator[tuple[str, str, Path]]:
    from app.sandbox import sandbox_process
    from prefect_plumbing.servers import local_prefect_server
    from tests.prefect_server import _fresh_postgres_database

    fresh = _fresh_postgres_database()
    if not fresh:
        pytest.skip("needs PostgreSQL (the Prefect server of a deployment with workers)")
    saved = dict(os.environ)
    for name in [k for k in os.environ if k.startswith("PREFECT_")]:  # not the test harness's server
        del os.environ[name]
    os.environ.update(PREFECT_HOME=str(tmp_path / "server"), PREFECT_API_DATABASE_CONNECTION_URL=fresh[0],
                      PREFECT_SERVER_ANALYTICS_ENABLED="false")
    try:
        with local_prefect_server(free_port()) as api, sandbox_process() as sandbox:
            yield api, sandbox, tmp_path
    finally:
        os.environ.clear()
        os.environ.update(saved)
        fresh[1]()


@pytest.mark.parametrize("kind", list(WORKERS))
def test_a_run_survives_its_worker_killed_at_every_wait(server_and_sandbox, kind):
    api, sandbox, tmp = server_and_sandbox
    if kind == "process worker":  # as ops deploy: a process work pool, then every deployment of prefect.yaml
        from tests.deploy.test_prefect_yaml import prefect_cli

        prefect_cli(api, "work-pool", "create", "onboarding", "--type", "process", "--overwrite")
        prefect_cli(api, "deploy", "--all")
    worker = Worker(kind, api, sandbox, tmp / "worker", tmp / "worker.log")
    served = Served(ui=api.removesuffix("/api"), api=api, sandbox=sandbox, log=worker.log)
    worker.start()
    client, domain = sample_client("Palesa", uuid.uuid4().hex[:8])
    run = run_deployment(served, "onboard-client/new-client", {"client": client})

    def restart(key: str) -> None:  # the run holds no process here: kill the worker, start a new one
        worker.kill()
        worker.start()

    try:
        waits = walk_waits(served, run["id"], client, at_each_wait=restart)
    finally:
        if worker.proc and worker.proc.poll() is None:
            worker.kill()
    assert worker.starts == 1 + len(waits)  # killed and started again at every wait
    assert httpx.get(f"{api}/flow_runs/{run['id']}", timeout=30).json()["state"]["type"] == "COMPLETED"
    assert_one_of_everything(served, domain, client["company_name"])
