"""Phase 3 — service setup and welcome (SOP-A 3; SOP-B 3)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from prefect import flow

from integrations.errors import Conflict
from onboard.approvals import KickoffOutcome
from onboard.clientid import next_client_id
from onboard.models import NewClient
from onboard.outcomes import Agreement, Lead, Setup
from onboard.plan import expand_plan
from onboard.profile import Person, Role
from onboard.runtime import Runtime
from tasks import chat, crm, documents, email, meetings, projects

from .contact import escalate, meeting_slot
from .steps import concurrently, sop_step
from .waits import ask_staff

TEAM_ROLES = (Role.ACCOUNT_MANAGER, Role.ONBOARDING_SPECIALIST, Role.CLIENT_RELATIONS_MANAGER, Role.OPERATIONS)


@flow(name="phase-3-service-setup", flow_run_name="phase 3 — {client.company_name}", validate_parameters=False)
def service_setup(client: NewClient, rt: Runtime, lead: Lead, agreement: Agreement) -> Setup:
    """Accounts and client id, project plan, channels, introductions, welcome pack and kick-off."""
    package = rt.rules.package(agreement.package_key)
    team = client_team(rt, lead)
    manager = rt.person(Role.ACCOUNT_MANAGER)
    kickoff_key = (client.domain, "kickoff")
    client_id, kickoff_at = concurrently(
        lambda: create_accounts(client, rt, lead, agreement),
        lambda: meeting_slot(rt, str(manager.email), kickoff_key, rt.rules.meetings.kickoff_minutes,
                             also_busy=(lead.specialist_email,)))
    start = service_start(client, kickoff_at, rt)
    # what does not wait on anything else goes at once; then what needs the project and the channel
    project, channel, _, letter_id, zoom = concurrently(
        lambda: plan_project(client, rt, lead, package, start, client_id),
        lambda: open_channel(client, rt, lead, team, client_id),
        lambda: introduce_team(client, rt, team, manager),
        lambda: send_welcome_pack(client, rt, lead, team, manager, client_id, start, package),
        lambda: kickoff_meeting(client, rt, manager, kickoff_at))
    concurrently(
        lambda: announce_channel(client, rt, lead, team, client_id, project, channel, start, package.weeks),
        lambda: invite_to_kickoff(client, rt, lead, team, manager, package, kickoff_key, kickoff_at, zoom, start,
                                  project, channel.name))
    record_kickoff(client, rt, lead, manager)
    hand_off(rt, lead, kickoff_at, start, package.weeks, manager)
    return Setup(client_id=client_id, asana_project_gid=project.gid, slack_channel_id=channel.id,
                 kickoff_meeting_id=zoom.id, kickoff_at=kickoff_at, service_start=start,
                 welcome_letter_id=letter_id)


@sop_step("B4.1")
def hand_off(rt: Runtime, lead: Lead, kickoff_at: datetime, start: date, weeks: int, manager: Person) -> None:
    """The engagement plan on the HubSpot company, for the follow-ups to schedule from."""
    crm.update_company(rt.clients.hubspot, lead.company_id, {
        "kickoff_date": kickoff_at.astimezone(rt.profile.tz).date().isoformat(),
        "service_start_date": start.isoformat(),
        "project_weeks": weeks,
        "engagement_cadence": "weekly",
        "onboarding_status": "onboarding",
        "account_manager_email": str(manager.email),
    })
    rt.journal.record("B4.1", "Engagement plan handed over", f"kick-off {kickoff_at.date()}, start {start}")


def client_team(rt: Runtime, lead: Lead) -> list[Person]:
    """The people the client works with: account manager, their specialist, relations, operations."""
    return [rt.person(role, lead.specialist_email if role is Role.ONBOARDING_SPECIALIST else None)
            for role in TEAM_ROLES]


def service_start(client: NewClient, kickoff_at: datetime, rt: Runtime) -> date:
    """The client's wish if it is after the kick-off, else the next working day after it."""
    day = kickoff_at.astimezone(rt.profile.tz).date()
    if client.start_date and client.start_date > day:
        return client.start_date
    day += timedelta(days=1)
    while day.strftime("%a").lower() not in rt.profile.working_hours.days:
        day += timedelta(days=1)
    return day


