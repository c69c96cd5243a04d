"""`onboard serve`: a Prefect UI where staff really work, on one machine.

Starts a local Prefect server (SQLite in PREFECT_HOME, or the database PREFECT_API_DATABASE_CONNECTION_URL
names) unless PREFECT_API_URL is configured, the offline sandbox (sandbox mode), and serves the
deployments of prefect.yaml in this process: staff fill the new-client form in the UI and answer the
approvals there; the daily sweep and the weekly KPI report run on their schedules while it serves.

prefect.yaml is the one description of the deployments: `prefect deploy --all` sends them to a work
pool, this serves the same names, schedules, descriptions, tags and parameters without one.
"""

from __future__ import annotations

import importlib
import os
import signal
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import yaml

from prefect_plumbing.servers import local_prefect_server, port_free
from services.settings import REPO

PREFECT_YAML = REPO / "prefect.yaml"


def say(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------------------ deployments


def deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The `deployments:` of prefect.yaml, as written (anchors resolved, templates left alone)."""
    return list(yaml.safe_load(path.read_text())["deployments"])


def load_entrypoint(entrypoint: str):
    """``flows/onboarding/new_client.py:onboard_client`` -> the flow object, imported as ``flows.onboarding.new_client``
    (so relative imports work and the module is imported once)."""
    file, _, attr = entrypoint.partition(":")
    module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
    return getattr(module, attr)


def runner_deployments(specs: list[dict[str, Any]]) -> tuple[list[Any], dict[str, str]]:
    """RunnerDeployments for every spec whose flow imports; the others as {name: why skipped}."""
    from prefect.schedules import Cron

    served, skipped = [], {}
    for spec in specs:
        try:
            flow = load_entrypoint(spec["entrypoint"])
        except Exception as exc:  # noqa: BLE001 — a flow not written yet, or broken: serve the others
            skipped[spec["name"]] = f"{spec['entrypoint']}: {type(exc).__name__}: {exc}"
            continue
        schedules = [Cron(s["cron"], timezone=s.get("timezone"), active=s.get("active", True))
                     for s in spec.get("schedules") or [] if "cron" in s]
        served.append(flow.to_deployment(
            name=spec["name"],
            description=spec.get("description"),
            tags=spec.get("tags"),
            parameters=spec.get("parameters") or {},
            schedules=schedules or None,
            concurrency_limit=spec.get("concurrency_limit"),
        ))
    return served, skipped


def not_on_a_work_pool(deployments: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """The deployments no work pool already has on this server, and the others as {name: pool}: a
    served deployment of the same name would replace the pool's, and its runs would land here."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    free, taken = [], {}
    with get_client(sync_client=True) as prefect:
        for d in deployments:
            try:
                existing = prefect.read_deployment_by_name(f"{d.flow_name}/{d.name}")
            except ObjectNotFound:
                existing = None
            if existing is not None and existing.work_pool_name:
                taken[d.name] = existing.work_pool_name
            else:
                free.append(d)
    return free, taken


# ------------------------------------------------------------------------------ serve


def _terminate_as_interrupt(signum, frame) -> None:  # SIGTERM stops like Ctrl-C: everything cleaned up
    raise KeyboardInterrupt


def unprotected_bind(host: str) -> str | None:
    """Why binding the UI to ``host`` is refused, or None. Every client's personal details are in the
    runs' parameters and the Prefect server has no login unless PREFECT_SERVER_API_AUTH_STRING is set."""
    import ipaddress

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        loopback = False
    if loopback or os.environ.get("PREFECT_SERVER_API_AUTH_STRING"):
        return None
    return (f"refusing to serve the Prefect UI on {host}: it shows every client's personal details to anyone "
            "who can reach it. Set PREFECT_SERVER_API_AUTH_STRING='user:password' (the browser then asks for it; "
            "workers and the CLI need PREFECT_API_AUTH_STRING with the same value) and put it behind TLS "
            "(README, \"The UI beyond this machine\"), or keep the default --host 127.0.0.1.")


def serve(port: int = 4200, sandbox_port: int = 8765, state: Path | None = None, host: str = "127.0.0.1") -> None:
    refused = unprotected_bind(host)
    if refused:
        raise SystemExit(refused)
    if os.environ.get("PREFECT_SERVER_API_AUTH_STRING"):  # this process and its runs are the server's clients
        os.environ.setdefault("PREFECT_API_AUTH_STRING", os.environ["PREFECT_SERVER_API_AUTH_STRING"])
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    os.chdir(REPO)  # deployment entrypoints are paths relative to the checkout, as in prefect.yaml

    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    from services.credentials import MissingCredentials
    from services.settings import Settings, load_settings

    settings = Settings()
    try:
        with ExitStack() as stack:
            configured = PREFECT_API_URL.value()
            if configured:
                api_url = configured
                ui_url = PREFECT_UI_URL.value() or api_url.removesuffix("/api")
                say(f"using the Prefect server at {api_url} (PREFECT_API_URL)")
            else:
                say(f"starting a local Prefect server on port {port} …")
                api_url = stack.enter_context(local_prefect_server(port, host))
                ui_url = api_url.removesuffix("/api")
            os.environ["PREFECT_API_URL"] = api_url  # also for the flow-run processes
            stack.enter_context(temporary_settings({PREFECT_API_URL: api_url}))

            try:  # the profile and rules now, and in live mode every credential (env or Secret block)
                load_settings()
            except MissingCredentials as exc:
                raise SystemExit(str(exc)) from None

            if settings.mode == "sandbox":
                if settings.sandbox_url:
                    sandbox_root = str(settings.sandbox_url).rstrip("/")
                    say(f"using the sandbox at {sandbox_root} (ONBOARD_SANDBOX_URL)")
                else:
                    from app.sandbox import sandbox_server

                    if not port_free(sandbox_port):
                        raise SystemExit(f"sandbox port {sandbox_port} is taken: pick another with --sandbox-port, "
                                         f"or use a running sandbox with ONBOARD_SANDBOX_URL")
                    # with a state file the sandbox keeps its records across restarts, as Prefect keeps the runs
                    sandbox = stack.enter_context(sandbox_server(state=state, port=sandbox_port))
                    sandbox_root = sandbox.root
                    os.environ["ONBOARD_SANDBOX_URL"] = sandbox_root
                # Staff answers in the UI are picked up within this many seconds (default 30).
                os.environ.setdefault("ONBOARD_POLL_SECONDS", "5")
            else:
                sandbox_root = None

            from prefect import serve as prefect_serve

            deployments, skipped = runner_deployments(deployment_specs())
            deployments, on_pools = not_on_a_work_pool(deployments)
            for name, pool in on_pools.items():
                say(f"note: not serving {name!r} — it is deployed to the work pool {pool!r} on this server; "
                    f"serving it here would take it over (delete it there first to serve it here)")
            for name, why in skipped.items():
                say(f"note: not serving {name!r} — its flow does not import ({why})")
            if not deployments:
                raise SystemExit("no deployment to serve")

            say("")
            say(f"Prefect UI:  {ui_url}   (new client: Deployments > new-client > Run > Custom run)")
            say(f"sandbox:     {sandbox_root}" if sandbox_root else "live mode: the vendors' real APIs")
            say(f"serving:     {', '.join(d.name for d in deployments)}   Ctrl-C stops")
            say("a worker or another shell joins with:")
            say(f"  export PREFECT_API_URL={api_url}")
            if sandbox_root:
                say(f"  export ONBOARD_SANDBOX_URL={sandbox_root}")
            prefect_serve(*deployments, print_starting_message=False)
    except KeyboardInterrupt:
        pass
    finally:
        say("stopped")
