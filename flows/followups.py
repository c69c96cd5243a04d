"""Phases 4-5 — the follow-ups after kick-off (SOP-A 4, 5; SOP-B 4), one flow each.

Every flow runs alone for one client: ``flow(client_domain, as_of, key=None)``. ``as_of`` is the
local date the action is for (the injected clock: nothing below asks the system for the date);
``key`` is the timeline key being run (``check_in:2026-03-03``), defaulting to the one ``as_of``
implies. The sweep (flows/engagement.py) calls them with the keys of the client's due actions.

Each returns ``"done"`` (the action is finished), ``"pending"`` (waiting on the client or on the
project: the sweep keeps the action due and runs the flow again on a later day) or ``"skipped"``.

Every side effect is idempotent per (client, action key): emails carry a Message-ID made from the
key (tasks/email.message_id), Calendar events an id made from it, notes a note key, Drive documents
appProperties {client, kind}, Slack posts a dedupe key; forms are made once and their id kept on the
company. Running a follow-up twice for the same key therefore creates nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.input import RunInput
from pydantic import Field

from integrations.hubspot import Record
from onboard.profile import Person, Role
from onboard.rules import Wait
from onboard.runtime import Runtime, current_runtime
from onboard.timeline import Action, ActionKind, EngagementRules, plan_timeline
from tasks import chat, crm, documents, email, engagement, meetings

from .waits import ask_staff

SURVEY_QUESTIONS = [
    {"key": "experience", "title": "How has your experience been so far?", "kind": "paragraph", "required": True},
    {"key": "satisfaction", "title": "How satisfied are you with the onboarding so far?", "kind": "scale",
     "options": [1, 5], "required": True},
    {"key": "improve", "title": "What could we improve?", "kind": "paragraph", "required": False},
]
TESTIMONIAL_QUESTIONS = [
    {"key": "testimonial", "title": "Your testimonial or review", "kind": "paragraph", "required": True},
    {"key": "permission", "title": "May we publish it with your company name?", "kind": "choice",
     "options": ["Yes", "No"], "required": True},
]
# Days, counted on the injected clock, not wall time: the survey and testimonial waits span days.
SURVEY_WAIT = Wait(remind_every_hours=48, timeout_hours=168, on_timeout="end")
TESTIMONIAL_WAIT = Wait(remind_every_hours=96, timeout_hours=336, on_timeout="end")
ADJUSTMENTS_WAIT = Wait(remind_every_hours=24, timeout_hours=72, on_timeout="end")

OFFERS = {  # SOP-A 5.4 retention programme; timing in config/engagement.yaml (retention)
    "loyalty": ("A loyalty offer before your renewal",
                "Your contract renews soon. As a thank-you for your loyalty we offer one month of support free "
                "when you renew for another year."),
    "long_term_discount": ("A long-term client discount",
                           "You have been with us six months: from now on you get 10% off every additional service."),
    "value_added": ("Something extra from us",
                    "We heard that things could be better. We add a free strategy session and a weekly status "
                    "summary to your package, so we can put it right together."),
}

DONE, PENDING, SKIPPED = "done", "pending", "skipped"


# ------------------------------------------------------------------------------ the client's record


@dataclass(frozen=True)
class ClientView:
    """What the templates need of the client (same fields as NewClient uses there)."""

    company_name: str
    domain: str
    email: str
    first_name: str


@dataclass
class Engagement:
    """One client as the CRM records it: company properties, contact, team."""

    company: Record
    client: ClientView
    contact_id: str | None
    manager: Person
    specialist: Person

    @property
    def id(self) -> str:
        return self.company.id

    @property
    def domain(self) -> str:
        return self.client.domain

    def get(self, name: str) -> str | None:
        return self.company.properties.get(name) or None

    def day(self, name: str) -> date | None:
        value = self.get(name)
        return date.fromisoformat(value[:10]) if value else None

    def done_keys(self) -> set[str]:
        return parse_keys(self.get("engagement_done_keys"))

    def csat_scores(self) -> list[int]:
        return [int(s) for s in (self.get("csat_scores") or "").split(";") if s.strip().isdigit()]

    def ids(self) -> dict[str, str]:
        return {"companies": self.id, **({"contacts": self.contact_id} if self.contact_id else {})}

    def update(self, rt: Runtime, props: dict[str, Any]) -> None:
        self.company = crm.update_company(rt.clients.hubspot, self.id, props)
        merged = {**self.company.properties, **{k: (None if v is None else str(v)) for k, v in props.items()}}
        self.company = Record(self.company.id, "companies", merged)


def parse_keys(text: str | None) -> set[str]:
    return {k for k in (text or "").split(";") if k}


def load_engagement(rt: Runtime, client_domain: str) -> Engagement:
    hub = rt.clients.hubspot
    company = engagement.find_company(hub, client_domain)
    if company is None:
        raise LookupError(f"no HubSpot company with domain {client_domain!r}")
    contact = engagement.primary_contact(hub, company.id)
    p = contact.properties if contact else {}
    client = ClientView(company_name=company.properties.get("name") or client_domain, domain=client_domain,
                        email=p.get("email") or f"info@{client_domain}",
                        first_name=p.get("firstname") or "there")
    return Engagement(company=company, client=client, contact_id=contact.id if contact else None,
                      manager=rt.person(Role.ACCOUNT_MANAGER, company.properties.get("account_manager_email")),
                      specialist=rt.person(Role.ONBOARDING_SPECIALIST, company.properties.get("specialist_email")))


def engagement_rules(rt: Runtime, cadence: str | None) -> EngagementRules:
    """The company's rules, with the client's own check-in cadence when it has one."""
    rules: EngagementRules = rt.settings.engagement
    if cadence in ("weekly", "biweekly") and cadence != rules.check_ins.cadence:
        rules = rules.model_copy(update={"check_ins": rules.check_ins.model_copy(update={"cadence": cadence})})
    return rules


def plan_basis(e: Engagement) -> str | None:
    """What the timeline is computed from: kick-off|start|weeks|cadence (None before kick-off)."""
    kickoff, start, weeks = e.day("kickoff_date"), e.day("service_start_date"), e.get("project_weeks")
    if not (kickoff and start and weeks):
        return None
    return f"{kickoff}|{start}|{int(float(weeks))}|{e.get('engagement_cadence') or ''}"


def timeline_from_basis(rt: Runtime, basis: str) -> list[Action]:
    kickoff, start, weeks, cadence = basis.split("|")
    return plan_timeline(date.fromisoformat(kickoff), date.fromisoformat(start), int(weeks),
                         engagement_rules(rt, cadence or None), rt.profile.tz)


def timeline_for(rt: Runtime, e: Engagement) -> list[Action]:
    basis = plan_basis(e)
    if basis is None:
        raise ValueError(f"{e.domain}: no kick-off date, service start date and project weeks on the company yet")
    return timeline_from_basis(rt, basis)


def local_at(rt: Runtime, day: date, at: time) -> datetime:
    return datetime.combine(day, at, rt.profile.tz)


def _slot_date(key: str | None, fallback: date) -> date:
    try:
        return date.fromisoformat(key.split(":", 1)[1]) if key else fallback
    except ValueError:
        return fallback


def note(rt: Runtime, e: Engagement, body: str, key: str, as_of: date) -> None:
    crm.add_note(rt.clients.hubspot, body, local_at(rt, as_of, rt.settings.engagement.action_time), None, e.ids(),
                 key=f"{e.domain}:{key}")


def send(rt: Runtime, e: Engagement, template: str, key: str, **context: Any) -> None:
    mail = rt.renderer.render(template, client=e.client, account_manager=e.manager, **context)
    email.send_email(rt.clients.gmail, e.client.email, mail, key=key, domain=e.domain, sender=str(e.manager.email))


def post(rt: Runtime, e: Engagement, text: str, key: str) -> None:
    channel = e.get("slack_channel_id")
    if channel:
        chat.post(rt.clients.slack, channel, text, key=f"{e.domain}:{key}")


def progress(rt: Runtime, e: Engagement, as_of: date) -> engagement.Progress:
    gid = e.get("asana_project_gid")
    return engagement.project_progress(rt.clients.asana, gid, as_of) if gid else engagement.Progress()


def progress_text(p: engagement.Progress, limit: int = 5) -> str:
    def items(xs: list[str]) -> str:
        return "\n".join(f"• {x}" for x in xs[:limit]) or "• none"

    return (f"*Done* ({len(p.done)} of {p.total}, {p.percent_done}%)\n{items(p.done[-limit:])}\n"
            f"*Overdue* ({len(p.overdue)})\n{items(p.overdue)}\n*Next*\n{items(p.upcoming)}")


def hold_meeting(rt: Runtime, e: Engagement, key: str, topic: str, when: datetime, minutes: int,
                 agenda: str) -> tuple[str, str]:
    """A Zoom meeting + Calendar invite (event id from the key) for client, manager and specialist."""
    zoom = meetings.schedule_zoom(rt.clients.zoom, str(e.manager.email), topic, when, minutes, rt.profile.timezone,
                                  agenda)
    meetings.put_calendar_event(rt.clients.calendar, str(e.manager.email), (e.domain, key), topic,
                                f"{agenda}\nJoin Zoom: {zoom.join_url}", when, minutes, rt.profile.timezone,
                                [e.client.email, str(e.manager.email), str(e.specialist.email)],
                                location=zoom.join_url)
    return zoom.join_url, when.strftime("%A %d %B %Y, %H:%M %Z")


# ---------------------------------------------------------------------- waiting on the client, in days


def collect_form(rt: Runtime, as_of: date, form_id: str, sent: date, wait: Wait,
                 remind) -> tuple[str, Any]:
    """("answered", response) | ("expired", None) | ("pending", None), counted in days of ``as_of``."""
    from tasks import forms

    responses = forms.read_responses(rt.clients.forms, form_id)
    if responses:
        return "answered", responses[0]
    days = (as_of - sent).days
    if days * 24 >= wait.timeout_hours:
        return "expired", None
    n = int(days * 24 // wait.remind_every_hours)
    if n >= 1:
        remind(n)
    return "pending", None


def answers_by_key(form, response, questions: list[dict[str, Any]]) -> dict[str, str]:
    by_qid = {qid: title for title, qid in form.question_ids.items()}
    keys = {q["title"]: q["key"] for q in questions}
    return {keys[by_qid[qid]]: "; ".join(v) for qid, v in response.answers.items() if by_qid.get(qid) in keys}


# --------------------------------------------------------------------------------------- check-in


def run_check_in(rt: Runtime, e: Engagement, as_of: date, key: str | None = None) -> str:
    """SOP-A 4.1 / B4.1 (and A5.3 after the project): Zoom + invite, progress summary, Slack reminder."""
    key = key or f"check_in:{as_of.isoformat()}"
    day = _slot_date(key, as_of)
    if day < as_of:  # a meeting that was not held on its day is not booked in the past
        get_run_logger().warning("%s: %s was missed (sweep on %s); not booked in the past", e.domain, key, as_of)
        return SKIPPED
    c = rt.settings.engagement.check_ins
    post_project = key.startswith(ActionKind.POST_PROJECT_CHECK_IN.value)
    topic = f"{'Periodic' if post_project else 'Progress'} check-in — {e.client.company_name} — {day.isoformat()}"
    join_url, when = hold_meeting(rt, e, key, topic, local_at(rt, day, c.local_time), c.minutes,
                                  "Progress, updates, questions; anything not going as planned")
    p = progress(rt, e, as_of)
    post(rt, e, f"*Before today's check-in* ({when})\n{progress_text(p)}", f"{key}:summary")
    post(rt, e, f"Reminder: check-in {when} — join on Zoom: {join_url}", f"{key}:reminder")
    return DONE


@flow(name="check-in", flow_run_name="check-in {client_domain} {as_of}", log_prints=True)
def check_in(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 4.1 / B4.1 / A5.3: the check-in meeting with a progress summary before it."""
    rt = current_runtime()
    return run_check_in(rt, load_engagement(rt, client_domain), as_of, key)


