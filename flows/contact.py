"""Phase 1 — initial contact and qualification (SOP-A 1, 2; SOP-B 1)."""

from __future__ import annotations

from datetime import datetime, timedelta

from prefect import flow, get_run_logger

from onboard.approvals import DiscoveryNotes, QualificationDecision
from onboard.models import NewClient
from onboard.outcomes import Lead, Outcome
from onboard.profile import Person, Role
from onboard.rules import Verdict
from onboard.runtime import Runtime
from onboard.scheduling import next_free_slot
from tasks import chat, crm, documents, email, forms, meetings

from .cancel import cancel_future_meeting
from .pipeline import onboarding_pipeline
from .steps import concurrently, sop_step
from .waits import ask_staff, remind, wait_for_client


@flow(name="phase-1-initial-contact", flow_run_name="phase 1 — {client.company_name}", validate_parameters=False)
def initial_contact(client: NewClient, rt: Runtime) -> tuple[Outcome | None, Lead]:
    """Lead capture, welcome, specialist, discovery call, intake, notes and qualification.

    Returns (None, lead) when the client qualifies, or (DECLINED, lead) after the decline path."""
    lead, pipeline = capture_lead(client, rt)
    lead = assign_specialist(client, rt, lead, pipeline)
    specialist = rt.person(Role.ONBOARDING_SPECIALIST, lead.specialist_email)
    welcome(client, rt, specialist)
    lead, form = concurrently(lambda: schedule_discovery_call(client, rt, lead, specialist),
                              lambda: send_intake_form(client, rt, lead, specialist))
    lead = collect_intake(client, rt, lead, specialist, form)
    lead = record_discovery_notes(client, rt, lead, specialist)
    return qualify(client, rt, lead), lead


@sop_step("B1.1", "A2.2")
def capture_lead(client: NewClient, rt: Runtime):
    """SOP-B 1.1 / A2.2: company, contact and deal in HubSpot, associated; the deal at the first stage."""
    hub = rt.clients.hubspot
    _, (pipeline, stage_ids) = concurrently(lambda: crm.prepare_properties(hub), lambda: onboarding_pipeline(rt))
    company, contact = concurrently(lambda: crm.upsert_company(hub, client), lambda: crm.upsert_contact(hub, client))
    deal, _ = concurrently(
        lambda: crm.upsert_deal(hub, client, pipeline.id, stage_ids["lead"], contact.id, company.id),
        lambda: crm.associate(hub, "contacts", contact.id, "companies", company.id))
    rt.journal.record("B1.1", "Lead captured in HubSpot", f"source: {client.source_of_lead.value}",
                      company=company.id, contact=contact.id, deal=deal.id)
    lead = Lead(company_id=company.id, contact_id=contact.id, deal_id=deal.id, pipeline_id=pipeline.id,
                stage_ids=stage_ids, owner_id=deal.properties.get("hubspot_owner_id") or "", specialist_email="")
    return lead, pipeline


@sop_step("A1.3")
def assign_specialist(client: NewClient, rt: Runtime, lead: Lead, pipeline) -> Lead:
    """The least-loaded onboarding specialist (by open onboardings) owns the client's records."""
    hub = rt.clients.hubspot
    specialists = [str(p.email) for p in rt.profile.people(Role.ONBOARDING_SPECIALIST)]
    owners, load = concurrently(lambda: crm.owner_ids(hub, specialists),
                                lambda: crm.open_onboardings_by_owner(hub, pipeline))
    if lead.owner_id in owners.values():  # a re-run keeps the specialist already assigned
        email_of = next(e for e, oid in owners.items() if oid == lead.owner_id)
    else:
        email_of = min(owners, key=lambda e: (load.get(owners[e], 0), specialists.index(e)))
    crm.set_owner(hub, owners[email_of], lead.ids(), company_properties={"specialist_email": email_of})
    rt.journal.record("A1.3", "Onboarding specialist assigned", email_of)
    return lead.model_copy(update={"owner_id": owners[email_of], "specialist_email": email_of})


