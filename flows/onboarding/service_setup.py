"""Phase 3 — service setup and welcome (SOP-A 3; SOP-B 3)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from prefect import flow

from flows import email_marketing
from flows.engagement.invoices import draft_deposit
from flows.journal import record
from flows.onboarding.meetings import meeting_slot
from flows.onboarding.phase import phase_of
from flows.people.approvals import KickoffOutcome
from flows.people.waits import ask_staff, escalate
from flows.steps import concurrently, sop_step
from integrations.errors import Conflict
from services import Services
from sop.client import NewClient
from sop.client_ids import client_id_prefix, next_client_id
from sop.outcomes import Agreement, Lead, Setup
from sop.plan import expand_plan
from sop.profile import MarketingStage, Person, Role
from sop.scheduling import next_working_day
from tasks import asana, calendar, gmail, hubspot, slack, storage, zoom

TEAM_ROLES = (Role.ACCOUNT_MANAGER, Role.ONBOARDING_SPECIALIST, Role.CLIENT_RELATIONS_MANAGER, Role.OPERATIONS)


@flow(name="phase-3-service-setup", flow_run_name="phase 3 — {client.company_name}")
def service_setup(client: NewClient, lead: Lead, agreement: Agreement) -> Setup:
    """Accounts and client id, project plan, channels, introductions, welcome pack and kick-off."""
    with phase_of(client, "3 — service setup") as svc:
        return set_up(client, svc, lead, agreement)


def set_up(client: NewClient, svc: Services, lead: Lead, agreement: Agreement) -> Setup:
    package = svc.rules.package(agreement.package_key)
    team = client_team(svc, lead)
    manager = svc.person(Role.ACCOUNT_MANAGER)
    kickoff_key = (client.domain, "kickoff")
    client_id, kickoff_at = concurrently(
        lambda: create_accounts(client, svc, lead, agreement),
        lambda: meeting_slot(svc, str(manager.email), kickoff_key, svc.rules.meetings.kickoff_minutes,
                             also_busy=(lead.specialist_email,)))
    start = service_start(client, kickoff_at, svc)
    # what does not wait on anything else goes at once; then what needs the project and the channel
    project, channel, _, letter_id, meeting = concurrently(
        lambda: plan_project(client, svc, lead, package, start, client_id, agreement.deliverables),
        lambda: open_channel(client, svc, lead, team, client_id),
        lambda: introduce_team(client, svc, team, manager),
        lambda: send_welcome_pack(client, svc, lead, team, manager, client_id, start, package),
        lambda: kickoff_meeting(client, svc, manager, kickoff_at))
    concurrently(
        lambda: announce_channel(client, svc, lead, team, client_id, project, channel, start, package.weeks),
        lambda: invite_to_kickoff(client, svc, lead, team, manager, package, kickoff_key, kickoff_at, meeting, start,
                                  project, channel.name))
    record_kickoff(client, svc, lead, manager, kickoff_at)
    hand_off(svc, lead, kickoff_at, start, package.weeks, manager)
    email_marketing.at_stage(svc, MarketingStage.ONBOARDED, "B4.1", str(client.email), client.contact_person)
    return Setup(client_id=client_id, asana_project_gid=project.gid, slack_channel_id=channel.id,
                 kickoff_meeting_id=meeting.id, kickoff_at=kickoff_at, service_start=start,
                 welcome_letter_id=letter_id)


@sop_step("B4.1")
def hand_off(svc: Services, lead: Lead, kickoff_at: datetime, start: date, weeks: int, manager: Person) -> None:
    """The engagement plan on the HubSpot company, for the follow-ups to schedule from."""
    hubspot.update_company(svc.clients.hubspot, lead.company_id, {
        "kickoff_date": kickoff_at.astimezone(svc.profile.tz).date().isoformat(),
        "service_start_date": start.isoformat(),
        "project_weeks": weeks,
        "engagement_cadence": "weekly",
        "onboarding_status": "onboarding",
        "account_manager_email": str(manager.email),
    })
    record("B4.1", "Engagement plan handed over", f"kick-off {kickoff_at.date()}, start {start}")


def client_team(svc: Services, lead: Lead) -> list[Person]:
    """The people the client works with: account manager, their specialist, relations, operations."""
    return [svc.person(role, lead.specialist_email if role is Role.ONBOARDING_SPECIALIST else None)
            for role in TEAM_ROLES]


def service_start(client: NewClient, kickoff_at: datetime, svc: Services) -> date:
    """The client's wish if it is after the kick-off, else the next working day after it."""
    day = kickoff_at.astimezone(svc.profile.tz).date()
    if client.start_date and client.start_date > day:
        return client.start_date
    return next_working_day(day, svc.profile.working_hours)


