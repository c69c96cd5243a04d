"""Deploy prefect.yaml's deployments to a Docker or Kubernetes work pool, on the image of deployments/Dockerfile.

    docker build -f deployments/Dockerfile -t registry.example.com/onboard:2026-05-01 .
    docker push registry.example.com/onboard:2026-05-01
    uv run prefect work-pool create onboarding-k8s --type kubernetes \\
        --base-job-template deployments/kubernetes-job-template.json
    uv run python deployments/deploy_image.py --pool onboarding-k8s --image registry.example.com/onboard:2026-05-01

prefect.yaml's pull step points a process worker at a checkout on its machine; in a container the
code is baked into the image at /opt/onboard instead, so these deployments have no pull step and
carry the image. Names, entrypoints, schedules, descriptions, tags and parameters are prefect.yaml's
(read by app.serve.deployment_specs), so both kinds of pool run the same deployments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", required=True, help="a docker or kubernetes work pool")
    parser.add_argument("--image", required=True, help="the image built from deployments/Dockerfile")
    parser.add_argument("--job-variables", default="{}", help="JSON, e.g. '{\"env\": {\"ONBOARD_MODE\": \"live\"}}'")
    parser.add_argument("--only", action="append", default=[], help="deploy only this deployment (repeatable)")
    args = parser.parse_args(argv)

    os.chdir(REPO)  # entrypoints relative to the checkout = relative to the image's /opt/onboard
    from prefect.schedules import Cron

    from app.serve import deployment_specs, load_entrypoint

    job_variables = {"image": args.image, **json.loads(args.job_variables)}
    failed = []
    for spec in deployment_specs():
        if args.only and spec["name"] not in args.only:
            continue
        try:
            flow = load_entrypoint(spec["entrypoint"])
            schedules = [Cron(s["cron"], timezone=s.get("timezone"), active=s.get("active", True))
                         for s in spec.get("schedules") or [] if "cron" in s]
            deployment_id = flow.deploy(
                name=spec["name"], work_pool_name=args.pool, image=args.image, build=False, push=False,
                job_variables=job_variables, schedules=schedules or None, description=spec.get("description"),
                tags=spec.get("tags"), parameters=spec.get("parameters") or {},
                concurrency_limit=spec.get("concurrency_limit"), print_next_steps=False,
            )
            print(f"{flow.name}/{spec['name']}: {deployment_id}")
        except Exception as exc:  # noqa: BLE001 — report every deployment, then fail
            print(f"{spec['name']}: FAILED {type(exc).__name__}: {exc}", file=sys.stderr)
            failed.append(spec["name"])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
