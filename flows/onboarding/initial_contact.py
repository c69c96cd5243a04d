"""Phase 1 — initial contact and qualification (SOP-A 1, 2; SOP-B 1)."""

from __future__ import annotations

import html
from datetime import timedelta

from prefect import flow, get_run_logger

from flows import email_marketing
from flows.journal import record
from flows.onboarding.deal_pipeline import onboarding_pipeline
from flows.onboarding.meetings import cancel_future_meeting, meeting_slot
from flows.onboarding.phase import phase_of
from flows.people.approvals import DiscoveryNotes, QualificationDecision
from flows.people.waits import ClientReminder, answers_by_key, ask_staff, escalate, wait_for_client
from flows.preflight import AccountsNotReady
from flows.steps import concurrently, sop_step
from services import Services
from sop.client import NewClient
from sop.outcomes import Lead, Outcome
from sop.profile import MarketingStage, Person, Role
from sop.rules import Verdict
from tasks import calendar, forms, gmail, hubspot, slack, storage, zoom


@flow(name="phase-1-initial-contact", flow_run_name="phase 1 — {client.company_name}")
def initial_contact(client: NewClient) -> tuple[Outcome | None, Lead]:
    """Lead capture, welcome, specialist, discovery call, intake, notes and qualification.

    Returns (None, lead) when the client qualifies, or (DECLINED, lead) after the decline path."""
    with phase_of(client, "1 — initial contact") as svc:
        return make_contact(client, svc)


def make_contact(client: NewClient, svc: Services) -> tuple[Outcome | None, Lead]:
    lead, pipeline = capture_lead(client, svc)
    lead = assign_specialist(client, svc, lead, pipeline)
    if svc.rules.qualify(client).verdict is Verdict.NOT_QUALIFIED:
        # a hard rule fails on what was entered (industry, budget): declined now, before a welcome,
        # a discovery call or an intake form (borderline cases still go to staff after the call)
        return qualify(client, svc, lead), lead
    specialist = svc.person(Role.ONBOARDING_SPECIALIST, lead.specialist_email)
    welcome(client, svc, specialist)
    lead, form = concurrently(lambda: schedule_discovery_call(client, svc, lead, specialist),
                              lambda: send_intake_form(client, svc, lead, specialist))
    lead = collect_intake(client, svc, lead, specialist, form)
    lead = record_discovery_notes(client, svc, lead, specialist)
    return qualify(client, svc, lead), lead


@sop_step("B1.1", "A2.2")
def capture_lead(client: NewClient, svc: Services):
    """SOP-B 1.1 / A2.2: company, contact and deal in HubSpot, associated; the deal at the first stage."""
    hub = svc.clients.hubspot
    _, (pipeline, stage_ids) = concurrently(lambda: hubspot.prepare_properties(hub), lambda: onboarding_pipeline(svc))
    # the company first: HubSpot then associates the new contact with it instead of making a second company
    # for the contact's email domain ("Create and associate companies with contacts", on by default)
    company = hubspot.upsert_company(hub, client)
    contact = hubspot.upsert_contact(hub, client)
    deal, _ = concurrently(
        lambda: hubspot.upsert_deal(hub, client, pipeline.id, stage_ids["lead"], contact.id, company.id),
        lambda: hubspot.associate(hub, "contacts", contact.id, "companies", company.id))
    record("B1.1", "Lead captured in HubSpot", f"source: {client.source_of_lead.value}",
                      company=company.id, contact=contact.id, deal=deal.id)
    email_marketing.at_stage(svc, MarketingStage.LEAD, "B1.1", str(client.email), client.contact_person,
                             client.source_of_lead.value)
    lead = Lead(company_id=company.id, contact_id=contact.id, deal_id=deal.id, pipeline_id=pipeline.id,
                stage_ids=stage_ids, owner_id=deal.properties.get("hubspot_owner_id") or "", specialist_email="")
    if client.notes.strip():  # what staff typed when they entered the client, on the CRM record for everyone
        hubspot.add_note(hub, f"<b>Notes at entry</b><br>{html.escape(client.notes).replace(chr(10), '<br>')}",
                         svc.now(), None, lead.ids(), key=f"{client.domain}:entry-notes")
    return lead, pipeline


