"""One sandbox per test session (the Prefect harness joins it in the flow tests)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from vendor_sandbox import SandboxConfig, SandboxServer  # noqa: E402
from vendor_sandbox.core.faults import FaultConfig  # noqa: E402

from services.clients import Clients, sandbox_clients  # noqa: E402

VENDORS = ("hubspot", "asana", "google", "slack", "zoom", "keap")


@pytest.fixture(scope="session")
def sandbox():
    """The sandbox on a free port, rate limits off; tests that need them use ``vendor_limits``."""
    with SandboxServer(SandboxConfig(rate_limits="off")) as server:
        yield server


@pytest.fixture(scope="session")
def company_sandbox():
    """A second sandbox seeded with the company's team (config/company.yaml), for the flows."""
    from app.sandbox import sandbox_server

    with sandbox_server(rate_limits="off") as server:
        yield server


@pytest.fixture(scope="session")
def prefect_api():
    """One Prefect server for the session (Postgres when reachable; see tests/prefect_server.py)."""
    from tests.prefect_server import prefect_server

    with prefect_server() as url:
        yield url


@pytest.fixture
def vendor_limits(sandbox):
    """The vendors' documented rate limits, windows shrunk 5x (long enough that a burst crosses them
    even on a busy machine); switched off again afterwards."""
    sandbox.configure(rate_limits="vendor", time_scale=0.2)
    yield sandbox
    sandbox.configure(rate_limits="off", time_scale=1.0)


@pytest.fixture
def faults(sandbox):
    """Set fault probabilities per vendor: ``faults("slack", unavailable=1.0)``; cleared afterwards."""

    def set_faults(vendor: str, **probabilities: float) -> None:
        sandbox.configure(faults={vendor: FaultConfig(**probabilities).model_dump()})

    yield set_faults
    sandbox.configure(faults={v: FaultConfig().model_dump() for v in VENDORS})


@pytest.fixture(scope="session")
def clients(sandbox) -> Clients:
    return sandbox_clients(sandbox.root)
