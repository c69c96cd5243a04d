"""The onboarding deal pipeline in HubSpot, as the rules describe it: made once per account."""

from __future__ import annotations

from integrations.hubspot import Pipeline
from onboard.runtime import Runtime
from tasks import crm


def onboarding_pipeline(rt: Runtime) -> tuple[Pipeline, dict[str, str]]:
    """The pipeline (created when missing) and its stage ids by the rules' stage key (``lead``, ``lost``, ...)."""
    stages = rt.rules.pipeline.stages
    pipeline = crm.prepare_pipeline(rt.clients.hubspot, rt.rules.pipeline.label,
                                    [(s.label, s.probability, s.closed) for s in stages])
    return pipeline, {s.key: next(p.id for p in pipeline.stages if p.label == s.label) for s in stages}