# ------------------------------------------------------------------------------- halfway feedback


class FeedbackAdjustments(RunInput):
    """SOP-A 4.3 — after the halfway feedback: adjust the project?"""

    shift_due_days: int = Field(0, ge=-60, le=180, description="Move every open task's due date by this many days")
    add_deliverables: str = Field("", description="New deliverables, one per line")
    drop_deliverables: str = Field("", description="Deliverables taken out of scope (exact task names), one per line")
    notes: str = Field("", description="What was agreed and why (recorded in HubSpot)")


def run_halfway_feedback(rt: Runtime, e: Engagement, as_of: date, key: str | None = None) -> str:
    """SOP-A 4.2 / B4.2: survey (experience, satisfaction 1-5, improvements), reminders, CSAT; then A4.3."""
    from tasks import forms

    key = key or "halfway_feedback:project"
    status = e.get("survey_status")
    if status in ("answered", "expired"):
        return DONE
    form_id, sent = e.get("survey_form_id"), e.day("survey_sent_date")
    if not form_id:
        form = engagement.create_form(rt.clients.forms, f"Halfway feedback — {e.client.company_name}", SURVEY_QUESTIONS)
        form_id, sent = form.id, as_of
        e.update(rt, {"survey_form_id": form_id, "survey_sent_date": as_of.isoformat(), "survey_status": "sent"})
    else:
        form = forms.get_form(rt.clients.forms, form_id)
    closes = sent + timedelta(hours=SURVEY_WAIT.timeout_hours)

    def mail(n: int) -> None:
        send(rt, e, "email/feedback_survey.html.j2", f"halfway-survey-{n}", form_url=form.responder_uri,
             reminder=n > 0, closes_on=closes.isoformat())

    mail(0)
    outcome, response = collect_form(rt, as_of, form_id, sent, SURVEY_WAIT, mail)
    if outcome == "pending":
        return PENDING
    if outcome == "expired":
        e.update(rt, {"survey_status": "expired"})
        note(rt, e, "Halfway feedback survey closed without an answer.", "halfway-survey-expired", as_of)
        return DONE
    answers = answers_by_key(form, response, SURVEY_QUESTIONS)
    score = int(float(answers.get("satisfaction") or 0))
    scores = e.csat_scores() + ([score] if 1 <= score <= 5 else [])
    e.update(rt, {"csat_scores": ";".join(map(str, scores)), "csat_latest": score,
                  "feedback_areas_to_improve": answers.get("improve", ""), "survey_status": "answered"})
    note(rt, e, f"<b>Halfway feedback</b><br>Satisfaction: {score}/5<br>Experience: {answers.get('experience', '')}"
         f"<br>Areas to improve: {answers.get('improve', '')}", "halfway-feedback", as_of)
    adjust(rt, e, as_of, score)
    if rt.settings.engagement.is_at_risk(score):
        run_retention(rt, e, as_of, "retention_offer:value_added")
    return DONE