@sop_step("A3.1", "B3.1")
def create_accounts(client: NewClient, svc: Services, lead: Lead, agreement: Agreement) -> str:
    """SOP-B 3.1 / A3.1: a unique client id, the CRM profile completed (customer), billing set up: the package as
    the deal's line item, then the schedule's deposit invoice drafted for Finance to approve (its own run)."""
    hub = svc.clients.hubspot
    known = hubspot.read_company(hub, lead.company_id)
    client_id = known.get("client_id")
    if not client_id:
        taken = hubspot.find_client_ids(hub, client_id_prefix(client.company_name))
        client_id = next_client_id(client.company_name, taken)
    package = svc.rules.package(agreement.package_key)
    concurrently(
        lambda: hubspot.update_company(hub, lead.company_id, {"client_id": client_id, "lifecyclestage": "customer",
                                                          "service_package": agreement.package_key}),
        lambda: hubspot.update_contact(hub, lead.contact_id, {"lifecyclestage": "customer"}),
        lambda: hubspot.add_billing_line_item(hub, lead.deal_id, package.name, 1, agreement.price))
    record("A3.1", "CRM profile completed", f"client id {client_id}; lifecycle customer")
    invoice = draft_deposit(svc, client.domain, lead.ids(), package)
    record("B3.1", "Billing account created", f"{svc.rules.billing}: {package.name} {agreement.price:,}"
           + (f"; deposit invoice drafted ({svc.rules.currency} {float(invoice.properties.get('hs_amount_billed') or 0):,.2f}"
              f", {invoice.properties.get('hs_invoice_status')}), for Finance to approve" if invoice else ""))
    return client_id


@sop_step("A3.2")
def plan_project(client: NewClient, svc: Services, lead: Lead, package, start: date, client_id: str,
                 deliverables: list[str] | None = None):
    """SOP-A 3.2: the Asana project from templates/project_plan.yaml, tasks assigned by role; one task per
    deliverable as negotiated (SOP-B 2.3)."""
    projects = svc.clients.asana
    planned = expand_plan(svc.template_data("project_plan.yaml"), package, start, deliverables)
    project = asana.create_project(projects, f"{client.company_name} — {package.name} ({client_id})",
                                   svc.profile.asana_team, f"{package.name} for {client.company_name}. Client id {client_id}.",
                                   start, start + timedelta(weeks=package.weeks))
    assignees = {t: str(svc.person(t.role, lead.specialist_email if t.role is Role.ONBOARDING_SPECIALIST
                                  else None).email) for t in planned}
    sections, gids = concurrently(
        lambda: asana.create_sections(projects, project, list(dict.fromkeys(t.section for t in planned))),
        lambda: asana.user_gids(projects, assignees.values()))
    asana.create_plan_tasks(projects, project.gid, [
        asana.PlanTask(sections[t.section].gid, t.name, gids[assignees[t]], t.due_on, t.notes) for t in planned])
    hubspot.update_company(svc.clients.hubspot, lead.company_id, {"asana_project_gid": project.gid})
    record("A3.2", "Project plan created in Asana", f"{len(planned)} tasks", project=project.permalink_url)
    return project


def crm_url(svc: Services, company_id: str) -> str:
    return svc.clients.hubspot.account().record_url("0-2", company_id)


def claim_channel(svc: Services, client: NewClient, client_id: str, company_id: str):
    """The channel named from the client: new, or adopted when no other client's company holds it (a
    run that crashed between creating and recording it). Held by another client of the same name, or
    archived: the client id makes the name unique."""
    chat = svc.clients.slack
    try:
        channel = slack.client_channel(chat, client.company_name)
        if channel.created or hubspot.company_with(svc.clients.hubspot, "slack_channel_id", channel.id) in (None,
                                                                                                         company_id):
            return channel
    except Conflict:
        pass
    return slack.client_channel(chat, client.company_name, suffix=client_id.lower())


