"""`onboard setup [--dry-run]`: creates, once, what the vendors' APIs let a token create (HubSpot's
custom properties and deal pipeline, the Asana team, Keap's stage tags), then runs the doctor and prints what is left
for an administrator. Running it again creates nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from integrations.errors import IntegrationError, NotFound
from services import Services


@dataclass(frozen=True)
class Step:
    what: str
    needed: bool
    do: Callable[[], None]
    cannot: str = ""  # why it cannot be created on this account (then not needed, and said)


def steps(svc: Services) -> list[Step]:
    """What setup would create, each with whether it is still needed (read now, nothing written)."""
    from tasks.hubspot import COMPANY_PROPERTIES, DEAL_PROPERTIES, INVOICE_PROPERTIES, missing_properties

    crm, projects = svc.clients.hubspot, svc.clients.asana
    pipeline = svc.rules.pipeline
    missing = missing_properties(crm)
    missing_company, missing_deal = missing["companies"], missing["deals"]
    try:
        projects.team_gid(svc.profile.asana_team)
        team_missing = False
    except NotFound:
        team_missing = True
    pipeline_missing = crm.find_pipeline(pipeline.label) is None
    # on HubSpot Free the one deal pipeline is taken: the doctor's line says how to map onto it instead
    used, allowed = crm.deal_pipeline_room() if pipeline_missing else (0, 1)
    room = used < allowed
    return [
        Step(f"HubSpot: the custom company properties ({len(missing_company)} of {len(COMPANY_PROPERTIES)} missing)",
             bool(missing_company),
             lambda: crm.ensure_properties("companies", COMPANY_PROPERTIES)),
        Step(f"HubSpot: the custom deal properties ({len(missing_deal)} of {len(DEAL_PROPERTIES)} missing)",
             bool(missing_deal),
             lambda: crm.ensure_properties("deals", DEAL_PROPERTIES)),
        Step(f"HubSpot: the custom invoice property ({len(missing['invoices'])} of {len(INVOICE_PROPERTIES)} missing)",
             bool(missing["invoices"]),
             lambda: crm.ensure_properties("invoices", INVOICE_PROPERTIES)),
        Step(f"HubSpot: the deal pipeline '{pipeline.label}' ({len(pipeline.stages)} stages)",
             pipeline_missing and room,
             lambda: crm.ensure_pipeline(pipeline.label, pipeline.stage_specs()),
             "" if room else f"the subscription's {allowed} deal pipeline(s) are all in use"),
        Step(f"Asana: the team '{svc.profile.asana_team}'", team_missing,
             lambda: projects.create_team(svc.profile.asana_team, "Everyone who onboards clients.")),
        *keap_steps(svc),
    ]


def keap_steps(svc: Services) -> list[Step]:
    """Keap (when chosen): the tag of each SOP stage, for the company's campaigns to start from."""
    keap, config = svc.clients.keap, svc.profile.email_marketing
    if keap is None or config.system != "keap":
        return []
    existing = keap.tags()
    missing = [name for name in config.tags.values() if name not in existing]
    return [Step(f"Keap: the SOP stages' tags ({len(missing)} of {len(config.tags)} missing)", bool(missing),
                 lambda: [keap.ensure_tag(name, "Applied by the client-onboarding SOP runs") for name in missing])]


def main(dry_run: bool = False) -> int:
    from app.doctor import services_or_exit
    from flows.preflight import run_checks

    svc = services_or_exit()
    for step in steps(svc):
        if step.cannot:
            print(f"✘ {step.what}: cannot be created: {step.cannot} (see below)")
        elif not step.needed:
            print(f"✔ {step.what}: already there")
        elif dry_run:
            print(f"· {step.what}: would be created")
        else:
            try:
                step.do()
                print(f"✔ {step.what}: created")
            except IntegrationError as exc:
                print(f"✘ {step.what}: {type(exc).__name__}: {exc}")
    if dry_run:
        return 0
    left = [c for c in run_checks(svc) if not c.ok]
    if not left:
        print("\nEverything a run needs is in place (`onboard doctor` agrees).")
        return 0
    print(f"\nLeft for an administrator ({len(left)}; docs/live-setup.md):")
    for c in left:
        print(c.line())
    return 1
