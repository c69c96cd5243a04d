"""Create (or update) the Prefect Secret blocks the flows read in live mode, from environment variables.

    export ONBOARD_HUBSPOT_TOKEN=... ONBOARD_ASANA_TOKEN=... (see README, "Settings and secrets")
    PREFECT_API_URL=http://prefect.internal:4200/api uv run python deployments/blocks.py [--dry-run]

For each credential in services/credentials.py CREDENTIALS (and KEAP_CREDENTIALS, never reported missing:
Keap is needed only when config/company.yaml chooses it): the block named there gets the value of the
environment variable ONBOARD_<FIELD>. A variable that is unset or empty is skipped, and an existing
block is left as it is. Values are never printed: only block names and what happened to them.
Exit status: 0 when every block exists afterwards, 1 when some are still missing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from services.credentials import CREDENTIALS, KEAP_CREDENTIALS


def env_name(field: str) -> str:
    return f"ONBOARD_{field.upper()}"


def existing_block(name: str) -> bool:
    from services.credentials import load_secret_block

    return load_secret_block(name) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="say what would be done; write nothing")
    args = parser.parse_args(argv)

    from prefect.blocks.system import Secret

    missing = []
    for field, block in CREDENTIALS.items():
        var = env_name(field)
        value = os.environ.get(var, "")
        if value:
            if not args.dry_run:
                Secret(value=value).save(block, overwrite=True)
            print(f"{block}: {'would be ' if args.dry_run else ''}set from {var}")
        elif existing_block(block):
            print(f"{block}: kept (exists; {var} is unset)")
        else:
            print(f"{block}: MISSING — set {var} and run again")
            missing.append(block)
    for field, block in KEAP_CREDENTIALS.items():  # only with email_marketing.system: keap, one of the two
        var = env_name(field)
        if os.environ.get(var):
            if not args.dry_run:
                Secret(value=os.environ[var]).save(block, overwrite=True)
            print(f"{block}: {'would be ' if args.dry_run else ''}set from {var}")
        else:
            print(f"{block}: {'kept (exists)' if existing_block(block) else 'not set'}; {var} is unset "
                  "(needed only with email_marketing.system: keap in config/company.yaml)")
    if missing:
        print(f"{len(missing)} Secret block(s) missing; live mode will stop at start-up naming them.")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
