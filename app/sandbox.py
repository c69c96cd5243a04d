"""The offline sandbox as the app starts it, with the company's team as colleagues in every vendor.

The one module of the project that imports the sandbox package (``vendor_sandbox``); production
code learns its URLs from ``integrations/sandbox_urls.py``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from vendor_sandbox import SandboxConfig, SandboxServer, TeamMember, create_app, free_port

from prefect_plumbing.servers import stop_process
from services.settings import Settings

CLI_OPTIONS = ("state", "rate_limits", "time_scale", "seed", "account")  # what `onboard sandbox` takes; the rest is runtime config


def company_team() -> list[TeamMember]:
    """The company roster (config/company.yaml), as the colleagues the sandbox knows in every vendor."""
    return [TeamMember(name=p.name, email=str(p.email)) for p in Settings().profile.everyone()]


def sandbox_config(state: Path | None = None, **options: Any) -> SandboxConfig:
    return SandboxConfig(state=state, team=company_team(), **options)


def sandbox_server(state: Path | None = None, port: int | None = None, **options: Any) -> SandboxServer:
    """The sandbox on a thread of this process (a context manager), seeded with the company's team."""
    return SandboxServer(sandbox_config(state, **options), port=port)


@contextmanager
def sandbox_process(port: int | None = None, **options: Any) -> Iterator[str]:
    """The sandbox in a process of its own, as the vendors are to a real run (no CPU of theirs in the
    run's process); yields its root URL. ``options`` as for ``SandboxConfig``."""
    port = port or free_port()
    args = [sys.executable, "-m", "app.cli", "sandbox", "--port", str(port)]
    for name in CLI_OPTIONS:
        if options.get(name) is not None:
            args += [f"--{name.replace('_', '-')}", str(options[name])]
    root = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{root}/_sandbox/stats", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox did not start on {root}") from None
                time.sleep(0.2)
        runtime = {k: v for k, v in options.items() if k not in CLI_OPTIONS and k != "team"}
        if runtime:
            httpx.post(f"{root}/_sandbox/config", json=SandboxConfig(**runtime).model_dump(
                mode="json", include=set(runtime)), timeout=30).raise_for_status()
        yield root
    finally:
        stop_process(proc)


__all__ = ["SandboxServer", "company_team", "create_app", "free_port", "sandbox_config", "sandbox_process", "sandbox_server"]