@sop_step("A1.1")
def welcome(client: NewClient, rt: Runtime, specialist: Person) -> None:
    """SOP-A 1.1: a personalised welcome email."""
    services = [s.value.replace("_", " ") for s in client.requested_services]
    mail = rt.renderer.render("email/welcome.html.j2", client=client, specialist=specialist, services=services)
    email.send_email(rt.clients.gmail, str(client.email), mail, key="welcome", domain=client.domain,
                     sender=str(rt.profile.company.email))
    rt.journal.record("A1.1", "Welcome email sent", mail.subject)


def meeting_slot(rt: Runtime, calendar_id: str, key: tuple[str, ...], minutes: int,
                 also_busy: tuple[str, ...] = ()) -> datetime:
    """The time an earlier run booked for ``key`` (in ``calendar_id``), else the next slot in working
    hours that is free in that calendar and in ``also_busy`` (the other team members attending)."""
    booked = meetings.existing_event(rt.clients.calendar, calendar_id, key)
    if booked is not None:
        return datetime.fromisoformat(booked.start)
    now = rt.now()
    calendars = (calendar_id, *also_busy)
    busy = [b for found in concurrently(*(lambda c=c: meetings.busy_times(rt.clients.calendar, c, now, 30)
                                          for c in calendars)) for b in found]
    earliest = (now.astimezone(rt.profile.tz) + timedelta(days=rt.rules.meetings.earliest_days_ahead)).date()
    return next_free_slot(now, minutes, busy, rt.profile.working_hours, rt.profile.tz, earliest_day=earliest)


@sop_step("A1.2")
def schedule_discovery_call(client: NewClient, rt: Runtime, lead: Lead, specialist: Person) -> Lead:
    """SOP-A 1.2: a Zoom meeting and Calendar invite for client and specialist, then the invitation."""
    minutes = rt.rules.meetings.discovery_minutes
    key = (client.domain, "discovery")
    when = meeting_slot(rt, str(specialist.email), key, minutes)
    topic = f"Discovery call — {client.company_name} × {rt.profile.company.name}"
    zoom = meetings.schedule_zoom(rt.clients.zoom, str(specialist.email), topic, when, minutes, rt.profile.timezone,
                                  "Your needs, pain points and expectations")
    local = when.astimezone(rt.profile.tz).strftime("%A %d %B %Y, %H:%M %Z")
    mail = rt.renderer.render("email/discovery_invite.html.j2", client=client, specialist=specialist, when=local,
                              minutes=minutes, join_url=zoom.join_url)
    concurrently(
        lambda: meetings.put_calendar_event(rt.clients.calendar, str(specialist.email), key, topic,
                                            f"Join Zoom: {zoom.join_url}", when, minutes, rt.profile.timezone,
                                            [str(client.email), str(specialist.email)], location=zoom.join_url),
        lambda: email.send_email(rt.clients.gmail, str(client.email), mail, key="discovery-invite",
                                 domain=client.domain, sender=str(specialist.email)))
    rt.journal.record("A1.2", "Discovery call scheduled", local, zoom=zoom.join_url)
    return lead.model_copy(update={"discovery_meeting_id": zoom.id, "discovery_at": when})


def request_intake(client: NewClient, rt: Runtime, specialist: Person, form, reminder: int = 0) -> None:
    """The email asking the client to fill in the intake form (``reminder`` > 0: a reminder)."""
    mail = rt.renderer.render("email/intake_request.html.j2", client=client, specialist=specialist,
                              form_title=form.title, form_url=form.responder_uri, reminder=bool(reminder))
    email.send_email(rt.clients.gmail, str(client.email), mail, key=f"intake-request-{reminder}",
                     domain=client.domain, sender=str(specialist.email))