@sop_step("A3.3")
def open_channel(client: NewClient, svc: Services, lead: Lead, team: list[Person], client_id: str):
    """SOP-A 3.3: the client's Slack channel, recorded on the company at once, the team invited and
    its topic and purpose set."""
    chat, hub = svc.clients.slack, svc.clients.hubspot
    known = hubspot.read_company(hub, lead.company_id).get("slack_channel_id")
    channel = slack.channel_by_id(chat, known) if known else claim_channel(svc, client, client_id, lead.company_id)
    hubspot.update_company(hub, lead.company_id, {"slack_channel_id": channel.id})  # recorded at once: a re-run finds it
    missing, _ = concurrently(
        lambda: slack.invite_team(chat, channel.id, [str(p.email) for p in team]),
        lambda: slack.describe_channel(chat, channel.id, f"{client.company_name} ({client_id})",
                                       f"Working with {client.company_name}: updates, questions and decisions"))
    record("A3.3", "Slack channel opened", f"#{channel.name}" + (f"; not on Slack: {', '.join(missing)}" if missing else ""))
    return channel


@sop_step("A3.3")
def announce_channel(client: NewClient, svc: Services, lead: Lead, team: list[Person], client_id: str, project,
                     channel, start: date, weeks: int) -> None:
    """SOP-A 3.3: the welcome post with the links. The check-ins are one series the engagement books,
    each a week ahead at a slot free for the team (flows/engagement/check_in.py)."""
    manager, specialist = team[0], team[1]
    text = svc.renderer.render("slack/welcome_post.md.j2", client=client, client_id=client_id, account_manager=manager,
                              specialist=specialist, crm_url=crm_url(svc, lead.company_id),
                              project_url=project.permalink_url or project.gid,
                              folder_url=storage.folder_url(svc.clients.documents, lead.folder_ids["root"]),
                              start_date=start.isoformat()).body
    slack.post(svc.clients.slack, channel.id, text, key=f"{client.domain}:welcome")
    c = svc.engagement_rules.check_ins
    record("A3.3", "Communication channels set up",
           f"#{channel.name}; {c.cadence} check-ins on {c.weekday} {c.local_time:%H:%M} from the kick-off, "
           f"each booked {c.book_ahead_days} days ahead")


@sop_step("B3.2")
def introduce_team(client: NewClient, svc: Services, team: list[Person], manager: Person) -> None:
    """SOP-B 3.2: the account manager introduces the team."""
    mail = svc.renderer.render("email/team_intro.html.j2", client=client, team=team, account_manager=manager)
    gmail.send_email(svc.clients.gmail, str(client.email), mail, key="team-intro", domain=client.domain,
                     cc=[str(p.email) for p in team], sender=str(manager.email))
    record("B3.2", "Team introduced", ", ".join(p.name for p in team))


@sop_step("B3.3")
def send_welcome_pack(client: NewClient, svc: Services, lead: Lead, team: list[Person], manager: Person,
                      client_id: str, start: date, package) -> str:
    """SOP-B 3.3: welcome letter, key contacts, portal access (the shared folder) and start date."""
    docs = svc.clients.documents
    portal = storage.folder_url(docs, lead.folder_ids["root"])
    if storage.by_link(docs):  # Dropbox: the view-only link and the file request, made before the letter
        opened = storage.open_portal(docs, lead.folder_ids, str(client.email), client.company_name)
        portal, uploads = opened.url, {"upload_url": opened.upload_url}
    else:
        uploads = {}
    letter = svc.renderer.render("docs/welcome_letter.html.j2", client=client, package=package, client_id=client_id,
                                start_date=start.isoformat(), account_manager=manager, team=team, portal_url=portal,
                                date=svc.now().date().isoformat(), **uploads)
    file = storage.store_document(docs, lead.folder_ids["root"], f"Welcome letter — {client.company_name}",
                                letter.body, client.domain, "welcome-letter")
    if not uploads:  # Drive: the folder shared with the client's account as a writer
        storage.open_portal(docs, lead.folder_ids, str(client.email), client.company_name)
    mail = svc.renderer.render("email/welcome_pack.html.j2", client=client, letter_url=file.web_view_link,
                              portal_url=portal, client_id=client_id, start_date=start.isoformat(), team=team,
                              account_manager=manager, **uploads)
    gmail.send_email(svc.clients.gmail, str(client.email), mail, key="welcome-pack", domain=client.domain,
                     sender=str(manager.email))
    record("B3.3", "Welcome pack sent", f"service starts {start}", letter=file.web_view_link, portal=portal)
    return file.id