@sop_step("A1.3")
def assign_specialist(client: NewClient, svc: Services, lead: Lead, pipeline) -> Lead:
    """The least-loaded onboarding specialist (by open onboardings) owns the client's records."""
    hub = svc.clients.hubspot
    specialists = [str(p.email) for p in svc.profile.people(Role.ONBOARDING_SPECIALIST)]
    owners, load, known = concurrently(lambda: hubspot.owner_ids(hub, specialists),
                                       lambda: hubspot.open_onboardings_by_owner(hub, pipeline),
                                       lambda: hubspot.read_company(hub, lead.company_id))
    # a re-run, a resumed or a retried run keeps the specialist already assigned (read from the CRM:
    # the deal a resumed run remembers is the one it created, from before the assignment)
    if known.get("specialist_email") in owners:
        email_of = known["specialist_email"]
    elif lead.owner_id in owners.values():
        email_of = next(e for e, oid in owners.items() if oid == lead.owner_id)
    elif owners:
        email_of = min(owners, key=lambda e: (load.get(owners[e], 0), specialists.index(e)))
    else:  # the preflight's `hubspot owner` lines stop a run before this; said plainly if one gets here
        raise AccountsNotReady(f"no onboarding specialist ({', '.join(specialists)}) is a HubSpot user, so none "
                               "can own the client's records: invite them in HubSpot (Settings → Users & Teams)")
    hubspot.set_owner(hub, owners[email_of], lead.ids(), company_properties={"specialist_email": email_of})
    record("A1.3", "Onboarding specialist assigned", email_of)
    return lead.model_copy(update={"owner_id": owners[email_of], "specialist_email": email_of})


@sop_step("A1.1")
def welcome(client: NewClient, svc: Services, specialist: Person) -> None:
    """SOP-A 1.1: a personalised welcome email."""
    wanted = [s.value.replace("_", " ") for s in client.requested_services]
    mail = svc.renderer.render("email/welcome.html.j2", client=client, specialist=specialist, services=wanted)
    gmail.send_email(svc.clients.gmail, str(client.email), mail, key="welcome", domain=client.domain,
                     sender=str(svc.profile.company.email))
    record("A1.1", "Welcome email sent", mail.subject)


@sop_step("A1.2")
def schedule_discovery_call(client: NewClient, svc: Services, lead: Lead, specialist: Person) -> Lead:
    """SOP-A 1.2: a Zoom meeting and Calendar invite for client and specialist, then the invitation."""
    minutes = svc.rules.meetings.discovery_minutes
    key = (client.domain, "discovery")
    when = meeting_slot(svc, str(specialist.email), key, minutes)
    topic = f"Discovery call — {client.company_name} × {svc.profile.company.name}"
    meeting = zoom.schedule_meeting(svc.clients.zoom, str(specialist.email), topic, when, minutes, svc.profile.timezone,
                                  "Your needs, pain points and expectations")
    local = when.astimezone(svc.profile.tz).strftime("%A %d %B %Y, %H:%M %Z")
    mail = svc.renderer.render("email/discovery_invite.html.j2", client=client, specialist=specialist, when=local,
                              minutes=minutes, join_url=meeting.join_url)
    concurrently(
        lambda: calendar.put_event(svc.clients.calendar, str(specialist.email), key, topic,
                                            f"Join Zoom: {meeting.join_url}", when, minutes, svc.profile.timezone,
                                            [str(client.email), str(specialist.email)], location=meeting.join_url),
        lambda: gmail.send_email(svc.clients.gmail, str(client.email), mail, key="discovery-invite",
                                 domain=client.domain, sender=str(specialist.email)))
    record("A1.2", "Discovery call scheduled", local, zoom=meeting.join_url)
    return lead.model_copy(update={"discovery_meeting_id": meeting.id, "discovery_at": when})


def request_intake(client: NewClient, svc: Services, specialist: Person, form) -> None:
    """The email asking the client to fill in the intake form (its reminders: ``collect_intake``)."""
    mail = svc.renderer.render("email/intake_request.html.j2", client=client, specialist=specialist,
                              form_title=form.title, form_url=form.responder_uri, reminder=False)
    gmail.send_email(svc.clients.gmail, str(client.email), mail, key="intake-request-0",
                     domain=client.domain, sender=str(specialist.email))


