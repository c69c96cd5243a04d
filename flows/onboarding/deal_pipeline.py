"""The onboarding deal pipeline in HubSpot, as the rules describe it: made once per account."""

from __future__ import annotations

from integrations.hubspot import Pipeline
from services import Services
from tasks import hubspot


def onboarding_pipeline(svc: Services) -> tuple[Pipeline, dict[str, str]]:
    """The pipeline (created when missing) and its stage ids by the rules' stage key (``lead``, ``lost``, ...)."""
    stages = svc.rules.pipeline.stages
    pipeline = hubspot.prepare_pipeline(svc.clients.hubspot, svc.rules.pipeline.label, svc.rules.pipeline.stage_specs())
    return pipeline, {s.key: next(p.id for p in pipeline.stages if p.label == s.label) for s in stages}