@sop_step("A3.1", "B3.1")
def create_accounts(client: NewClient, rt: Runtime, lead: Lead, agreement: Agreement) -> str:
    """SOP-B 3.1 / A3.1: a unique client id, the CRM profile completed (customer), billing set up."""
    hub = rt.clients.hubspot
    known = crm.read_company(hub, lead.company_id)
    client_id = known.get("client_id")
    if not client_id:
        from onboard.clientid import client_id_prefix

        taken = crm.find_client_ids(hub, client_id_prefix(client.company_name))
        client_id = next_client_id(client.company_name, taken)
    package = rt.rules.package(agreement.package_key)
    concurrently(
        lambda: crm.update_company(hub, lead.company_id, {"client_id": client_id, "lifecyclestage": "customer",
                                                          "service_package": agreement.package_key}),
        lambda: crm.update_contact(hub, lead.contact_id, {"lifecyclestage": "customer"}),
        lambda: crm.add_billing_line_item(hub, lead.deal_id, package.name, 1, agreement.price))
    rt.journal.record("A3.1", "CRM profile completed", f"client id {client_id}; lifecycle customer")
    rt.journal.record("B3.1", "Billing account created", f"{rt.rules.billing}: {package.name} {agreement.price:,}")
    return client_id


@sop_step("A3.2")
def plan_project(client: NewClient, rt: Runtime, lead: Lead, package, start: date, client_id: str):
    """SOP-A 3.2: the Asana project from templates/project_plan.yaml, tasks assigned by role."""
    asana = rt.clients.asana
    planned = expand_plan(rt.template_data("project_plan.yaml"), package, start)
    project = projects.create_project(asana, f"{client.company_name} — {package.name} ({client_id})",
                                      "Client Services", f"{package.name} for {client.company_name}. Client id {client_id}.",
                                      start, start + timedelta(weeks=package.weeks))
    assignees = {t: str(rt.person(t.role, lead.specialist_email if t.role is Role.ONBOARDING_SPECIALIST
                                  else None).email) for t in planned}
    sections, gids, done = concurrently(
        lambda: projects.create_sections(asana, project, list(dict.fromkeys(t.section for t in planned))),
        lambda: projects.user_gids(asana, assignees.values()),
        lambda: projects.task_names(asana, project))
    concurrently(*(lambda t=t: projects.create_plan_task(asana, project.gid, sections[t.section].gid, t.name,
                                                         gids[assignees[t]], t.due_on, t.notes)
                   for t in planned if t.name not in done))
    crm.update_company(rt.clients.hubspot, lead.company_id, {"asana_project_gid": project.gid})
    rt.journal.record("A3.2", "Project plan created in Asana", f"{len(planned)} tasks", project=project.permalink_url)
    return project


def crm_url(rt: Runtime, company_id: str) -> str:
    return f"https://app.hubspot.com/contacts/{rt.settings.hubspot_portal_id}/record/0-2/{company_id}"


def claim_channel(rt: Runtime, client: NewClient, client_id: str, company_id: str):
    """The channel named from the client: new, or adopted when no other client's company holds it (a
    run that crashed between creating and recording it). Held by another client of the same name, or
    archived: the client id makes the name unique."""
    slack = rt.clients.slack
    try:
        channel = chat.client_channel(slack, client.company_name)
        if channel.created or crm.company_with(rt.clients.hubspot, "slack_channel_id", channel.id) in (None, company_id):
            return channel
    except Conflict:
        pass
    return chat.client_channel(slack, client.company_name, suffix=client_id.lower())