@sop_step("A2.1")
def send_intake_form(client: NewClient, svc: Services, lead: Lead, specialist: Person):
    """SOP-A 2.1: the intake form (made once; its id on the company), emailed to the client."""
    hub, survey = svc.clients.hubspot, svc.surveys.intake
    known = hubspot.read_company(hub, lead.company_id)
    if known.get("intake_form_id"):
        form = forms.get_form(svc.clients.forms, known["intake_form_id"])
    else:
        title = survey.form_title(svc.profile.company.name, client.company_name)
        form = forms.create_intake_form(svc.clients.forms, title, survey.question_specs())
        hubspot.update_company(hub, lead.company_id, {"intake_form_id": form.id})
    request_intake(client, svc, specialist, form)
    record("A2.1", "Intake form sent", form.title, form=form.responder_uri)
    return form


@sop_step("A2.1", "B1.2")
def collect_intake(client: NewClient, svc: Services, lead: Lead, specialist: Person, form) -> Lead:
    """SOP-A 2.1 / B1.2: wait (with reminders) for the intake answers -> HubSpot."""
    hub, wait = svc.clients.hubspot, svc.rules.wait("intake_form")
    again = svc.renderer.render("email/intake_request.html.j2", client=client, specialist=specialist,
                                form_title=form.title, form_url=form.responder_uri, reminder=True)
    reminder = ClientReminder(to=str(client.email), sender=str(specialist.email), subject=again.subject,
                              body=again.body, key="intake-request")
    response = wait_for_client(svc, lambda: next(iter(forms.read_responses(svc.clients.forms, form.id)), None),
                               wait, "Intake form",
                               client_name=client.company_name, domain=client.domain, link=form.responder_uri,
                               form_id=form.id, reminder=reminder)
    if response is None:
        escalate(svc, client.company_name, client.domain, "the intake form was not answered", wait.on_timeout)
        record("B1.2", "Intake form not answered", "escalated; continuing with the details staff entered",
                          status="timed_out")
        return lead
    answers = answers_by_key(form, response, svc.surveys.intake.question_specs())
    hubspot.update_company(hub, lead.company_id, answers)
    record("B1.2", "Intake answers stored in HubSpot", f"{len(answers)} answers")
    return lead.model_copy(update={"intake_answers": answers})



@sop_step("A2.3")
def record_discovery_notes(client: NewClient, svc: Services, lead: Lead, specialist: Person) -> Lead:
    """SOP-A 2.3: after the discovery call, the specialist's notes -> HubSpot note (contact, company,
    deal) and a Doc in Drive."""
    wait = svc.rules.wait("discovery_notes")
    minutes = timedelta(minutes=svc.rules.meetings.discovery_minutes)
    call_ends = lead.discovery_at + minutes if lead.discovery_at else None  # asked once the call is over
    asked = {q["key"]: q["title"] for q in svc.surveys.intake.question_specs()}  # the client's answers, by question
    context = {"Contact": f"{client.contact_person}, {client.contact_title} <{client.email}>",
               "Requested services": ", ".join(s.value.replace("_", " ") for s in client.requested_services),
               "Budget": f"{client.budget:,}", **{asked.get(k, k): v for k, v in lead.intake_answers.items()}}
    notes = ask_staff(svc, DiscoveryNotes, wait, what="Discovery call notes", approver=specialist,
                      client_name=client.company_name, domain=client.domain, context=context, not_before=call_ends)
    if notes is None:  # escalate: the account manager gets one more period to write them
        escalate(svc, client.company_name, client.domain, "discovery notes are missing", "ask the account manager")
        notes = ask_staff(svc, DiscoveryNotes, wait, what="Discovery call notes (escalated)",
                          approver=svc.person(Role.ACCOUNT_MANAGER), client_name=client.company_name,
                          domain=client.domain, context=context)
    folders = storage.ensure_client_folder(svc.clients.documents, client.domain, client.company_name)
    lead = lead.model_copy(update={"folder_ids": {k: f.id for k, f in folders.items()}})

    def record_folder() -> None:
        hubspot.update_company(svc.clients.hubspot, lead.company_id, {"drive_folder_id": folders["root"].id})

    if notes is None:
        record_folder()
        record("A2.3", "Discovery notes", "no notes after escalation", status="timed_out")
        return lead
    body = (f"<b>Discovery call notes</b><br>Expectations: {notes.expectations}<br>"
            f"Deliverables: {notes.deliverables}<br>Deadlines: {notes.deadlines}<br>Pain points: {notes.pain_points}")
    doc = svc.renderer.render("docs/discovery_notes.html.j2", client=client, specialist=specialist, notes=notes,
                             date=svc.now().date().isoformat())
    _, _, file = concurrently(
        record_folder,
        lambda: hubspot.add_note(svc.clients.hubspot, body, svc.now(), lead.owner_id, lead.ids(),
                             key=f"{client.domain}:discovery-notes"),
        lambda: storage.store_document(svc.clients.documents, folders["Meeting notes"].id,
                                         f"Discovery call notes — {client.company_name}", doc.body, client.domain,
                                         "discovery-notes"))
    record("A2.3", "Discovery notes recorded", "HubSpot note + Drive doc", doc=file.web_view_link)
    return lead