@sop_step("A2.1")
def send_intake_form(client: NewClient, rt: Runtime, lead: Lead, specialist: Person):
    """SOP-A 2.1: the intake form (made once; its id on the company), emailed to the client."""
    hub = rt.clients.hubspot
    spec = rt.template_data("intake_questions.yaml")
    known = crm.read_company(hub, lead.company_id)
    if known.get("intake_form_id"):
        form = forms.get_form(rt.clients.forms, known["intake_form_id"])
    else:
        title = spec["title"].replace("{{ company }}", rt.profile.company.name) + f" — {client.company_name}"
        form = forms.create_intake_form(rt.clients.forms, title, spec["questions"])
        crm.update_company(hub, lead.company_id, {"intake_form_id": form.id})
    request_intake(client, rt, specialist, form)
    rt.journal.record("A2.1", "Intake form sent", form.title, form=form.responder_uri)
    return form


@sop_step("A2.1", "B1.2")
def collect_intake(client: NewClient, rt: Runtime, lead: Lead, specialist: Person, form) -> Lead:
    """SOP-A 2.1 / B1.2: wait (with reminders) for the intake answers -> HubSpot."""
    hub, wait = rt.clients.hubspot, rt.rules.wait("intake_form")
    spec = rt.template_data("intake_questions.yaml")
    response = wait_for_client(rt, lambda: next(iter(forms.read_responses(rt.clients.forms, form.id)), None),
                               wait, lambda n: request_intake(client, rt, specialist, form, n), "intake form")
    if response is None:
        escalate(client, rt, lead, "the intake form was not answered", wait.on_timeout)
        rt.journal.record("B1.2", "Intake form not answered", "escalated; continuing with the details staff entered",
                          status="timed_out")
        return lead
    by_question = {qid: title for title, qid in form.question_ids.items()}
    keys = {q["title"]: q["key"] for q in spec["questions"]}
    answers = {keys[by_question[qid]]: "; ".join(vals) for qid, vals in response.answers.items()
               if by_question.get(qid) in keys}
    crm.update_company(hub, lead.company_id, answers)
    rt.journal.record("B1.2", "Intake answers stored in HubSpot", f"{len(answers)} answers")
    return lead.model_copy(update={"intake_answers": answers})


def escalate(client: NewClient, rt: Runtime, lead: Lead, problem: str, path: str) -> None:
    """Tell the account manager (Slack DM and email) that a wait ran out and what the run does next."""
    manager = rt.person(Role.ACCOUNT_MANAGER)
    remind(rt, manager, f"Escalation: {problem}", client.company_name, client.domain, "now", path, 0)


@sop_step("A2.3")
def record_discovery_notes(client: NewClient, rt: Runtime, lead: Lead, specialist: Person) -> Lead:
    """SOP-A 2.3: the specialist's notes -> HubSpot note (contact, company, deal) and a Doc in Drive."""
    wait = rt.rules.wait("discovery_notes")
    notes = ask_staff(rt, DiscoveryNotes, wait, what="Discovery call notes", approver=specialist,
                      client_name=client.company_name, domain=client.domain)
    if notes is None:  # escalate: the account manager gets one more period to write them
        escalate(client, rt, lead, "discovery notes are missing", "ask the account manager")
        notes = ask_staff(rt, DiscoveryNotes, wait, what="Discovery call notes (escalated)",
                          approver=rt.person(Role.ACCOUNT_MANAGER), client_name=client.company_name,
                          domain=client.domain)
    folders = documents.ensure_client_folder(rt.clients.drive, client.domain, client.company_name)
    lead = lead.model_copy(update={"folder_ids": {k: f.id for k, f in folders.items()}})

    def record_folder() -> None:
        crm.update_company(rt.clients.hubspot, lead.company_id, {"drive_folder_id": folders["root"].id})

    if notes is None:
        record_folder()
        rt.journal.record("A2.3", "Discovery notes", "no notes after escalation", status="timed_out")
        return lead
    body = (f"<b>Discovery call notes</b><br>Expectations: {notes.expectations}<br>"
            f"Deliverables: {notes.deliverables}<br>Deadlines: {notes.deadlines}<br>Pain points: {notes.pain_points}")
    doc = rt.renderer.render("docs/discovery_notes.html.j2", client=client, specialist=specialist, notes=notes,
                             date=rt.now().date().isoformat())
    _, _, file = concurrently(
        record_folder,
        lambda: crm.add_note(rt.clients.hubspot, body, rt.now(), lead.owner_id, lead.ids(),
                             key=f"{client.domain}:discovery-notes"),
        lambda: documents.store_document(rt.clients.drive, folders["Meeting notes"].id,
                                         f"Discovery call notes — {client.company_name}", doc.body, client.domain,
                                         "discovery-notes"))
    rt.journal.record("A2.3", "Discovery notes recorded", "HubSpot note + Drive doc", doc=file.web_view_link)
    return lead