@sop_step("A3.3")
def open_channel(client: NewClient, rt: Runtime, lead: Lead, team: list[Person], client_id: str):
    """SOP-A 3.3: the client's Slack channel, recorded on the company at once, the team invited and
    its topic and purpose set."""
    slack, hub = rt.clients.slack, rt.clients.hubspot
    known = crm.read_company(hub, lead.company_id).get("slack_channel_id")
    channel = chat.channel_by_id(slack, known) if known else claim_channel(rt, client, client_id, lead.company_id)
    crm.update_company(hub, lead.company_id, {"slack_channel_id": channel.id})  # recorded at once: a re-run finds it
    missing, _ = concurrently(
        lambda: chat.invite_team(slack, channel.id, [str(p.email) for p in team]),
        lambda: chat.describe_channel(slack, channel.id, f"{client.company_name} ({client_id})",
                                      f"Working with {client.company_name}: updates, questions and decisions"))
    rt.journal.record("A3.3", "Slack channel opened", f"#{channel.name}"
                      + (f"; not on Slack: {', '.join(missing)}" if missing else ""))
    return channel


@sop_step("A3.3")
def announce_channel(client: NewClient, rt: Runtime, lead: Lead, team: list[Person], client_id: str, project,
                     channel, start: date, weeks: int) -> None:
    """SOP-A 3.3: the welcome post with the links, and the recurring weekly check-in invite."""
    manager, specialist = team[0], team[1]
    text = rt.renderer.render("slack/welcome_post.md.j2", client=client, client_id=client_id, account_manager=manager,
                              specialist=specialist, crm_url=crm_url(rt, lead.company_id),
                              project_url=project.permalink_url or project.gid,
                              folder_url=f"https://drive.google.com/drive/folders/{lead.folder_ids['root']}",
                              start_date=start.isoformat()).body
    first = datetime.combine(start + timedelta(days=7), rt.profile.working_hours.start, rt.profile.tz)
    concurrently(
        lambda: chat.post(rt.clients.slack, channel.id, text, key=f"{client.domain}:welcome"),
        lambda: meetings.put_calendar_event(rt.clients.calendar, str(manager.email), (client.domain, "weekly-check-in"),
                                            f"Weekly check-in — {client.company_name}", f"Slack: #{channel.name}",
                                            first, 30, rt.profile.timezone,
                                            [str(client.email)] + [str(p.email) for p in team[:2]],
                                            recurrence=[f"RRULE:FREQ=WEEKLY;COUNT={weeks}"]))
    rt.journal.record("A3.3", "Communication channels set up", f"#{channel.name}; weekly check-ins from {first.date()}")


@sop_step("B3.2")
def introduce_team(client: NewClient, rt: Runtime, team: list[Person], manager: Person) -> None:
    """SOP-B 3.2: the account manager introduces the team."""
    mail = rt.renderer.render("email/team_intro.html.j2", client=client, team=team, account_manager=manager)
    email.send_email(rt.clients.gmail, str(client.email), mail, key="team-intro", domain=client.domain,
                     cc=[str(p.email) for p in team], sender=str(manager.email))
    rt.journal.record("B3.2", "Team introduced", ", ".join(p.name for p in team))


@sop_step("B3.3")
def send_welcome_pack(client: NewClient, rt: Runtime, lead: Lead, team: list[Person], manager: Person,
                      client_id: str, start: date, package) -> str:
    """SOP-B 3.3: welcome letter, key contacts, portal access (the shared folder) and start date."""
    drive = rt.clients.drive
    portal = f"https://drive.google.com/drive/folders/{lead.folder_ids['root']}"
    letter = rt.renderer.render("docs/welcome_letter.html.j2", client=client, package=package, client_id=client_id,
                                start_date=start.isoformat(), account_manager=manager, team=team, portal_url=portal,
                                date=rt.now().date().isoformat())
    file = documents.store_document(drive, lead.folder_ids["root"], f"Welcome letter — {client.company_name}",
                                    letter.body, client.domain, "welcome-letter")
    documents.share_with(drive, lead.folder_ids["root"], str(client.email), role="writer")
    mail = rt.renderer.render("email/welcome_pack.html.j2", client=client, letter_url=file.web_view_link,
                              portal_url=portal, client_id=client_id, start_date=start.isoformat(), team=team,
                              account_manager=manager)
    email.send_email(rt.clients.gmail, str(client.email), mail, key="welcome-pack", domain=client.domain,
                     sender=str(manager.email))
    rt.journal.record("B3.3", "Welcome pack sent", f"service starts {start}", letter=file.web_view_link, portal=portal)
    return file.id


