"""SOP-B 4.2 performance monitoring: the client's weekly health check, and the per-client health view.

Runs alone for one client: ``client_health(client_domain, as_of, key=None)``. ``as_of`` is the local date
the action is for (the injected clock: nothing here asks the system for the date); ``key`` is the
timeline key being run (``health_check:<date>``), defaulting to the one ``as_of`` implies.

The check reads three signals (overdue Asana tasks, check-ins the client declined, the survey scores:
the onboarding survey's, then the halfway survey's),
rates them with ``sop/health.py`` and the ``health:`` thresholds of config/engagement.yaml, and keeps
the result on the HubSpot company: ``health_status``, ``health_reasons``, ``health_checked_date``,
``health_overdue``, ``health_missed_check_ins`` and ``health_history`` ("date:status;..."). When the
status turns red (it was not red at the last check) the client's account manager gets a Slack DM and
an email, and the company a note, each once per check (keys ``health-red-<date>``): a retried or
repeated check sends nothing twice, and a client who stays red is not re-announced every week.
"""

from __future__ import annotations

from datetime import date, timedelta

from prefect import flow

import services
from flows.engagement.channels import note, progress, slot_date
from flows.engagement.record import DONE, SKIPPED, ClientRecord, load_record, plan_basis, timeline_for
from integrations.errors import InvalidInput
from integrations.hubspot import HubSpotCRM
from services import Services
from sop.health import (
    Health,
    HealthRow,
    HealthSignals,
    add_to_history,
    assess,
    by_urgency,
    health_row,
    survey_scores,
    turned_red,
)
from sop.timeline import ActionKind
from tasks import calendar, gmail, hubspot, slack


def missed_check_ins(svc: Services, rec: ClientRecord, as_of: date) -> list[date]:
    """The days of the check-ins before ``as_of`` (in the window counted) that the client declined.

    The signal is the client's answer to the check-in's Calendar invite on the account manager's
    calendar (found by its key, as the check-in booked it): ``responseStatus == "declined"``. An
    invite still ``needsAction`` after the meeting is not counted: clients often never answer the
    invites of a weekly series and come all the same, so silence would turn quiet clients red for
    nothing and page the account manager; a decline is the client saying they will not be there.
    (Zoom's past-meeting participants would say who joined, but the sandbox does not emulate that
    API, and a client joining by phone or in the room would not appear in it either.)"""
    window = svc.engagement_rules.health.missed_window_days
    since = as_of - timedelta(days=window) if window else date.min
    planned = timeline_for(svc, rec) if plan_basis(rec) else []
    keys = {a.key for a in planned if a.kind == ActionKind.CHECK_IN}
    keys |= {k for k in rec.done_keys() if k.startswith(f"{ActionKind.CHECK_IN.value}:")}  # moved by a re-plan
    missed = []
    for key in sorted(keys):
        day = slot_date(key, as_of)
        if since <= day < as_of and calendar.attendee_response(
                svc.clients.calendar, str(rec.manager.email), (rec.domain, key), rec.client.email) == "declined":
            missed.append(day)
    return missed


def alert_manager(svc: Services, rec: ClientRecord, health: Health, previous: str | None, key: str,
                  as_of: date) -> None:
    """The account manager hears that the client turned red: a Slack DM and an email; a note on the CRM."""
    manager = rec.manager
    why = "; ".join(health.reasons)
    slack.remind_on_slack(svc.clients.slack, str(manager.email),
                          f":red_circle: *{rec.client.company_name}* turned red on {as_of} (client health, "
                          f"SOP-B 4.2; it was {previous or 'not checked'}): {why}", key=f"{rec.domain}:{key}")
    mail = svc.renderer.render("email/health_alert.html.j2", manager=manager, client=rec.client, health=health,
                               previous=previous or "not checked", date=as_of.isoformat())
    gmail.send_email(svc.clients.gmail, str(manager.email), mail, key=key, domain=rec.domain)
    note(svc, rec, f"<b>Client health turned red</b> ({previous or 'not checked'} before); "
                   f"{manager.name} told by Slack and email.<br>{why}", key, as_of)


def run_health_check(svc: Services, rec: ClientRecord, as_of: date, key: str | None = None) -> str:
    """SOP-B 4.2: the client's health from Asana, Calendar and the survey scores, kept on the CRM; the
    account manager alerted when it turns red."""
    key = key or f"{ActionKind.HEALTH_CHECK.value}:{as_of.isoformat()}"
    rules = svc.engagement_rules
    if slot_date(key, as_of) + timedelta(days=rules.health.check_every_days or 7) <= as_of:
        return SKIPPED  # a check the sweep missed: the newer one, due already, tells the same and more
    signals = HealthSignals(overdue=tuple(progress(svc, rec, as_of).overdue),
                            missed=tuple(missed_check_ins(svc, rec, as_of)), scores=tuple(survey_scores(rec.company.properties)))
    health = assess(signals, as_of, rules.health, rules.csat.satisfied_at, rules.csat.at_risk_below)
    previous = rec.get("health_status")
    if turned_red(previous, health.status):  # told before the status is stored: a crash in between re-tells, once
        alert_manager(svc, rec, health, previous, f"health-red-{slot_date(key, as_of).isoformat()}", as_of)
    rec.update(svc, {"health_status": health.status.value, "health_reasons": health.text,
                     "health_checked_date": as_of.isoformat(), "health_overdue": health.overdue,
                     "health_missed_check_ins": health.missed,
                     "health_history": add_to_history(rec.get("health_history"), as_of, health.status)})
    return DONE


@flow(name="client-health", flow_run_name="client-health {client_domain} {as_of}", log_prints=True)
def client_health(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-B 4.2: the client's weekly health check (green/amber/red), the account manager told of a red."""
    svc = services.current()
    return run_health_check(svc, load_record(svc, client_domain), as_of, key)


def health_rows(hub: HubSpotCRM, as_of: date | None = None, domains: set[str] | None = None) -> list[HealthRow]:
    """The health view: one row per client past kick-off (not churned, declined or cancelled), red first,
    from what the health checks stored on HubSpot; ``domains`` limits it to some clients."""
    try:
        companies = hubspot.companies_with(hub, "kickoff_date")
    except InvalidInput:  # the properties do not exist yet: no client was ever onboarded
        return []
    return by_urgency(health_row(c.properties, as_of) for c in companies
                      if (domains is None or c.properties.get("domain") in domains)
                      and (c.properties.get("onboarding_status") or "") not in hubspot.INACTIVE)
