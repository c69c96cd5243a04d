"""The SOP as Prefect flows: ``onboarding/`` (phases 1-3, the new-client run), ``engagement/`` (the
follow-ups after kick-off, the daily sweep, the KPI report) and ``people/`` (waiting on staff and
clients, and the approval forms they answer)."""