def adjust(rt: Runtime, e: Engagement, as_of: date, score: int) -> None:
    """SOP-A 4.3: the account manager decides (typed form in the Prefect UI); applied to Asana, noted in HubSpot."""
    wait = rt.rules.approvals.get("feedback_adjustments", ADJUSTMENTS_WAIT)
    decision = ask_staff(rt, FeedbackAdjustments, wait, what="Adjustments after feedback", approver=e.manager,
                         client_name=e.client.company_name, domain=e.domain)
    if decision is None:
        note(rt, e, "No adjustment decided after the halfway feedback (no answer in time).", "halfway-adjustments",
             as_of)
        return
    gid = e.get("asana_project_gid")
    applied = []
    if gid and decision.shift_due_days:
        moved = engagement.shift_open_tasks(rt.clients.asana, gid, decision.shift_due_days)
        applied.append(f"{moved} open tasks moved by {decision.shift_due_days} days")
    for name in filter(None, (n.strip() for n in decision.add_deliverables.splitlines())):
        if gid:
            start = e.day("service_start_date") or as_of
            weeks = int(float(e.get("project_weeks") or 1))
            engagement.add_deliverable(rt.clients.asana, gid, name, e.get("specialist_email"),
                                       max(as_of, start + timedelta(weeks=weeks)) - timedelta(days=1))
            applied.append(f"deliverable added: {name}")
    for name in filter(None, (n.strip() for n in decision.drop_deliverables.splitlines())):
        if gid and engagement.drop_deliverable(rt.clients.asana, gid, name):
            applied.append(f"deliverable dropped: {name}")
    note(rt, e, f"<b>Adjustments after the halfway feedback</b> (CSAT {score}/5)<br>"
         + ("<br>".join(applied) or "no changes") + (f"<br>Notes: {decision.notes}" if decision.notes else ""),
         "halfway-adjustments", as_of)