@sop_step("A3.4")
def kickoff_meeting(client: NewClient, svc: Services, manager: Person, when: datetime):
    """SOP-A 3.4: the kick-off's Zoom meeting, hosted by the account manager."""
    topic = f"Kick-off — {client.company_name} × {svc.profile.company.name}"
    return zoom.schedule_meeting(svc.clients.zoom, str(manager.email), topic, when, svc.rules.meetings.kickoff_minutes,
                                  svc.profile.timezone, "Objectives, timeline, communication, next steps")


@sop_step("A3.4", "B3.4")
def invite_to_kickoff(client: NewClient, svc: Services, lead: Lead, team: list[Person], manager: Person, package,
                      key: tuple[str, ...], when: datetime, meeting, start: date, project, channel_name: str) -> None:
    """SOP-A 3.4 / B3.4: the agenda in Drive, then the Calendar invite and the email that point to it."""
    minutes = svc.rules.meetings.kickoff_minutes
    local = when.astimezone(svc.profile.tz).strftime("%A %d %B %Y, %H:%M %Z")
    agenda = svc.renderer.render("docs/kickoff_agenda.html.j2", client=client, team=team, package=package, when=local,
                                join_url=meeting.join_url, start_date=start.isoformat(),
                                project_url=project.permalink_url or project.gid,
                                communication=client.preferred_communication.value.replace("_", " "),
                                channel=channel_name)
    agenda_file = storage.store_document(svc.clients.documents, lead.folder_ids["Meeting notes"],
                                           f"Kick-off agenda — {client.company_name}", agenda.body, client.domain,
                                           "kickoff-agenda")
    mail = svc.renderer.render("email/kickoff_invite.html.j2", client=client, when=local, join_url=meeting.join_url,
                              agenda_url=agenda_file.web_view_link, account_manager=manager)
    concurrently(
        lambda: calendar.put_event(svc.clients.calendar, str(manager.email), key, meeting.topic,
                                            f"Agenda: {agenda_file.web_view_link}\nJoin Zoom: {meeting.join_url}", when,
                                            minutes, svc.profile.timezone,
                                            [str(client.email)] + [str(p.email) for p in team],
                                            location=meeting.join_url),
        lambda: gmail.send_email(svc.clients.gmail, str(client.email), mail, key="kickoff-invite",
                                 domain=client.domain, sender=str(manager.email)))
    record("A3.4", "Kick-off scheduled", local, zoom=meeting.join_url, agenda=agenda_file.web_view_link)


@sop_step("B3.4")
def record_kickoff(client: NewClient, svc: Services, lead: Lead, manager: Person, kickoff_at: datetime) -> None:
    """SOP-B 3.4: after the kick-off, the confirmed objectives, timeline and next steps -> HubSpot + Drive."""
    wait = svc.rules.wait("kickoff_outcome")
    ends = kickoff_at + timedelta(minutes=svc.rules.meetings.kickoff_minutes)
    outcome = ask_staff(svc, KickoffOutcome, wait, what="Kick-off outcome", approver=manager,
                        client_name=client.company_name, domain=client.domain, not_before=ends,
                        context={"Client contact": f"{client.contact_person} <{client.email}>",
                                 "Client folder": storage.folder_url(svc.clients.documents,
                                                                   lead.folder_ids.get("root", ""))})
    if outcome is None:
        escalate(svc, client.company_name, client.domain, "the kick-off outcome was not recorded", "follow up in the first check-in")
        record("B3.4", "Kick-off outcome", "not recorded in time; escalated", status="timed_out")
        return
    doc = svc.renderer.render("docs/kickoff_outcome.html.j2", client=client, outcome=outcome,
                             date=svc.now().date().isoformat())
    _, file = concurrently(
        lambda: hubspot.add_note(svc.clients.hubspot, f"Kick-off confirmed.<br>Objectives: {outcome.objectives}<br>"
                             f"Timeline: {outcome.timeline}<br>Next steps: {outcome.next_steps}", svc.now(),
                             lead.owner_id, lead.ids(), key=f"{client.domain}:kickoff-outcome"),
        lambda: storage.store_document(svc.clients.documents, lead.folder_ids["Meeting notes"],
                                         f"Kick-off outcome — {client.company_name}", doc.body, client.domain,
                                         "kickoff-outcome"))
    record("B3.4", "Kick-off outcome recorded", "HubSpot note + Drive doc", doc=file.web_view_link)
