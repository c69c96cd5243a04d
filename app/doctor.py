"""`onboard doctor`: the preflight (`flows/preflight.py`) as a command: one line per check, the fix for
each that fails; exit 0 only when every check passes."""

from __future__ import annotations

import json
from dataclasses import asdict


def services_or_exit():
    """The run's services, or the reason there are none as a one-line exit (no sandbox URL in sandbox
    mode, a missing live credential), not a traceback."""
    from services import build_services
    from services.credentials import MissingCredentials

    try:
        return build_services()
    except (MissingCredentials, ValueError) as exc:
        raise SystemExit(f"cannot reach the accounts: {exc}") from None


def main(as_json: bool = False) -> int:
    from flows.preflight import run_checks

    checks = run_checks(services_or_exit())
    failed = [c for c in checks if not c.ok]
    if as_json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        for c in checks:
            print(c.line())
        print(f"\n{len(checks) - len(failed)} of {len(checks)} checks passed"
              + ("" if not failed else f"; {len(failed)} to fix (`onboard setup` does what an API may)"))
    return 0 if not failed else 1
