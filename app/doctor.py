"""`onboard doctor`: the preflight (`flows/preflight.py`) as a command: one line per check, the fix for
each that fails; exit 0 only when every check passes."""

from __future__ import annotations

import json
from dataclasses import asdict


def main(as_json: bool = False) -> int:
    from flows.preflight import run_checks
    from services import build_services

    checks = run_checks(build_services())
    failed = [c for c in checks if not c.ok]
    if as_json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        for c in checks:
            print(c.line())
        print(f"\n{len(checks) - len(failed)} of {len(checks)} checks passed"
              + ("" if not failed else f"; {len(failed)} to fix (`onboard setup` does what an API may)"))
    return 0 if not failed else 1