@sop_step("B1.3")
def qualify(client: NewClient, svc: Services, lead: Lead) -> Outcome | None:
    """SOP-B 1.3: rules decide; borderline cases go to staff; not qualified -> the decline path."""
    log = get_run_logger()
    result = svc.rules.qualify(client)
    verdict, reasons = result.verdict, list(result.reasons)
    if verdict is Verdict.BORDERLINE:
        wait = svc.rules.wait("qualification")
        answer = ask_staff(svc, QualificationDecision, wait, what="Qualification decision",
                           approver=svc.person(Role.SALES), client_name=client.company_name, domain=client.domain,
                           context={"Rules say": "; ".join(reasons), "Budget": f"{client.budget:,}",
                                    "Industry": client.industry.value.replace("_", " "),
                                    "Discovery call notes": "in HubSpot and the client's Drive folder"})
        if answer is None:
            verdict, reasons = Verdict.NOT_QUALIFIED, reasons + [f"no staff decision in time ({wait.on_timeout})"]
        else:
            verdict = Verdict.QUALIFIED if answer.decision == "qualify" else Verdict.NOT_QUALIFIED
            reasons.append(f"staff: {answer.reason}")

    def store_verdict() -> None:
        hubspot.update_company(svc.clients.hubspot, lead.company_id,
                               {"qualification": f"{verdict.value}: {'; '.join(reasons)}"})

    record("B1.3", "Qualification check", f"{verdict.value}: {'; '.join(reasons)}")
    log.info("qualification: %s (%s)", verdict.value, "; ".join(reasons))
    if verdict is Verdict.QUALIFIED:
        concurrently(store_verdict, lambda: hubspot.move_deal(svc.clients.hubspot, lead.deal_id, lead.pipeline_id,
                                                          lead.stage_ids["qualified"]))
        email_marketing.at_stage(svc, MarketingStage.QUALIFIED, "B1.3", str(client.email), client.contact_person)
        return None
    store_verdict()
    decline(client, svc, lead, reasons)
    return Outcome.DECLINED


@sop_step("B1.3")
def decline(client: NewClient, svc: Services, lead: Lead, reasons: list[str]) -> None:
    """The polite no (with a referral when configured), deal closed-lost, and what was made undone."""
    hub = svc.clients.hubspot
    mail = svc.renderer.render("email/decline.html.j2", client=client, referral=svc.rules.qualification.referral)
    gmail.send_email(svc.clients.gmail, str(client.email), mail, key="decline", domain=client.domain)
    hubspot.move_deal(hub, lead.deal_id, lead.pipeline_id, lead.stage_ids["lost"])
    hubspot.add_note(hub, "Declined: " + "; ".join(reasons), svc.now(), lead.owner_id, lead.ids(),
                 key=f"{client.domain}:declined")
    # Compensation: a call still in the future is cancelled; the client's folder goes to the bin.
    specialist = lead.specialist_email
    undone = ["deal closed-lost"]
    if cancel_future_meeting(svc, specialist, (client.domain, "discovery")):
        undone.append("discovery call cancelled")
    if lead.folder_ids.get("root"):
        storage.trash(svc.clients.documents, lead.folder_ids["root"])
        undone.append("folder trashed")
    hubspot.update_company(hub, lead.company_id, {"onboarding_status": "declined"})
    slack.remind_on_slack(svc.clients.slack, specialist, f"{client.company_name} was declined: {'; '.join(reasons)}",
                         key=f"{client.domain}:declined")
    record("B1.3", "Declined politely", "; ".join(undone))
    email_marketing.at_stage(svc, MarketingStage.DECLINED_WITH_REFERRAL, "B1.3", str(client.email), client.contact_person)