@flow(name="halfway-feedback", flow_run_name="halfway-feedback {client_domain} {as_of}", log_prints=True)
def halfway_feedback(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 4.2-4.3 / B4.2: the feedback survey, the CSAT, and the adjustments it leads to."""
    rt = current_runtime()
    return run_halfway_feedback(rt, load_engagement(rt, client_domain), as_of, key)


# --------------------------------------------------------------------------------- monthly report


def meetings_held(e: Engagement, since: date, until: date) -> list[str]:
    """Check-ins done in (since, until], from the engagement's record of done actions."""
    held = []
    for k in sorted(e.done_keys()):
        kind, _, slot = k.partition(":")
        if kind in (ActionKind.CHECK_IN, ActionKind.POST_PROJECT_CHECK_IN):
            try:
                day = date.fromisoformat(slot)
            except ValueError:
                continue
            if since < day <= until:
                held.append(f"{'Check-in' if kind == ActionKind.CHECK_IN else 'Periodic check-in'} {day.isoformat()}")
    return held


def run_monthly_report(rt: Runtime, e: Engagement, as_of: date, key: str | None = None) -> str:
    """SOP-B 4.1: a report Doc in Drive from Asana progress and the meetings held; emailed and posted."""
    key = key or f"monthly_report:{as_of:%Y-%m}"
    period = key.split(":", 1)[1]
    p = progress(rt, e, as_of)
    held = meetings_held(e, as_of - timedelta(days=31), as_of)
    doc = rt.renderer.render("docs/monthly_report.html.j2", client=e.client, period=period, progress=p,
                             meetings=held, account_manager=e.manager, date=as_of.isoformat())
    folder = e.get("drive_folder_id")
    file = documents.store_document(rt.clients.drive, folder, f"Monthly report {period} — {e.client.company_name}",
                                    doc.body, e.domain, f"monthly-report-{period}")
    send(rt, e, "email/monthly_report.html.j2", f"monthly-report-{period}", period=period, progress=p,
         meetings=held, report_url=file.web_view_link)
    post(rt, e, f"Monthly report {period}: {p.percent_done}% of the plan done, {len(p.overdue)} overdue, "
         f"{len(held)} check-in(s). {file.web_view_link}", key)
    return DONE


@flow(name="monthly-report", flow_run_name="monthly-report {client_domain} {as_of}", log_prints=True)
def monthly_report(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-B 4.1: the monthly report."""
    rt = current_runtime()
    return run_monthly_report(rt, load_engagement(rt, client_domain), as_of, key)


# ------------------------------------------------------------------------------- quarterly review


def next_working_day(rt: Runtime, day: date) -> date:
    day += timedelta(days=1)
    while day.strftime("%a").lower() not in rt.profile.working_hours.days:
        day += timedelta(days=1)
    return day


def run_quarterly_review(rt: Runtime, e: Engagement, as_of: date, key: str | None = None) -> str:
    """SOP-B 4.3: a review meeting (next working day) and its outline: progress, concerns, opportunities."""
    key = key or f"quarterly_review:{as_of.isoformat()}"
    quarter = key.split(":", 1)[1]
    p = progress(rt, e, as_of)
    when_dt = local_at(rt, next_working_day(rt, as_of), rt.settings.engagement.check_ins.local_time)
    concerns = [f"Overdue: {t}" for t in p.overdue]
    if e.get("feedback_areas_to_improve"):
        concerns.append(f"Client feedback: {e.get('feedback_areas_to_improve')}")
    scores = e.csat_scores()
    if scores and not rt.settings.engagement.is_satisfied(scores[-1]):
        concerns.append(f"Satisfaction {scores[-1]}/5 is below {rt.settings.engagement.csat.satisfied_at}")
    requested = set((e.get("requested_services") or "").split(";"))
    opportunities = sorted({s.value.replace("_", " ") for pkg in rt.rules.service_packages for s in pkg.services
                            if s.value not in requested})
    done = e.done_keys()
    outline = rt.renderer.render("docs/qbr_outline.html.j2", client=e.client, quarter=quarter,
                                 when=when_dt.strftime("%A %d %B %Y, %H:%M %Z"), account_manager=e.manager,
                                 progress=p, concerns=concerns, opportunities=opportunities,
                                 meetings=sum(k.startswith("check_in:") for k in done),
                                 reports=sum(k.startswith("monthly_report:") for k in done))
    file = documents.store_document(rt.clients.drive, e.get("drive_folder_id"),
                                    f"Quarterly business review {quarter} — {e.client.company_name}", outline.body,
                                    e.domain, f"qbr-{quarter}")
    topic = f"Quarterly business review {quarter} — {e.client.company_name}"
    join_url, when = hold_meeting(rt, e, key, topic, when_dt, 60,
                                  f"Outline: {file.web_view_link}")
    send(rt, e, "email/quarterly_review.html.j2", f"qbr-{quarter}", quarter=quarter, when=when, join_url=join_url,
         outline_url=file.web_view_link)
    return DONE


@flow(name="quarterly-review", flow_run_name="quarterly-review {client_domain} {as_of}", log_prints=True)
def quarterly_review(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-B 4.3: the quarterly business review."""
    rt = current_runtime()
    return run_quarterly_review(rt, load_engagement(rt, client_domain), as_of, key)


# ---------------------------------------------------------------------------- complete onboarding


def run_complete_onboarding(rt: Runtime, e: Engagement, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.1: once the plan's deliverables are done, hand over to the account manager; ongoing support."""
    if e.get("onboarding_completed_date"):
        return DONE
    gid = e.get("asana_project_gid")
    open_ = [t.name for t in engagement.deliverable_tasks(rt.clients.asana, gid) if not t.completed] if gid else []
    if open_:
        post(rt, e, f"Onboarding completion is waiting for {len(open_)} deliverable(s): {', '.join(open_[:5])}",
             f"complete-waiting:{as_of.isoformat()}")
        return PENDING
    hub, manager = rt.clients.hubspot, str(e.manager.email)
    owner = crm.owner_ids(hub, [manager]).get(manager)
    if owner:
        crm.set_owner(hub, owner, {"companies": e.id, **({"contacts": e.contact_id} if e.contact_id else {})})
    if gid:
        engagement.follow_tasks(rt.clients.asana, gid, manager)
    post(rt, e, f"Onboarding of {e.client.company_name} is complete: every initial deliverable is done. "
         f"{e.manager.name} (account manager) looks after ongoing support from today; "
         f"thank you {e.specialist.name}!", "onboarding-complete")
    e.update(rt, {"onboarding_status": "ongoing_support", "onboarding_completed_date": as_of.isoformat()})
    note(rt, e, f"Onboarding complete on {as_of.isoformat()}; handed from {e.specialist.name} to "
         f"{e.manager.name} (ongoing support).", "onboarding-complete", as_of)
    return DONE


@flow(name="complete-onboarding", flow_run_name="complete-onboarding {client_domain} {as_of}", log_prints=True)
def complete_onboarding(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.1: completion of onboarding and the hand-over to ongoing support."""
    rt = current_runtime()
    return run_complete_onboarding(rt, load_engagement(rt, client_domain), as_of, key)


# ---------------------------------------------------------------------------- testimonial request


def run_request_testimonial(rt: Runtime, e: Engagement, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.2: satisfied clients (CSAT >= csat.satisfied_at) are asked; the answer is recorded."""
    from tasks import forms

    if e.get("testimonial_status") in ("received", "no_response", "not_eligible"):
        return DONE
    if not e.get("onboarding_completed_date"):
        return PENDING
    scores = e.csat_scores()
    if not e.get("testimonial_form_id") and (not scores or not rt.settings.engagement.is_satisfied(scores[-1])):
        e.update(rt, {"testimonial_status": "not_eligible"})
        return DONE
    form_id, sent = e.get("testimonial_form_id"), e.day("testimonial_sent_date")
    if not form_id:
        form = engagement.create_form(rt.clients.forms, f"Testimonial — {e.client.company_name}",
                                      TESTIMONIAL_QUESTIONS)
        form_id, sent = form.id, as_of
        e.update(rt, {"testimonial_form_id": form_id, "testimonial_sent_date": as_of.isoformat(),
                      "testimonial_status": "requested"})
    else:
        form = forms.get_form(rt.clients.forms, form_id)

    def mail(n: int) -> None:
        send(rt, e, "email/testimonial_request.html.j2", f"testimonial-request-{n}", form_url=form.responder_uri,
             reminder=n > 0)

    mail(0)
    outcome, response = collect_form(rt, as_of, form_id, sent, TESTIMONIAL_WAIT, mail)
    if outcome == "pending":
        return PENDING
    if outcome == "expired":
        e.update(rt, {"testimonial_status": "no_response"})
        return DONE
    answers = answers_by_key(form, response, TESTIMONIAL_QUESTIONS)
    e.update(rt, {"testimonial_status": "received", "testimonial_text": answers.get("testimonial", "")})
    note(rt, e, f"<b>Testimonial</b> (publish: {answers.get('permission', 'No')})<br>{answers.get('testimonial', '')}",
         "testimonial", as_of)
    return DONE


@flow(name="request-testimonial", flow_run_name="request-testimonial {client_domain} {as_of}", log_prints=True)
def request_testimonial(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.2: the testimonial or review request."""
    rt = current_runtime()
    return run_request_testimonial(rt, load_engagement(rt, client_domain), as_of, key)


# ------------------------------------------------------------------------------------- retention


def run_retention(rt: Runtime, e: Engagement, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.4 offers (loyalty, long-term discount, value-added for at-risk CSAT) and the 90-day check.

    Without ``key``: every retention action of the client's timeline due by ``as_of`` and not done,
    plus the value-added offer when the latest CSAT is below ``csat.at_risk_below``."""
    if key is None:
        done = e.done_keys()
        keys = [a.key for a in timeline_for(rt, e) if a.kind in (ActionKind.RETENTION_OFFER, ActionKind.RETENTION_CHECK)
                and a.due <= as_of and a.key not in done]
        scores = e.csat_scores()
        if scores and rt.settings.engagement.is_at_risk(scores[-1]):
            keys.append("retention_offer:value_added")
        for k in keys:
            run_retention(rt, e, as_of, k)
        return DONE
    kind, _, slot = key.partition(":")
    churned = e.day("churned_date")
    if kind == ActionKind.RETENTION_CHECK:
        start = e.day("service_start_date") or as_of
        day_90 = start + timedelta(days=rt.settings.engagement.retention.check_after_days)
        status = "churned" if churned and churned < day_90 else "retained"
        e.update(rt, {"retention_90d_status": status})
        note(rt, e, f"First-{slot} retention check: {status}.", key.replace(":", "-"), as_of)
        return DONE
    if churned or e.get("onboarding_status") == "churned":
        return SKIPPED
    title, text = OFFERS[slot]
    send(rt, e, "email/retention_offer.html.j2", f"retention-{slot}", offer={"title": title, "text": text})
    note(rt, e, f"<b>Retention offer sent</b> ({slot}): {title}.", f"retention-{slot}", as_of)
    return DONE


@flow(name="retention", flow_run_name="retention {client_domain} {as_of}", log_prints=True)
def retention(client_domain: str, as_of: date, key: str | None = None) -> str:
    """SOP-A 5.4 / B KPI: retention offers by the rules in config/engagement.yaml, and the 90-day check."""
    rt = current_runtime()
    return run_retention(rt, load_engagement(rt, client_domain), as_of, key)


# the flow that runs each kind of timeline action
FLOW_FOR = {
    ActionKind.CHECK_IN: check_in,
    ActionKind.POST_PROJECT_CHECK_IN: check_in,
    ActionKind.HALFWAY_FEEDBACK: halfway_feedback,
    ActionKind.MONTHLY_REPORT: monthly_report,
    ActionKind.QUARTERLY_REVIEW: quarterly_review,
    ActionKind.COMPLETE_ONBOARDING: complete_onboarding,
    ActionKind.REQUEST_TESTIMONIAL: request_testimonial,
    ActionKind.RETENTION_OFFER: retention,
    ActionKind.RETENTION_CHECK: retention,
}