@sop_step("A3.4")
def kickoff_meeting(client: NewClient, rt: Runtime, manager: Person, when: datetime):
    """SOP-A 3.4: the kick-off's Zoom meeting, hosted by the account manager."""
    topic = f"Kick-off — {client.company_name} × {rt.profile.company.name}"
    return meetings.schedule_zoom(rt.clients.zoom, str(manager.email), topic, when, rt.rules.meetings.kickoff_minutes,
                                  rt.profile.timezone, "Objectives, timeline, communication, next steps")


@sop_step("A3.4", "B3.4")
def invite_to_kickoff(client: NewClient, rt: Runtime, lead: Lead, team: list[Person], manager: Person, package,
                      key: tuple[str, ...], when: datetime, zoom, start: date, project, channel_name: str) -> None:
    """SOP-A 3.4 / B3.4: the agenda in Drive, then the Calendar invite and the email that point to it."""
    minutes = rt.rules.meetings.kickoff_minutes
    local = when.astimezone(rt.profile.tz).strftime("%A %d %B %Y, %H:%M %Z")
    agenda = rt.renderer.render("docs/kickoff_agenda.html.j2", client=client, team=team, package=package, when=local,
                                join_url=zoom.join_url, start_date=start.isoformat(),
                                project_url=project.permalink_url or project.gid,
                                communication=client.preferred_communication.value.replace("_", " "),
                                channel=channel_name)
    agenda_file = documents.store_document(rt.clients.drive, lead.folder_ids["Meeting notes"],
                                           f"Kick-off agenda — {client.company_name}", agenda.body, client.domain,
                                           "kickoff-agenda")
    mail = rt.renderer.render("email/kickoff_invite.html.j2", client=client, when=local, join_url=zoom.join_url,
                              agenda_url=agenda_file.web_view_link, account_manager=manager)
    concurrently(
        lambda: meetings.put_calendar_event(rt.clients.calendar, str(manager.email), key, zoom.topic,
                                            f"Agenda: {agenda_file.web_view_link}\nJoin Zoom: {zoom.join_url}", when,
                                            minutes, rt.profile.timezone,
                                            [str(client.email)] + [str(p.email) for p in team],
                                            location=zoom.join_url),
        lambda: email.send_email(rt.clients.gmail, str(client.email), mail, key="kickoff-invite",
                                 domain=client.domain, sender=str(manager.email)))
    rt.journal.record("A3.4", "Kick-off scheduled", local, zoom=zoom.join_url, agenda=agenda_file.web_view_link)


@sop_step("B3.4")
def record_kickoff(client: NewClient, rt: Runtime, lead: Lead, manager: Person) -> None:
    """SOP-B 3.4: after the kick-off, the confirmed objectives, timeline and next steps -> HubSpot + Drive."""
    wait = rt.rules.wait("kickoff_outcome")
    outcome = ask_staff(rt, KickoffOutcome, wait, what="Kick-off outcome", approver=manager,
                        client_name=client.company_name, domain=client.domain)
    if outcome is None:
        escalate(client, rt, lead, "the kick-off outcome was not recorded", "follow up in the first check-in")
        rt.journal.record("B3.4", "Kick-off outcome", "not recorded in time; escalated", status="timed_out")
        return
    doc = rt.renderer.render("docs/kickoff_outcome.html.j2", client=client, outcome=outcome,
                             date=rt.now().date().isoformat())
    _, file = concurrently(
        lambda: crm.add_note(rt.clients.hubspot, f"Kick-off confirmed.<br>Objectives: {outcome.objectives}<br>"
                             f"Timeline: {outcome.timeline}<br>Next steps: {outcome.next_steps}", rt.now(),
                             lead.owner_id, lead.ids(), key=f"{client.domain}:kickoff-outcome"),
        lambda: documents.store_document(rt.clients.drive, lead.folder_ids["Meeting notes"],
                                         f"Kick-off outcome — {client.company_name}", doc.body, client.domain,
                                         "kickoff-outcome"))
    rt.journal.record("B3.4", "Kick-off outcome recorded", "HubSpot note + Drive doc", doc=file.web_view_link)