@sop_step("B1.3")
def qualify(client: NewClient, rt: Runtime, lead: Lead) -> Outcome | None:
    """SOP-B 1.3: rules decide; borderline cases go to staff; not qualified -> the decline path."""
    log = get_run_logger()
    result = rt.rules.qualify(client)
    verdict, reasons = result.verdict, list(result.reasons)
    if verdict is Verdict.BORDERLINE:
        wait = rt.rules.wait("qualification")
        answer = ask_staff(rt, QualificationDecision, wait, what="Qualification decision",
                           approver=rt.person(Role.SALES), client_name=client.company_name, domain=client.domain)
        if answer is None:
            verdict, reasons = Verdict.NOT_QUALIFIED, reasons + [f"no staff decision in time ({wait.on_timeout})"]
        else:
            verdict = Verdict.QUALIFIED if answer.decision == "qualify" else Verdict.NOT_QUALIFIED
            reasons.append(f"staff: {answer.reason}")

    def record() -> None:
        crm.update_company(rt.clients.hubspot, lead.company_id,
                           {"qualification": f"{verdict.value}: {'; '.join(reasons)}"})

    rt.journal.record("B1.3", "Qualification check", f"{verdict.value}: {'; '.join(reasons)}")
    log.info("qualification: %s (%s)", verdict.value, "; ".join(reasons))
    if verdict is Verdict.QUALIFIED:
        concurrently(record, lambda: crm.move_deal(rt.clients.hubspot, lead.deal_id, lead.pipeline_id,
                                                   lead.stage_ids["qualified"]))
        return None
    record()
    decline(client, rt, lead, reasons)
    return Outcome.DECLINED


@sop_step("B1.3")
def decline(client: NewClient, rt: Runtime, lead: Lead, reasons: list[str]) -> None:
    """The polite no (with a referral when configured), deal closed-lost, and what was made undone."""
    hub = rt.clients.hubspot
    mail = rt.renderer.render("email/decline.html.j2", client=client, referral=rt.rules.qualification.referral)
    email.send_email(rt.clients.gmail, str(client.email), mail, key="decline", domain=client.domain)
    crm.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["lost"])
    crm.add_note(hub, "Declined: " + "; ".join(reasons), rt.now(), lead.owner_id, lead.ids(),
                 key=f"{client.domain}:declined")
    # Compensation: a call still in the future is cancelled; the client's folder goes to the bin.
    specialist = lead.specialist_email
    cancel_future_meeting(rt, specialist, (client.domain, "discovery"))
    if lead.folder_ids.get("root"):
        documents.trash(rt.clients.drive, lead.folder_ids["root"])
    crm.update_company(hub, lead.company_id, {"onboarding_status": "declined"})
    chat.remind_on_slack(rt.clients.slack, specialist, f"{client.company_name} was declined: {'; '.join(reasons)}",
                         key=f"{client.domain}:declined")
    rt.journal.record("B1.3", "Declined politely", "deal closed-lost; discovery call cancelled; folder trashed")
